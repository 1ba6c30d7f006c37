"""Law 55-19's delays are owed to users: a letter from an administration (the exchange, an
internal note, counter mail whose sender is an administration) carries none — no due date on
its receipt or its case, no reminder, never late — unless it names a procedure of the
catalogue, whose published terms then apply."""

from __future__ import annotations

import html
import importlib
import re
from datetime import date

import pytest
from django.apps import apps
from django.test import Client

from core.testing import clock_at
from documents import storage
from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from documents.testing import pdf_text
from exchange import services as exchange
from registry.models import Channel, Correspondence
from registry.receipts import receipt_data, receipt_issue
from registry.services import Party
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_administration, make_service
from workflow import services
from workflow.models import Case, Status
from workflow.services import LetterText, request_register
from workflow.testing import deposit, make_procedure

Role = Membership.Role


@pytest.fixture
def province(db: None) -> Administration:
    return make_administration("PROVINCE-TEST", name_ar="عمالة الاختبار", name_fr="Province de Test")


def _no_delay(case: Case) -> None:
    assert (case.delay_days, case.delay_kind, case.due_on) == (None, "", None)
    assert (case.silence_rule, case.remind_on, case.remind_point) == ("none", None, "")


def _counter_letter(commune: Administration, clerk: User, *, kind: str, procedure: str = "") -> Correspondence:
    return request_register(
        actor=clerk,
        administration=commune,
        channel=Channel.COUNTER,
        sender=Party(kind=kind, name="Agence urbaine de Test"),
        subject="Avis sur le plan d'aménagement",
        files=check_files([bytes_upload(pdf_bytes(text="avis"), "avis.pdf")]),
        procedure_code=procedure,
    ).correspondence


def test_a_letter_delivered_by_the_exchange_has_no_due_date_on_its_case_or_its_receipt(
    commune: Administration, clerk: User, province: Administration
) -> None:
    with clock_at("2026-03-02 10:00"):
        envelope = exchange.mail_send(
            actor=clerk,
            administration=commune,
            recipient_code=province.code,
            subject="Demande d'avis technique",
            body="Nous sollicitons votre avis.",
            files=check_files([bytes_upload(pdf_bytes(text="avis"), "lettre.pdf")]),
        )
        assert exchange.envelopes_deliver() == 1
    envelope.refresh_from_db()
    incoming = envelope.incoming
    assert incoming is not None and incoming.receipt is not None
    assert incoming.terms == {}
    case = Case.objects.get(pk=incoming.pk)
    assert case.status == Status.REGISTERED
    _no_delay(case)
    receipt = receipt_issue(receipt_id=incoming.receipt.pk)
    assert receipt_data(incoming, list(incoming.attachments.all()), receipt.token)["terms"] is None
    assert receipt.blob_id is not None
    text = " ".join(pdf_text(storage.read_bytes(receipt.blob_id)).split())
    assert "Délai" not in text and "Date limite" not in text and "délai de traitement" not in text
    assert "Récépissé délivré en application de la loi n° 55-19" in text


def test_counter_mail_from_an_administration_has_no_delay_unless_it_names_a_procedure(
    commune: Administration, clerk: User, citizen: User
) -> None:
    with clock_at("2026-03-02 10:00"):
        letter = _counter_letter(commune, clerk, kind="administration")
        person = _counter_letter(commune, clerk, kind="person")
        make_procedure(commune)  # URB-PC: 30 calendar days, silence means acceptance
        permit = _counter_letter(commune, clerk, kind="administration", procedure="URB-PC")
    _no_delay(Case.objects.get(pk=letter.pk))
    assert letter.terms == {}
    # A person's letter without a procedure keeps the general delay of 60 days.
    assert Case.objects.get(pk=person.pk).due_on == date(2026, 5, 4) and person.terms["delay_days"] == 60
    assert person.receipt is not None
    receipt = receipt_issue(receipt_id=person.receipt.pk)
    assert receipt.blob_id is not None
    assert "Le délai de traitement court" in " ".join(pdf_text(storage.read_bytes(receipt.blob_id)).split())
    # An administration requesting under a procedure of the catalogue gets its published terms.
    case = Case.objects.get(pk=permit.pk)
    assert (case.delay_days, case.due_on, case.silence_rule) == (30, date(2026, 4, 1), "acceptance")
    assert permit.terms["due_on"] == "2026-04-01"


def test_an_internal_note_between_services_has_no_delay(commune: Administration, agent: User) -> None:
    central = make_service(commune, "DGS")
    annex = make_service(commune, "ANNEXE-1", kind="decentralised")
    Membership.objects.filter(user=agent, administration=commune).update(service=central)
    received = services.internal_note_send(
        actor=agent,
        administration=commune,
        from_service=central,
        to_service=annex,
        subject="Instructions",
        text=LetterText(body_fr="Merci."),
    )
    assert received.correspondence.terms == {}
    _no_delay(Case.objects.get(pk=received.correspondence.pk))


def test_the_desk_never_counts_such_a_letter_late_and_says_it_has_no_legal_delay(
    commune: Administration, clerk: User, citizen: User
) -> None:
    with clock_at("2026-03-02 10:00"):
        letter = _counter_letter(commune, clerk, kind="administration")
        request = deposit(commune, citizen).correspondence
    client = Client(headers={"Accept-Language": "fr"})
    client.force_login(clerk)
    with clock_at("2026-09-01 10:00"):  # half a year later
        overdue = client.get(f"/desk/{commune.code}/inbox/?box=overdue").content.decode()
        page = html.unescape(client.get(f"/desk/{commune.code}/c/{letter.pk}/").content.decode()).replace("\u00a0", " ")
    assert request.number in overdue and letter.number not in overdue
    assert fact(page, "Délai légal") == (
        "Aucun : lettre d'une administration (la loi 55-19 fixe des délais pour les demandes des usagers)"
    )
    assert fact(page, "Procédure") == "Aucune précisée" and fact(page, "Échéance") == "—"
    assert "jours de retard" not in page


def fact(page: str, label: str) -> str:
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd>(.*?)</dd>", page, re.DOTALL)
    assert found is not None, label
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_the_migration_clears_the_delay_given_by_mistake_to_letters_from_administrations(
    commune: Administration, clerk: User, citizen: User
) -> None:
    with clock_at("2026-03-02 10:00"):
        letter = _counter_letter(commune, clerk, kind="administration")
        request = deposit(commune, citizen).correspondence
    # As the cases were opened before: 60 days, a due date and a reminder to come.
    Case.objects.filter(pk=letter.pk).update(
        delay_days=60, delay_kind="calendar", due_on=date(2026, 5, 4), remind_on=date(2026, 4, 2), remind_point="half"
    )
    before = Case.objects.values().get(pk=request.pk)
    migration = importlib.import_module("workflow.migrations.0011_case_without_delay")
    migration.clear_delays(apps, None)
    _no_delay(Case.objects.get(pk=letter.pk))
    assert Case.objects.values().get(pk=request.pk) == before
