"""Idempotency-Key on the operations that make something: a retry of a request that was done gets
the same answer (201, byte for byte, marked replayed) and makes nothing; 409 while the first is
still being processed; 422 for the key with another request; keys are the account's own."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from pytest_django import Settings

import registry.services
import workflow.services.deposits
from api.testing import bearer
from audit.models import AuditEvent
from core.clock import now
from core.testing import clock_at
from documents.samples import pdf_bytes
from exchange.models import Envelope
from parapheur.models import Folder, FolderEvent
from parapheur.testing import document, person
from registry.idempotency import LEASE, idempotency_keys_forget
from registry.models import Correspondence, Direction, IdempotencyKey, RegisterCounter
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_administration, make_staff
from workflow.testing import make_procedure

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

REPLAYED = "Idempotent-Replayed"
PDF = pdf_bytes(text="retry")


def post_deposit(
    api: Client,
    key: str | None = "k-1",
    *,
    recipient: str = "COMMUNE-TEST",
    subject: str = "طلب شهادة إدارية",
    body: str = "أطلب شهادة",
    pdf: bytes = PDF,
    **fields: str,
) -> Response:
    data: dict[str, object] = {"recipient": recipient, "subject": subject, "body": body, **fields}
    data["attachments"] = [SimpleUploadedFile("lettre.pdf", pdf)]
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post("/api/v1/deposits", data, headers=headers)


def stored_files() -> set[str]:
    root = Path(settings.FILES_DIR)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def registered() -> list[str]:
    return list(Correspondence.objects.order_by("pk").values_list("number", flat=True))


def test_a_retry_of_a_registered_deposit_gets_the_same_201_and_body_and_makes_nothing(
    commune: Administration, citizen: User
) -> None:
    api = bearer(citizen)
    first = post_deposit(api)
    assert first.status_code == 201, first.content
    assert REPLAYED not in first
    files, events, mails = stored_files(), AuditEvent.objects.count(), len(mail.outbox)
    assert mails == 1  # the receipt, e-mailed to the depositor
    again = post_deposit(api)
    assert again.status_code == 201
    assert again[REPLAYED] == "true"
    assert again.content == first.content and again["Content-Type"] == first["Content-Type"]
    assert first.json()["registration_number"].endswith("-000001")
    assert registered() == [first.json()["registration_number"]]
    assert RegisterCounter.objects.get(direction=Direction.INCOMING).last_number == 1  # no number consumed
    assert stored_files() == files  # no file stored, no receipt sealed again
    assert AuditEvent.objects.count() == events  # no second audit event of the deposit
    assert len(mail.outbox) == mails  # no receipt e-mailed again
    assert post_deposit(api, key=None).json()["registration_number"].endswith("-000002")


def test_a_replay_is_the_answer_as_given_even_after_the_deposit_changed(
    commune: Administration, citizen: User, clerk: User
) -> None:
    make_procedure(commune)
    api = bearer(citizen)
    first = post_deposit(api, procedure="URB-PC")
    assert first.json()["status"] == "registered"
    case_id = first.json()["id"]
    moved = bearer(clerk).post(f"/api/v1/cases/{case_id}/assign", {"service": "SG"}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    assert api.get(f"/api/v1/deposits/{case_id}").json()["status"] == "assigned"
    again = post_deposit(api, procedure="URB-PC")
    assert (again.status_code, again[REPLAYED]) == (201, "true")
    assert again.content == first.content  # as it was answered, not as it is now
    assert json.loads(again.content)["status"] == "registered"


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "Autre chose"},
        {"body": "نص آخر"},
        {"recipient": "PROVINCE-AUTRE"},
        {"pdf": pdf_bytes(pages=2)},
    ],
    ids=["subject", "body", "recipient", "file"],
)
def test_the_key_with_another_request_is_refused_422_and_registers_nothing(
    commune: Administration, elsewhere: Administration, citizen: User, change: dict[str, Any]
) -> None:
    api = bearer(citizen)
    first = post_deposit(api)
    different = post_deposit(api, **change)
    assert different.status_code == 422
    assert different.json()["error"]["code"] == "idempotency_key_reused"
    assert REPLAYED not in different
    assert registered() == [first.json()["registration_number"]]
    assert post_deposit(api).content == first.content  # the key still answers its own request


def test_a_key_is_the_accounts_own_another_accounts_same_key_is_another_key(
    commune: Administration, citizen: User, outsider_citizen: User
) -> None:
    mine, theirs = bearer(citizen), bearer(outsider_citizen)
    first = post_deposit(mine)
    same_request = post_deposit(theirs)  # same key, same fields, another account
    assert same_request.status_code == 201 and REPLAYED not in same_request
    assert same_request.json()["registration_number"] != first.json()["registration_number"]
    assert first.json()["registration_number"] not in same_request.content.decode()
    other_request = post_deposit(theirs, key="k-2", subject="Demande d'un autre")
    assert post_deposit(mine, key="k-2", subject="طلب ثان").status_code == 201  # not 422: not their key
    assert other_request.status_code == 201
    assert post_deposit(mine).content == first.content
    assert post_deposit(theirs).content == same_request.content
    assert len(registered()) == 4


def test_a_refused_request_keeps_nothing_under_its_key(commune: Administration, citizen: User) -> None:
    api = bearer(citizen)
    refused = post_deposit(api, subject="")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "subject_required"
    assert not IdempotencyKey.objects.exists()
    corrected = post_deposit(api)  # the same key, the request put right: done now
    assert corrected.status_code == 201 and REPLAYED not in corrected
    assert corrected.json()["registration_number"].endswith("-000001")


@pytest.mark.parametrize("key", ["x" * 101, "clé", "two\tparts", " padded", ""])
def test_a_malformed_key_is_refused_and_registers_nothing(commune: Administration, citizen: User, key: str) -> None:
    response = post_deposit(bearer(citizen), key=key)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == "Idempotency-Key"
    assert not Correspondence.objects.exists()


def test_a_key_is_remembered_for_24_hours_then_forgotten(commune: Administration, citizen: User) -> None:
    api = bearer(citizen)
    start = now()
    first = post_deposit(api)
    with clock_at(start + timedelta(hours=23, minutes=59)):
        assert post_deposit(api).content == first.content
    with clock_at(start + timedelta(hours=24, minutes=1)):
        later = post_deposit(bearer(citizen))  # a new token too: the first lasted 24 hours
    assert later.status_code == 201 and REPLAYED not in later
    assert later.json()["registration_number"].endswith("-000002")


def test_the_worker_forgets_keys_older_than_24_hours(commune: Administration, citizen: User) -> None:
    api = bearer(citizen)
    start = now()
    post_deposit(api, key="old")
    with clock_at(start + timedelta(hours=12)):
        post_deposit(api, key="recent", subject="طلب ثان")
    with clock_at(start + timedelta(hours=24, seconds=1)):
        assert idempotency_keys_forget() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]


# -- the other operations that take the header --------------------------------------------------


def send_letter(api: Client, code: str, key: str = "env-1", subject: str = "Demande d'avis") -> Response:
    return api.post(
        f"/api/v1/administrations/{code}/exchanges",
        {
            "recipient": "PROVINCE-TEST",
            "subject": subject,
            "documents": [SimpleUploadedFile("lettre.pdf", PDF, content_type="application/pdf")],
        },
        headers={"Idempotency-Key": key},
    )


def test_a_letter_to_another_administration_retried_is_sent_once(
    commune: Administration, clerk: User, elsewhere: Administration
) -> None:
    make_administration("PROVINCE-TEST", name_fr="Province de Test")
    api = bearer(clerk)
    first = send_letter(api, commune.code)
    assert first.status_code == 201, first.content
    again = send_letter(api, commune.code)
    assert (again.status_code, again[REPLAYED], again.content) == (201, "true", first.content)
    assert Envelope.objects.count() == 1
    assert registered() == [first.json()["outgoing_number"]]
    assert send_letter(api, commune.code, subject="Autre").status_code == 422
    # A clerk of another administration with the same key sends their own letter.
    theirs = send_letter(bearer(make_staff(elsewhere, Membership.Role.CLERK, "clerk@autre.ma")), elsewhere.code)
    assert theirs.status_code == 201 and REPLAYED not in theirs
    assert Envelope.objects.count() == 2


def test_a_folder_retried_is_started_once(commune: Administration) -> None:
    make_staff(commune, Membership.Role.HEAD, "chief@commune.ma")
    api = bearer(person(commune, Membership.Role.AGENT, "writer@commune.ma"))
    pdf = document()

    def create(title: str = "Décision n° 7") -> Response:
        return api.post(
            f"/api/v1/administrations/{commune.code}/folders",
            {
                "title": title,
                "steps": json.dumps([{"kind": "visa", "people": ["chief@commune.ma"]}]),
                "document": SimpleUploadedFile("decision.pdf", pdf, content_type="application/pdf"),
            },
            headers={"Idempotency-Key": "folder-1"},
        )

    first = create()
    assert first.status_code == 201, first.content
    events = FolderEvent.objects.count()
    again = create()
    assert (again.status_code, again[REPLAYED], again.content) == (201, "true", first.content)
    assert Folder.objects.count() == 1 and FolderEvent.objects.count() == events
    assert create("Décision n° 8").status_code == 422


# -- concurrency: real threads, each with its own database connection ---------------------------


def _client(token: str) -> Client:
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = token
    return client


class Paused:
    """Holds the first request at one point of its processing until released: the function there
    still runs, only later (the other requests run meanwhile, in threads of their own)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        self.reached, self.release = threading.Event(), threading.Event()
        self.thread: threading.Thread | None = None
        real = getattr(owner, name)

        def held(*args: object, **kwargs: object) -> object:
            if threading.current_thread() is self.thread:
                self.reached.set()
                self.release.wait(60)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, held)

    def start(self, request: Callable[[], Response]) -> dict[str, Response]:
        result: dict[str, Response] = {}

        def run() -> None:
            try:
                result["response"] = request()
            finally:
                connection.close()

        self.thread = thread = threading.Thread(target=run)
        thread.start()
        assert self.reached.wait(60), "the first request never got there"
        return result

    def finish(self) -> None:
        self.release.set()
        assert self.thread is not None, "started"
        self.thread.join(60)


