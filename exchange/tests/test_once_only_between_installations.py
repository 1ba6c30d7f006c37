"""Once-only requests between two real installations: an agent of A asks B's administration for
a document it holds about the person; answered automatically, by hand, and after B was down;
the sealed copy checks out against B's root with poppler; each step is in the person's chained
access log on A (and in B's own)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from exchange.tests.installations import Installation
from trust.testing import assert_pdfsig_trusted, pdfsig_available

# Two real installations (servers on loopback, each with its own SQLite database).
pytestmark = [pytest.mark.slow, pytest.mark.own_installations]

SETUP_B = """
from datetime import date
from documents.intake import bytes_upload, check_files
from exchange import once_only
from tenancy.models import Administration, User
from trust.testing import sample_pdf
b = Administration.objects.get(code="PROVINCE-B")
admin = User.objects.get(email="clerk@province-b.ma")
from tenancy.models import Membership
Membership.objects.filter(user=admin).update(role="admin")
cert = once_only.provided_document_save(actor=admin, administration=b, code="CERT-PROP",
    name_ar="شهادة الملكية", name_fr="Certificat de propriété", automatic=True)
once_only.provided_document_save(actor=admin, administration=b, code="ATT-FISC",
    name_ar="شهادة جبائية", name_fr="Attestation fiscale", automatic=False)
once_only.held_document_register(actor=admin, administration=b, kind=cert, national_id="AB123456",
    person_name="Fatima", file=check_files([bytes_upload(sample_pdf("Certificat de propriété"), "c.pdf")])[0],
    issued_on=date(2026, 5, 1), reference="TF-1")
result = True
"""

SETUP_A = """
from exchange.models import Peer
from exchange.remote import directory_sync
from tenancy.models import Administration, Membership, User
from workflow.catalogue import DocumentLine
from workflow.testing import deposit, make_procedure
from workflow import services as wf
directory_sync(Peer.objects.get(name="b"))  # learns what B's administrations deliver
a = Administration.objects.get(code="COMMUNE-A")
make_procedure(a, documents=[
    DocumentLine("التصاميم", "Plans"),
    DocumentLine("شهادة الملكية", "Certificat de propriété", "PROVINCE-B@B", "", "CERT-PROP"),
    DocumentLine("شهادة جبائية", "Attestation fiscale", "PROVINCE-B@b", "", "ATT-FISC"),
])
citizen = User.objects.create_user("citizen@a.ma", None, full_name="Fatima", national_id="AB123456")
agent = User.objects.create_user("agent@a.ma", None, full_name="Agent A")
Membership.objects.create(user=agent, administration=a, role="agent")
from tenancy.testing import make_service
urb = make_service(a, "URB")
CASES = []
for n in range(3):
    c = deposit(a, citizen, procedure="URB-PC").correspondence
    wf.case_assign(actor=User.objects.get(email="clerk@commune-a.ma"), case_id=c.pk, service=urb)
    CASES.append(c.pk)
