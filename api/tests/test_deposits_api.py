"""The deposit API, used as a client would: token, multipart deposit, receipt, listing."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import ninja.main
import ninja.openapi.schema
import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import translation
from pytest_django import DjangoAssertNumQueries, DjangoCaptureOnCommitCallbacks, Settings

from api import urls
from api.testing import bearer
from core.clock import now
from core.testing import clock_at
from documents import storage
from documents.samples import image_bytes, pdf_bytes
from registry.models import Correspondence
from registry.receipts import verification_url
from tenancy.models import Administration, ApiToken, User
from tenancy.testing import PASSWORD, make_user
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response


def token_for(client: Client, user: User) -> str:
    response = client.post(
        "/api/v1/auth/token", {"username": user.email, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


@pytest.fixture
def api(client: Client, citizen: User) -> Client:
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(client, citizen)}"
    return client


def post_deposit(
    api: Client,
    *,
    recipient: str = "COMMUNE-TEST",
    subject: str = "طلب شهادة إدارية",
    body: str = "أطلب شهادة إدارية",
    files: Sequence[tuple[str, bytes]] = (),
    headers: dict[str, str] | None = None,
    language: str = "ar",
) -> Response:
    data: dict[str, object] = {"recipient": recipient, "subject": subject, "body": body}
    if files:
        data["attachments"] = [SimpleUploadedFile(name, content) for name, content in files]
    return api.post("/api/v1/deposits", data, headers={"Accept-Language": language, **(headers or {})})


def test_wrong_credentials_get_401_in_the_common_error_shape(client: Client, citizen: User) -> None:
    response = client.post(
        "/api/v1/auth/token",
        {"username": citizen.email, "password": "nope"},
        content_type="application/json",
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "wrong_credentials", "message": "Adresse e-mail ou mot de passe incorrect."}
    }


def test_a_deposit_returns_its_number_and_a_sealed_receipt(
    client: Client, citizen: User, commune: Administration
) -> None:
    registered = now().replace(microsecond=0)  # the clock stopped on a whole second: exact times below
    with clock_at(registered):
        api = bearer(citizen)
        response = post_deposit(api, files=[("lettre.pdf", pdf_bytes(pages=2, pad_to=200_000))])
        assert response.status_code == 201, response.content
        body = response.json()
        detail = api.get(f"/api/v1/deposits/{body['id']}").json()
        receipt = api.get(body["receipt_url"])
    year = registered.astimezone(ZoneInfo("Africa/Casablanca")).year
    assert body["registration_number"] == f"A-{year}-000001"
    assert datetime.fromisoformat(body["registered_at"]) == registered  # the registration time, to the second
    assert detail["registered_at"] == registered.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["receipt_status"] == "issued"
    assert body["attachments"][0]["pages"] == 2
    deposit = Correspondence.objects.select_related("receipt").get()
    assert body["verification_url"] == verification_url(deposit.receipt.token)
    assert receipt.status_code == 200
    assert receipt["Content-Type"] == "application/pdf"
    pdf = receipt.getvalue()
    assert hashlib.sha256(pdf).hexdigest() == deposit.receipt.blob_id  # the receipt registered for it
    report = assert_pdfsig_trusted(pdf, ca_certificate_pem())
    assert "Signer Certificate Common Name: COMMUNE-TEST seal" in report  # sealed by the commune
    assert "Total document signed" in report  # nothing added after the seal


def test_the_receipt_is_emailed_to_the_depositor(
    api: Client,
    commune: Administration,
    citizen: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_deposit(api)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [citizen.email]
    deposit = Correspondence.objects.select_related("receipt").get()
    (attachment,) = message.attachments
    assert attachment.filename == f"receipt-{deposit.number}.pdf"
    assert attachment.content == storage.read_bytes(str(deposit.receipt.blob_id))  # the sealed receipt itself
    assert_pdfsig_trusted(attachment.content, ca_certificate_pem())


def test_listing_shows_only_the_callers_deposits(
    api: Client, client: Client, commune: Administration, outsider_citizen: User
) -> None:
    post_deposit(api)
    post_deposit(api, subject="طلب ثان")
    other = Client()
    other.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(other, outsider_citizen)}"
    post_deposit(other, subject="Demande d'un autre")
    mine = api.get("/api/v1/deposits").json()
    assert [d["subject"] for d in mine] == ["طلب ثان", "طلب شهادة إدارية"]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"recipient": "NO-SUCH-CODE"}, 404, "unknown_recipient"),
        ({"recipient": ""}, 404, "unknown_recipient"),
        ({"subject": ""}, 400, "subject_required"),
        ({"files": [("virus.pdf", b"MZ\x90\x00" + b"\0" * 100)]}, 400, "file_type_not_allowed"),
        ({"files": [("cut.pdf", pdf_bytes(pages=3)[:-200])]}, 400, "file_unreadable"),
        ({"files": [("empty.pdf", b"")]}, 400, "empty_file"),
    ],
)
def test_bad_input_is_refused_and_consumes_no_number(
    api: Client, commune: Administration, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = post_deposit(api, **kwargs)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert not Correspondence.objects.exists()
    assert post_deposit(api).json()["registration_number"].endswith("-000001")


def test_a_file_sent_under_another_name_is_refused_not_dropped(api: Client, commune: Administration) -> None:
    # A client that names the field "files" would otherwise get a deposit registered without them.
    data = {
        "recipient": "COMMUNE-TEST",
        "subject": "طلب",
        "body": "نص",
        "files": [SimpleUploadedFile("a.pdf", pdf_bytes())],
    }
    response = api.post("/api/v1/deposits", data, headers={"Accept-Language": "fr"})
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("unknown_file_field", "files")
    assert "« attachments »" in error["message"] or "“attachments”" in error["message"]
    assert not Correspondence.objects.exists()
    assert post_deposit(api, files=[("a.pdf", pdf_bytes())]).json()["registration_number"].endswith("-000001")


def test_too_many_or_too_large_files(api: Client, commune: Administration, settings: Settings) -> None:
    settings.MAX_FILES = 2
    settings.MAX_FILE_SIZE = 50_000
    three = [(f"{i}.png", image_bytes("PNG")) for i in range(3)]
    assert post_deposit(api, files=three).json()["error"]["code"] == "too_many_files"
    response = post_deposit(api, files=[("big.pdf", pdf_bytes(pad_to=80_000))])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert not Correspondence.objects.exists()


def test_an_expired_token_is_refused(api: Client, commune: Administration) -> None:
    ApiToken.objects.update(expires_at=datetime.now().astimezone() - timedelta(minutes=1))
    response = post_deposit(api)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert not Correspondence.objects.exists()


def test_an_unverified_account_cannot_deposit(client: Client, commune: Administration) -> None:
    user = make_user("new@example.ma", verified=False)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(client, user)}"
    response = post_deposit(client)
    assert response.status_code == 403
    assert not Correspondence.objects.exists()


def test_deposits_are_rate_limited_with_retry_after(api: Client, commune: Administration, settings: Settings) -> None:
    settings.RATE_DEPOSIT = (2, 3600)
    assert post_deposit(api).status_code == 201
    assert post_deposit(api).status_code == 201
    limited = post_deposit(api)
    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert Correspondence.objects.count() == 2


def test_sign_in_is_rate_limited(client: Client, citizen: User, settings: Settings) -> None:
    settings.RATE_LOGIN = (3, 60)
    for _ in range(3):
        client.post("/api/v1/auth/token", {"username": citizen.email, "password": "x"}, content_type="application/json")
    response = client.post(
        "/api/v1/auth/token", {"username": citizen.email, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60


def test_errors_speak_the_callers_language(api: Client, commune: Administration) -> None:
    french = post_deposit(api, subject="", language="fr").json()["error"]["message"]
    arabic = post_deposit(api, subject="", language="ar").json()["error"]["message"]
    source = "Write the subject of your correspondence."
    for language, message in (("fr", french), ("ar", arabic)):
        with translation.override(language):
            assert message == translation.gettext(source) != source
    assert french == "Indiquez l'objet de votre courrier."


def test_openapi_is_served_built_once(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []

    def counted_get_schema(**arguments: Any) -> Any:
        built.append(arguments)
        return ninja.openapi.schema.get_schema(**arguments)

    monkeypatch.setattr(urls, "_openapi_schemas", {})
    monkeypatch.setattr(ninja.main, "get_schema", counted_get_schema)
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/deposits", "/api/v1/auth/token", "/api/v1/verify", "/api/v1/verify/{token}"} <= set(
        schema["paths"]
    )
    # Built at the first request only: it walks every operation's models, a second of CPU.
    assert client.get("/api/v1/openapi.json").json() == schema
    assert len(built) == 1


def test_healthz(client: Client, db: None) -> None:
    # Every part is reported (operations/tests/test_health.py); no worker runs in this test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_listing_runs_a_fixed_number_of_queries(
    api: Client, commune: Administration, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    for i in range(5):
        post_deposit(api, subject=f"طلب {i}", files=[(f"{i}.pdf", pdf_bytes(text=f"n{i}"))])
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/v1/deposits").json()) == 5


def test_a_deposit_runs_a_bounded_number_of_queries(
    api: Client, commune: Administration, django_assert_max_num_queries: DjangoAssertNumQueries, settings: Settings
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}  # queue, don't run
    post_deposit(api)  # the register's counter and log head exist from now on
    # The token, the administration, its calendar changes and routing rules; the registration's
    # transaction: the file's row, the primary keys, the number, the log head, then its rows
    # (the correspondence, its attachment, receipt, log entry and audit event, the log head's
    # move, the case and its first timeline line) in one round trip on PostgreSQL, one by one
    # on SQLite; the receipt's: its file's row, the receipt, its audit event. And 4 savepoints.
    with django_assert_max_num_queries(16 if connection.vendor == "postgresql" else 23):
        assert post_deposit(api, files=[("a.pdf", pdf_bytes(text="q"))]).status_code == 201