PAUSES = {
    "before its registration commits": (registry.services, "store_checked"),
    "after it commits, before it answers": (workflow.services.deposits, "receipt_issue_registered"),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", list(PAUSES))
def test_a_retry_while_the_first_is_processed_gets_409_then_the_first_answer(
    commune: Administration, citizen: User, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    token = bearer(citizen).defaults["HTTP_AUTHORIZATION"]
    pause = Paused(monkeypatch, *PAUSES[where])
    first = pause.start(lambda: post_deposit(_client(token)))
    retry = post_deposit(_client(token))
    pause.finish()
    assert retry.status_code == 409, retry.content
    assert retry.json()["error"]["code"] == "idempotency_key_in_progress"
    assert retry["Retry-After"] == "1" and REPLAYED not in retry
    assert first["response"].status_code == 201, first["response"].content
    again = post_deposit(_client(token))
    assert (again.status_code, again[REPLAYED], again.content) == (201, "true", first["response"].content)
    assert registered() == [first["response"].json()["registration_number"]]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_one_key_register_once(
    commune: Administration, citizen: User, settings: Settings
) -> None:
    settings.RATE_DEPOSIT = (100, 3600)
    token = bearer(citizen).defaults["HTTP_AUTHORIZATION"]
    clients = 6
    start = threading.Barrier(clients)
    responses: list[Response] = []

    def client() -> None:
        try:
            start.wait()
            responses.append(post_deposit(_client(token)))
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(responses) == clients
    originals = [r for r in responses if r.status_code == 201 and REPLAYED not in r]
    assert len(originals) == 1, [(r.status_code, r.content[:80]) for r in responses]
    for response in responses:
        if response is originals[0]:
            continue
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "idempotency_key_in_progress"
        else:
            assert (response.status_code, response[REPLAYED], response.content) == (201, "true", originals[0].content)
    assert registered() == [originals[0].json()["registration_number"]]
    assert RegisterCounter.objects.get(direction=Direction.INCOMING).last_number == 1


# -- an attempt that stopped: its process was killed or hangs -------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_retry_after_an_attempt_stalled_before_registering_takes_the_key_over(
    commune: Administration, citizen: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = bearer(citizen).defaults["HTTP_AUTHORIZATION"]
    pause = Paused(monkeypatch, registry.services, "store_checked")
    stalled = pause.start(lambda: post_deposit(_client(token)))
    with clock_at(now() + LEASE + timedelta(seconds=1)):
        retry = post_deposit(_client(token))
        assert retry.status_code == 201 and REPLAYED not in retry
        pause.finish()  # the stalled attempt wakes up: its claim was taken over, it registers nothing
    assert stalled["response"].status_code == 409
    assert stalled["response"].json()["error"]["code"] == "idempotency_key_in_progress"
    assert registered() == [retry.json()["registration_number"]]
    assert RegisterCounter.objects.get(direction=Direction.INCOMING).last_number == 1  # no number lost
    assert post_deposit(_client(token)).content == retry.content


@pytest.mark.django_db(transaction=True)
def test_a_retry_after_an_attempt_stalled_after_registering_is_answered_from_its_deposit(
    commune: Administration, citizen: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = bearer(citizen).defaults["HTTP_AUTHORIZATION"]
    pause = Paused(monkeypatch, workflow.services.deposits, "receipt_issue_registered")
    stalled = pause.start(lambda: post_deposit(_client(token)))
    early = post_deposit(_client(token))
    assert early.status_code == 409  # within the lease: it may still answer
    with clock_at(now() + LEASE + timedelta(seconds=1)):
        retry = post_deposit(_client(token))
    assert (retry.status_code, retry[REPLAYED]) == (201, "true")
    body = retry.json()
    (number,) = registered()
    assert (body["registration_number"], body["receipt_status"]) == (number, "pending")
    pause.finish()
    assert stalled["response"].status_code == 201
    assert stalled["response"].json()["registration_number"] == number
    assert post_deposit(_client(token)).content == retry.content  # the first answer kept stays
    assert registered() == [number]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/deposits", "/api/v1/administrations/{code}/exchanges", "/api/v1/administrations/{code}/folders"],
)
def test_the_schema_says_which_operations_take_the_key_and_what_a_replay_looks_like(client: Client, path: str) -> None:
    operation = client.get("/api/v1/openapi.json").json()["paths"][path]["post"]
    (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
    assert (header["name"], header["required"], header["schema"]["maxLength"]) == ("Idempotency-Key", False, 100)
    created = operation["responses"]["201"]
    assert "application/json" in created["content"]  # the answer's own schema, with the marker beside it
    assert created["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"]
    assert "idempotency_key_in_progress" in operation["responses"]["409"]["description"]
    assert "idempotency_key_reused" in operation["responses"]["422"]["description"]
