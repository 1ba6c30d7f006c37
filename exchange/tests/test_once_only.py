"""Once-only requests: an agent asks the administration that holds a document about the person
instead of the person; answered automatically or by the holder's agent, or refused with a
reason; the person is told, and every step is in their chained access log."""

from __future__ import annotations

from datetime import date
from typing import TypedDict

import pytest

from documents import storage
from documents.intake import bytes_upload, check_files
from exchange import once_only
from exchange.access_log import access_log_verify, accesses_of
from exchange.models import AccessLogEntry, DocumentRequest, HeldDocument
from exchange.once_only import OnceOnlyRefused
from exchange.testing import certificate_hold, property_certificate
from tenancy.access import scope_of
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_administration, make_service, make_staff
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted, pdfsig_available, sample_pdf
from workflow import services as wf
from workflow.catalogue import DocumentLine
from workflow.models import Case, CaseEvent
from workflow.selectors import case_for
from workflow.testing import deposit, make_procedure

Role = Membership.Role


class Holders(TypedDict):
    land: Administration
    tax: Administration
    land_admin: User
    tax_admin: User


@pytest.fixture
def holders(db: None) -> Holders:
    """A land registry that delivers ownership certificates automatically, and a tax office
    whose agents approve each tax certificate."""
    land = make_administration("ANCFCC-TEST", name_fr="Conservation foncière", name_ar="المحافظة العقارية")
    tax = make_administration("DGI-TEST", name_fr="Direction des impôts", name_ar="المديرية العامة للضرائب")
    land_admin = make_staff(land, Role.ADMIN, "admin@ancfcc.ma")
    tax_admin = make_staff(tax, Role.ADMIN, "admin@dgi.ma")
    property_certificate(land_admin, land)
    once_only.provided_document_save(
        actor=tax_admin,
        administration=tax,
        code="ATT-FISC",
        name_ar="شهادة جبائية",
        name_fr="Attestation fiscale",
        automatic=False,
    )
    return {"land": land, "tax": tax, "land_admin": land_admin, "tax_admin": tax_admin}


@pytest.fixture
def case(commune: Administration, citizen: User, agent: User, holders: Holders) -> Case:
    urb = make_service(commune, "URB")
    make_procedure(
        commune,
        documents=[
            DocumentLine("التصاميم", "Plans"),
            DocumentLine("شهادة الملكية", "Certificat de propriété", "ANCFCC-TEST", "Conservation", "CERT-PROP"),
            DocumentLine("شهادة جبائية", "Attestation fiscale", "DGI-TEST", "Impôts", "ATT-FISC"),
            DocumentLine("عقد", "Contrat", "OTHER", "Ailleurs", "X"),  # a holder not on this installation
        ],
    )
    registered = deposit(commune, citizen, procedure="URB-PC").correspondence
    wf.case_assign(actor=make_staff(commune, Role.CLERK, "c@commune.ma"), case_id=registered.pk, service=urb)
    return case_for(scope_of(agent, commune), registered.pk)


def _hold(
    holders: Holders, national_id: str = "AB123456", text: str = "Certificat de propriété n° 1234"
) -> HeldDocument:
    kind = holders["land"].provided_documents.get(code="CERT-PROP")
    return certificate_hold(
        holders["land_admin"],
        kind,
        national_id=national_id,
        person_name="فاطمة الزهراء بنعلي",
        text=text,
        issued_on=date(2026, 5, 1),
        reference="TF-1234",
    )


def test_an_automatic_holder_delivers_a_sealed_copy_at_once_and_the_citizen_sees_each_access(
    commune: Administration, citizen: User, agent: User, holders: Holders, case: Case, outsider_citizen: User
) -> None:
    held = _hold(holders)
    _hold(holders, national_id="ZZ999999", text="Someone else's")
    scope = scope_of(agent, commune)
    assert [d.position for d in once_only.askable(case)] == [2, 3]  # not the plans, not another installation's
    request = once_only.document_request(scope=scope, case=case, position=2)
    request.refresh_from_db()
    assert request.status == DocumentRequest.Status.DELIVERED and request.answered_by is None
    assert request.held == held and request.national_id == "AB123456"
    copy = once_only.delivered_copy_read(scope=scope, request=request)
    assert copy.startswith(storage.read_bytes(held.blob_id))  # the holder's document, with a seal appended
    if pdfsig_available():
        report = assert_pdfsig_trusted(copy, ca_certificate_pem())
        assert "ANCFCC-TEST" in report
    # The citizen is told it was fetched, not asked for it.
    events = list(CaseEvent.objects.filter(case=case, public=True).values_list("kind", flat=True))
    assert events[-2:] == [CaseEvent.Kind.DOCUMENT_ASKED, CaseEvent.Kind.DOCUMENT_FETCHED]
    seen = list(accesses_of(citizen).values_list("action", "administration__code"))
    assert seen == [
        ("read", commune.code),
        ("delivered", "ANCFCC-TEST"),
        ("requested", commune.code),
    ]
    assert not accesses_of(outsider_citizen).exists()
    latest = accesses_of(citizen).first()
    assert latest is not None
    facts = latest.facts
    assert facts["document"]["fr"] == "Certificat de propriété" and facts["procedure"]["code"] == "URB-PC"
    assert facts["file"] == case.correspondence.number
    assert access_log_verify() is None


