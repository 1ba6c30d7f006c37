"""Mail between two administrations of one installation: registered on both sides with their
own numbers, acknowledged with the recipient's seal, delivered once whatever happens."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection

from audit.models import AuditAction, AuditEvent
from core.clock import now
from core.testing import clock_at
from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from exchange import acknowledgements, selectors, services
from exchange.models import Envelope
from exchange.services import ExchangeRefused
from registry.models import Correspondence
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_administration, make_staff
from trust.pki import Pki
from trust.sealing import seal_data
from workflow.calendar import local_date
from workflow.models import Case, Notification

Role = Membership.Role


@pytest.fixture
def province(db: None) -> Administration:
    return make_administration("PROVINCE-TEST", name_ar="عمالة الاختبار", name_fr="Province de Test")


def send(
    commune: Administration, clerk: User, province: Administration, subject: str = "Demande d'avis technique"
) -> Envelope:
    return services.mail_send(
        actor=clerk,
        administration=commune,
        recipient_code=province.code,
        subject=subject,
        body="Nous sollicitons votre avis.",
        files=check_files([bytes_upload(pdf_bytes(text=subject), "lettre.pdf")]),
    )


def test_a_letter_is_registered_on_both_sides_and_acknowledged(
    commune: Administration, clerk: User, province: Administration
) -> None:
    envelope = send(commune, clerk, province)
    outgoing = envelope.outgoing
    assert outgoing is not None
    assert outgoing.direction == "outgoing" and outgoing.number.startswith("D-") and outgoing.channel == "exchange"
    assert (outgoing.addressee_kind, outgoing.addressee_name, outgoing.addressee_identifier) == (
        "administration",
        "Province de Test",
        province.code,
    )
    assert outgoing.sender_name == "" and not hasattr(outgoing, "receipt")  # sent by the commune: no receipt
    assert envelope.status == Envelope.Status.PENDING and envelope.incoming is None
    assert services.envelopes_deliver() == 1
    envelope.refresh_from_db()
    incoming = envelope.incoming
    assert envelope.status == Envelope.Status.DELIVERED
    assert incoming is not None and incoming.receipt is not None
    assert (incoming.administration, incoming.direction, incoming.number) == (
        province,
        "incoming",
        f"A-{local_date(now()).year}-000001",
    )
    assert incoming.sender_kind == "administration" and incoming.sender_identifier == commune.code
    assert incoming.addressee_name == "" and incoming.receipt.token  # the recipient's deposit receipt
    assert incoming.subject == outgoing.subject
    assert [a.blob_id for a in incoming.attachments.all()] == [a.blob_id for a in outgoing.attachments.all()]
    # The recipient processes it like any mail: a case to assign.
    assert Case.objects.get(pk=incoming.pk).status == "registered"
    # The acknowledgement names both numbers and is sealed by the recipient.
    assert services.acknowledgement_valid(envelope)
    assert f'"recipient_number":"{incoming.number}"' in envelope.acknowledgement
    envelope.acknowledgement = envelope.acknowledgement.replace(incoming.number, "A-2026-999999")
    assert not services.acknowledgement_valid(envelope)  # a changed acknowledgement does not verify


def test_delivery_happens_once_even_when_the_worker_runs_again_or_twice(
    commune: Administration, clerk: User, province: Administration
) -> None:
    envelope = send(commune, clerk, province)
    assert services.envelope_deliver(envelope.pk)
    assert not services.envelope_deliver(envelope.pk)
    assert services.envelopes_deliver() == 0
    assert Correspondence.objects.filter(administration=province).count() == 1


def test_a_crash_during_delivery_registers_nothing_and_it_is_retried_later(
    commune: Administration, clerk: User, province: Administration
) -> None:
    with clock_at("2026-11-21 10:00"):
        envelope = send(commune, clerk, province)
    crash = mock.patch.object(services, "request_register", side_effect=OSError("disk full"))
    with clock_at("2026-11-21 10:00"), crash:
        assert services.envelopes_deliver() == 0
    envelope.refresh_from_db()
    assert envelope.status == Envelope.Status.PENDING and envelope.attempts == 1 and "disk full" in envelope.last_error
    assert not Correspondence.objects.filter(administration=province).exists()  # rolled back: no number used
    with clock_at("2026-11-21 10:00:05"):
        assert services.envelopes_deliver() == 0  # not due yet: it waits its delay
    with clock_at("2026-11-21 10:01"):
        assert services.envelopes_deliver() == 1
    envelope.refresh_from_db()
    assert envelope.incoming is not None
    assert envelope.status == Envelope.Status.DELIVERED and envelope.incoming.number == "A-2026-000001"


def test_the_acknowledgement_is_sealed_after_the_registration_is_committed(
    commune: Administration, clerk: User, province: Administration
) -> None:
    envelope = send(commune, clerk, province)
    depth = len(connection.atomic_blocks)  # the test's own transaction
    seen: list[int] = []

    def seal(data: bytes, *, pki: Pki, administration_code: str) -> bytes:
        seen.append(len(connection.atomic_blocks))
        return seal_data(data, pki=pki, administration_code=administration_code)

    with mock.patch.object(acknowledgements, "seal_data", side_effect=seal):
        assert services.envelopes_deliver() == 1
    assert seen == [depth]  # no transaction of the delivery is open, nor its register's lock
    envelope.refresh_from_db()
    assert not envelope.acknowledgement_pending and services.acknowledgement_valid(envelope)


def test_a_timestamping_outage_delays_the_acknowledgement_not_the_letter(
    commune: Administration, clerk: User, province: Administration
) -> None:
    with clock_at("2026-11-21 10:00"):
        envelope = send(commune, clerk, province)
    outage = mock.patch.object(acknowledgements, "seal_data", side_effect=OSError("TSA down"))
    with clock_at("2026-11-21 10:00"), outage:
        assert services.envelopes_deliver() == 1
    envelope.refresh_from_db()
    # Registered and delivered at once; the acknowledgement waits for its seal.
    assert envelope.incoming is not None
    assert envelope.status == Envelope.Status.DELIVERED and envelope.incoming.number == "A-2026-000001"
    assert envelope.acknowledgement_pending and not services.acknowledgement_valid(envelope)
    assert services.envelopes_deliver() == 0  # never registered twice
    with clock_at("2026-11-21 10:00:10"):
        assert acknowledgements.acknowledgements_seal_pending() == 0  # fresh: left to its own process
    with clock_at("2026-11-21 10:01"):
        assert acknowledgements.acknowledgements_seal_pending() == 1  # the worker's sweep
        assert acknowledgements.acknowledgements_seal_pending() == 0
    envelope.refresh_from_db()
    assert not envelope.acknowledgement_pending and services.acknowledgement_valid(envelope)
    assert Correspondence.objects.filter(administration=province).count() == 1


def test_an_envelope_that_cannot_be_delivered_for_days_is_flagged(
    commune: Administration, clerk: User, province: Administration
) -> None:
    with clock_at("2026-11-21 10:00"):
        envelope = send(commune, clerk, province)
    with clock_at("2026-11-24 10:00"), mock.patch.object(services, "request_register", side_effect=RuntimeError("x")):
        services.envelopes_deliver()
    envelope.refresh_from_db()
    assert envelope.status == Envelope.Status.FAILED and envelope.last_error == "x"
    # The clerk who sent it is told, with the number, the recipient and the reason.
    told = Notification.objects.get(user=clerk)
    assert envelope.outgoing is not None
    assert envelope.outgoing.number in told.text and province.code in told.text and told.text.endswith(": x")
    assert told.url == f"/desk/{commune.code}/exchanges/"
    given_up = AuditEvent.objects.get(action=AuditAction.EXCHANGE_FAILED)
    assert (given_up.object_id, given_up.administration, given_up.data["reason"]) == (str(envelope.pk), commune, "x")


def test_bad_recipients_are_refused_and_nothing_is_registered(
    commune: Administration, clerk: User, province: Administration, outsider: User, elsewhere: Administration
) -> None:
    for code in ("NOPE", commune.code):
        with pytest.raises(ExchangeRefused):
            services.mail_send(actor=clerk, administration=commune, recipient_code=code, subject="x")
    from core.errors import NotFound

    with pytest.raises(NotFound):  # staff of another administration cannot send in ours
        services.mail_send(actor=outsider, administration=commune, recipient_code=province.code, subject="x")
    citizen = make_staff(province, Role.AUDITOR, "auditor@province.ma")
    with pytest.raises(NotFound):  # auditors do not send mail
        services.mail_send(actor=citizen, administration=province, recipient_code=commune.code, subject="x")
    assert not Correspondence.objects.exists() and not Envelope.objects.exists()
    assert [a.code for a in selectors.directory(exclude=commune)] == sorted([province.code, elsewhere.code])
