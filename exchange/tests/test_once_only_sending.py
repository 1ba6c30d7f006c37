"""A once-only request to another installation is posted by the worker, never while the agent
waits: queued when the request is committed, tried again with a growing delay while the peer
cannot be reached, marked failed after the retry window (and then it may be asked again). The
agent sees where it stands. (Answers between two real installations:
test_once_only_between_installations.)"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import override
from pytest_django import DjangoCaptureOnCommitCallbacks

from audit.models import AuditAction, AuditEvent
from core.bidi import isolated
from core.clock import now
from core.testing import clock_at
from documents.models import Blob
from exchange import once_only, once_only_remote
from exchange.models import DocumentRequest, Peer, RemoteAdministration
from exchange.once_only_remote import requests_post_due
from exchange.tests.installations import free_port
from tenancy.access import scope_of
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_service, make_staff
from trust.services import ca_certificate_pem
from workflow import services as wf
from workflow.catalogue import DocumentLine
from workflow.models import Case
from workflow.selectors import case_for
from workflow.testing import deposit, make_procedure

Role = Membership.Role
Status = DocumentRequest.Status


@pytest.fixture
def far_case(commune: Administration, citizen: User, agent: User) -> Case:
    """A file whose procedure lists a certificate held on another installation, which nothing
    answers (its address is a closed port)."""
    peer = Peer.objects.create(
        name="far",
        label="Wasl far",
        base_url=f"http://127.0.0.1:{free_port()}",
        ca_certificate=ca_certificate_pem().decode(),
        fingerprint="f" * 64,
        created_at=now(),
    )
    RemoteAdministration.objects.create(
        peer=peer,
        code="PROVINCE-X",
        name_ar="عمالة",
        name_fr="Province X",
        provides=[{"code": "CERT-PROP", "name_ar": "شهادة", "name_fr": "Certificat", "automatic": True}],
    )
    make_procedure(
        commune, documents=[DocumentLine("شهادة الملكية", "Certificat de propriété", "PROVINCE-X@far", "", "CERT-PROP")]
    )
    registered = deposit(commune, citizen, procedure="URB-PC").correspondence
    clerk = make_staff(commune, Role.CLERK, "c@commune.ma")
    wf.case_assign(actor=clerk, case_id=registered.pk, service=make_service(commune, "URB"))
    return case_for(scope_of(agent, commune), registered.pk)


def test_asking_a_peer_posts_nothing_until_the_worker_does_then_it_is_retried_and_fails(
    commune: Administration,
    agent: User,
    far_case: Case,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with clock_at("2026-11-21 10:00"), django_capture_on_commit_callbacks() as queued:
        request = once_only.document_request(scope=scope_of(agent, commune), case=far_case, position=1)
    # The agent's page is answered before any attempt: one task waits for the commit.
    assert len(queued) == 1
    request.refresh_from_db()
    assert (request.status, request.attempts, request.sent_at) == (Status.PENDING, 0, None)
    assert request.sending == _("Waiting to be sent")
    with clock_at("2026-11-21 10:00"):
        assert requests_post_due() == 0  # the sweep leaves a fresh request to its task
        queued[0]()  # committed: the task is queued, and the worker runs it
    request.refresh_from_db()
    assert (request.status, request.attempts, request.sent_at) == (Status.PENDING, 1, None)
    assert "127.0.0.1" in request.last_error and request.sending == _("Failed — will retry")
    with clock_at("2026-11-21 10:00:05"):
        assert requests_post_due() == 0  # not due: it waits its delay
    request.refresh_from_db()
    assert request.attempts == 1
    with clock_at("2026-11-21 10:00:11"):
        assert requests_post_due() == 0  # due, tried, still unreachable
    request.refresh_from_db()
    assert request.attempts == 2 and request.status == Status.PENDING
    with clock_at("2026-11-23 10:01"):  # past the retry window
        assert requests_post_due() == 0
    request.refresh_from_db()
    assert (request.status, request.attempts, request.sending) == (Status.FAILED, 3, "")
    assert request.get_status_display() == _("Failed") and request.last_error
    failed = AuditEvent.objects.get(action=AuditAction.ONCE_ONLY_FAILED)
    assert (failed.object_id, failed.administration) == (str(request.pk), commune)
    # A failed request may be asked again.
    with clock_at("2026-11-23 10:02"), django_capture_on_commit_callbacks() as queued:
        again = once_only.document_request(scope=scope_of(agent, commune), case=far_case, position=1)
    assert again.pk != request.pk and again.status == Status.PENDING and len(queued) == 1


def test_the_agent_is_told_the_request_is_on_its_way_and_sees_it_waiting(
    commune: Administration, agent: User, far_case: Case, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(agent, "fr")
    response = client.post(reverse("desk:held_ask", args=[commune.code, far_case.pk]), {"document": "1"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    with override("fr"):
        told = _("Asked of %(holder)s: the request is on its way; the answer will appear on this file.") % {
            "holder": isolated(DocumentRequest.objects.get(case=far_case).holder_name)
        }
        assert escape(told) in page
        assert escape(_("Waiting to be sent")) in page


def test_an_answer_that_does_not_match_its_fingerprint_ends_the_request_and_keeps_nothing(
    commune: Administration,
    agent: User,
    far_case: Case,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A holder (or someone between) sends a copy whose bytes are not those it names: nothing of
    it is kept, the request fails with the reason, in the audit trail, and may be asked again
    (it once stayed pending for good, sent and never answered)."""
    copy = b"%PDF-1.7 a copy"
    answer = {"status": "delivered", "pdf": base64.b64encode(copy).decode(), "sha256": "0" * 64}
    monkeypatch.setattr(once_only_remote, "_post", lambda peer, path, kind, data: (200, answer))
    blobs = Blob.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        request = once_only.document_request(scope=scope_of(agent, commune), case=far_case, position=1)
    request.refresh_from_db()
    assert request.status == Status.FAILED and "tampered" in request.last_error
    assert request.blob_id is None and Blob.objects.count() == blobs
    assert AuditEvent.objects.filter(action=AuditAction.ONCE_ONLY_FAILED, object_id=str(request.pk)).count() == 1
    assert not AuditEvent.objects.filter(action=AuditAction.ONCE_ONLY_ANSWERED).exists()
    monkeypatch.setattr(once_only_remote, "_post", lambda peer, path, kind, data: (200, {"status": "pending"}))
    with django_capture_on_commit_callbacks(execute=True):
        again = once_only.document_request(scope=scope_of(agent, commune), case=far_case, position=1)
    assert again.pk != request.pk


def test_a_request_that_failed_to_go_is_shown_as_a_warning_on_the_file_and_the_requests_page(
    commune: Administration, agent: User, far_case: Case, signed_in: Callable[..., Client]
) -> None:
    """ "Failed — will retry" is a warning, not the neutral badge of a request on its way."""
    request = once_only.document_request(scope=scope_of(agent, commune), case=far_case, position=1)
    client = signed_in(agent, "fr")
    pages = (
        reverse("desk:correspondence", args=[commune.code, far_case.pk]),
        reverse("desk:documents", args=[commune.code]),
    )
    with override("fr"):
        waiting, failing = escape(_("Waiting to be sent")), escape(_("Failed — will retry"))
    for url in pages:
        assert f'<span class="badge">{waiting}</span>' in client.get(url).content.decode()
    DocumentRequest.objects.filter(pk=request.pk).update(attempts=1, last_error="connection refused")
    for url in pages:
        assert f'<span class="badge warn">{failing}</span>' in client.get(url).content.decode()