result = CASES
"""

ASK = """
from exchange import once_only
from exchange.models import DocumentRequest
from tenancy.models import Administration, User
from tenancy.access import scope_of
from workflow.selectors import case_for
scope = scope_of(User.objects.get(email="agent@a.ma"), Administration.objects.get(code="COMMUNE-A"))
case = case_for(scope, {case})
assert [d.position for d in once_only.askable(case)] == [2, 3]
request = DocumentRequest.objects.get(pk=once_only.document_request(scope=scope, case=case, position={position}).pk)
result = str(request.pk)
"""

STATE = """
import base64
from documents import storage
from exchange.access_log import access_log_verify
from exchange.models import AccessLogEntry, DocumentRequest
r = DocumentRequest.objects.filter(pk="{request_id}").first()
result = r and {{
    "status": r.status, "reason": r.reason, "sent": r.sent_at is not None, "by": r.answered_by_name,
    "attempts": r.attempts, "error": r.last_error,
    "pdf": base64.b64encode(storage.read_bytes(r.blob_id)).decode() if r.blob_id else "",
    "log": list(AccessLogEntry.objects.filter(request=r).order_by("position").values_list("action", "administration_name", "actor_name")),
    "chain": access_log_verify(),
}}
"""


POST = "exchange.tasks.document_request_post_task"


def state(side: Installation, request_id: str) -> dict[str, Any] | None:
    return side.run(STATE.format(request_id=request_id))


@pytest.fixture(scope="module")
def cases(pair: tuple[Installation, Installation]) -> list[int]:
    a, b = pair
    b.run(SETUP_B)
    made = a.run(SETUP_A)
    a.work()  # the e-mails of the set-up
    return made


def root_of(side: Installation) -> bytes:
    return str(
        side.run("from trust.services import installation_pki\nresult = installation_pki().ca_certificate_pem.decode()")
    ).encode()


def test_answered_automatically_with_a_copy_sealed_by_the_holder(
    pair: tuple[Installation, Installation], cases: list[int]
) -> None:
    a, b = pair
    request_id = str(a.run(ASK.format(case=cases[0], position=2)))
    # Asking posts nothing: the request waits in A's queue, B has never heard of it.
    waiting = state(a, request_id)
    assert waiting is not None and (waiting["status"], waiting["sent"], waiting["attempts"]) == ("pending", False, 0)
    assert state(b, request_id) is None
    assert a.work() == [POST]  # A's worker posts it; B answers at once
    here, there = state(a, request_id), state(b, request_id)
    assert here is not None and there is not None
    assert (here["status"], here["sent"], there["status"]) == ("delivered", True, "delivered")
    copy = base64.b64decode(here["pdf"])
    assert copy == base64.b64decode(there["pdf"]) and copy.startswith(b"%PDF")
    if pdfsig_available():
        assert "PROVINCE-B" in assert_pdfsig_trusted(copy, root_of(b))  # B's seal, trusted by B's root
    assert [entry[0] for entry in here["log"]] == ["requested", "delivered"]
    assert here["log"][1][1].startswith("Commune PROVINCE-B")  # B's administration, named in A's log
    assert [entry[0] for entry in there["log"]] == ["requested", "delivered"]  # B logs it too
    assert here["chain"] is None and there["chain"] is None
    # The person sees it in their space on A, and their file says it was obtained.
    seen = a.run(
        f"""
        from exchange.access_log import accesses_of
        from tenancy.models import User
        from workflow.models import CaseEvent
        result = [list(accesses_of(User.objects.get(email="citizen@a.ma")).values_list("action", flat=True)),
                  list(CaseEvent.objects.filter(case_id={cases[0]}, public=True).values_list("kind", flat=True))[-2:]]
        """
    )
    assert seen[0][-2:] == ["delivered", "requested"] and seen[1] == ["document_asked", "document_fetched"]


def test_answered_by_hand_on_the_holder_then_sent_back(
    pair: tuple[Installation, Installation], cases: list[int]
) -> None:
    a, b = pair
    request_id = str(a.run(ASK.format(case=cases[1], position=3)))
    assert a.work() == [POST]
    here, there = state(a, request_id), state(b, request_id)
    assert here is not None and here["status"] == "pending"
    assert there is not None and there["status"] == "pending"
    delivered = b.run(
        f"""
        from documents.intake import bytes_upload, check_files
        from exchange import once_only
        from exchange.once_only_remote import answers_post_due
        from tenancy.models import Administration, Membership, User
        from trust.testing import sample_pdf
        b = Administration.objects.get(code="PROVINCE-B")
        agent = User.objects.create_user("agent@b.ma", None, full_name="Agent B")
        Membership.objects.create(user=agent, administration=b, role="agent")
        once_only.request_deliver(actor=agent, administration=b, request_id="{request_id}",
            file=check_files([bytes_upload(sample_pdf("Attestation fiscale"), "att.pdf")])[0])
        result = [answers_post_due(), answers_post_due()]
        """
    )
    assert delivered == [1, 0]  # posted once
    here = state(a, request_id)
    assert here is not None and here["status"] == "delivered" and here["by"] == "Agent B"
    assert here["log"][-1] == ["delivered", here["log"][-1][1], "Agent B"]


def test_the_holder_down_then_up_gets_the_request_once(
    pair: tuple[Installation, Installation], cases: list[int]
) -> None:
    a, b = pair
    b.stop()
    try:
        request_id = str(a.run(ASK.format(case=cases[2], position=2)))
        assert a.work() == [POST]  # the worker's attempt fails: it will try again
        waiting = state(a, request_id)
        assert waiting is not None and (waiting["status"], waiting["sent"], waiting["attempts"]) == (
            "pending",
            False,
            1,
        )
        assert waiting["error"]
        # The worker's sweep waits the delay after a failed attempt.
        assert a.run("from exchange.once_only_remote import requests_post_due\nresult = requests_post_due()") == 0
    finally:
        b.start()
    sweep = """
        from core.clock import now
        from exchange.models import DocumentRequest
        from exchange.once_only_remote import requests_post_due
        DocumentRequest.objects.filter(sent_at=None).update(next_attempt_at=now())  # the delay is over
        result = requests_post_due()
    """
    assert a.run(sweep) == 1
    assert a.run(sweep) == 0
    here, there = state(a, request_id), state(b, request_id)
    assert here is not None and here["status"] == "delivered"
    assert there is not None and [entry[0] for entry in there["log"]] == ["requested", "delivered"]