def test_an_automatic_holder_without_the_document_refuses_at_once(
    commune: Administration, agent: User, holders: Holders, case: Case
) -> None:
    request = once_only.document_request(scope=scope_of(agent, commune), case=case, position=2)
    request.refresh_from_db()
    assert (
        request.status == DocumentRequest.Status.REFUSED
        and "Aucun document de ce type" in request.reason
        and "لا توجد وثيقة" in request.reason
    )
    # Refused, it can be asked again (the holder may have it later).
    _hold(holders)
    again = once_only.document_request(scope=scope_of(agent, commune), case=case, position=2)
    assert DocumentRequest.objects.get(pk=again.pk).status == DocumentRequest.Status.DELIVERED


def test_a_holder_agent_delivers_by_hand_or_refuses_with_a_reason(
    commune: Administration, citizen: User, agent: User, holders: Holders, case: Case
) -> None:
    scope = scope_of(agent, commune)
    request = once_only.document_request(scope=scope, case=case, position=3)
    assert DocumentRequest.objects.get(pk=request.pk).status == DocumentRequest.Status.PENDING
    with pytest.raises(OnceOnlyRefused) as twice:
        once_only.document_request(scope=scope, case=case, position=3)
    assert twice.value.code == "already_asked"
    tax, tax_agent = holders["tax"], make_staff(holders["tax"], Role.AGENT, "agent@dgi.ma")
    with pytest.raises(OnceOnlyRefused):  # a refusal needs its reason
        once_only.request_refuse(actor=tax_agent, administration=tax, request_id=str(request.pk), reason=" ")
    once_only.request_deliver(
        actor=tax_agent,
        administration=tax,
        request_id=str(request.pk),
        file=check_files([bytes_upload(sample_pdf("Attestation fiscale"), "att.pdf")])[0],
    )
    delivered = DocumentRequest.objects.get(pk=request.pk)
    assert delivered.status == DocumentRequest.Status.DELIVERED and delivered.answered_by == tax_agent
    assert delivered.held is not None and delivered.held.national_id == "AB123456"  # kept for the next time
    with pytest.raises(OnceOnlyRefused) as answered:
        once_only.request_refuse(actor=tax_agent, administration=tax, request_id=str(request.pk), reason="Non")
    assert answered.value.code == "answered"
    # Asked again, refused by hand this time: the reason reaches the log.
    DocumentRequest.objects.filter(pk=request.pk).update(status="refused")
    second = once_only.document_request(scope=scope, case=case, position=3)
    once_only.request_refuse(
        actor=tax_agent, administration=tax, request_id=str(second.pk), reason="Dossier fiscal en cours."
    )
    refusal = accesses_of(citizen).first()
    assert refusal is not None
    assert (refusal.action, refusal.actor_name, refusal.facts["reason"]) == (
        "refused",
        tax_agent.full_name,
        "Dossier fiscal en cours.",
    )
    assert access_log_verify() is None


def test_outsiders_and_wrong_documents_are_refused_and_change_nothing(
    commune: Administration,
    citizen: User,
    agent: User,
    outsider: User,
    holders: Holders,
    case: Case,
    elsewhere: Administration,
) -> None:
    request = once_only.document_request(scope=scope_of(agent, commune), case=case, position=3)
    before = AccessLogEntry.objects.count()
    # Another administration's staff (even the land registry's) cannot answer the tax office's request.
    for actor, administration in ((outsider, holders["tax"]), (holders["land_admin"], holders["land"])):
        with pytest.raises(Exception) as denied:
            once_only.request_refuse(actor=actor, administration=administration, request_id=str(request.pk), reason="x")
        assert denied.type.__name__ == "NotFound"
    # The land registry's document about someone else cannot answer it either.
    tax_agent = make_staff(holders["tax"], Role.AGENT, "agent@dgi.ma")
    with pytest.raises(OnceOnlyRefused):
        once_only.request_deliver(
            actor=tax_agent, administration=holders["tax"], request_id=str(request.pk), held=_hold(holders, "ZZ1")
        )
    # Only the documents of the procedure held elsewhere, only by whom may handle the case.
    for position in (1, 4, 9):
        with pytest.raises(OnceOnlyRefused) as refused:
            once_only.document_request(scope=scope_of(agent, commune), case=case, position=position)
        assert refused.value.code == "not_held"
    with pytest.raises(OnceOnlyRefused) as not_allowed:
        once_only.document_request(scope=scope_of(outsider, commune), case=case, position=2)
    assert not_allowed.value.code == "not_allowed"
    assert AccessLogEntry.objects.count() == before
    assert DocumentRequest.objects.get(pk=request.pk).status == DocumentRequest.Status.PENDING


def test_a_changed_or_removed_log_entry_breaks_the_chain(
    commune: Administration, agent: User, holders: Holders, case: Case
) -> None:
    _hold(holders)
    once_only.document_request(scope=scope_of(agent, commune), case=case, position=2)
    assert access_log_verify() is None
    first = AccessLogEntry.objects.order_by("position").first()
    assert first is not None
    AccessLogEntry.objects.filter(pk=first.pk).update(payload=first.payload.replace("URB-PC", "URB-XX"))
    assert access_log_verify() == first.position
    AccessLogEntry.objects.filter(pk=first.pk).update(payload=first.payload)
    AccessLogEntry.objects.filter(position=2).delete()
    assert access_log_verify() == 2
