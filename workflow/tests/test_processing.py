"""The processing desk end to end at the service level: terms, routing, lifecycle, letters,
completion once, silence-acceptance, reminders — each refusal changing nothing."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from pytest_django import DjangoCaptureOnCommitCallbacks

from core.testing import clock_at
from documents import storage
from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from registry.models import Correspondence, Direction, SealedDocument
from registry.receipts import receipt_data
from registry.services import RegistrationRefused
from tenancy.models import Administration, Membership, Service, User
from tenancy.testing import make_service, make_staff
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted, pdfsig_available
from workflow import reminders, services
from workflow.models import Case, CaseEvent, Notification, Procedure, Reminder, Reply, RoutingRule, Status
from workflow.services import ActionRefused, LetterText
from workflow.testing import deposit, make_procedure

Role = Membership.Role


@pytest.fixture
def urb(commune: Administration) -> Service:
    return make_service(commune, "URB", name_ar="مصلحة التعمير", name_fr="Service de l'urbanisme")


@pytest.fixture
def procedure(commune: Administration, urb: Service) -> Procedure:
    return make_procedure(commune, service=None)


def test_a_request_naming_a_procedure_gets_its_due_date_and_silence_rule_on_the_receipt(
    commune: Administration, citizen: User, procedure: Procedure
) -> None:
    with clock_at("2026-03-02 10:00"):  # a Monday; 30 calendar days → 2026-04-01, a Wednesday
        registration = deposit(commune, citizen, procedure="urb-pc")
    c = registration.correspondence
    case = Case.objects.get(pk=c.pk)
    assert (case.status, case.procedure, case.due_on) == (Status.REGISTERED, procedure, date(2026, 4, 1))
    assert c.terms == {
        "procedure_code": "URB-PC",
        "procedure_name_ar": "رخصة البناء",
        "procedure_name_fr": "Autorisation de construire",
        "delay_days": 30,
        "delay_kind": "calendar",
        "due_on": "2026-04-01",
        "silence_rule": "acceptance",
    }
    assert registration.receipt is not None
    data = receipt_data(c, registration.attachments, registration.receipt.token)
    assert data["terms"]["due_on"] == "2026-04-01" and data["tracking_code"] == c.tracking_code
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}", c.tracking_code)


def test_without_a_procedure_the_general_delay_of_60_days_applies(commune: Administration, citizen: User) -> None:
    with clock_at("2026-03-02 10:00"):  # + 60 days = 2026-05-01, Labour Day → Monday 2026-05-04
        c = deposit(commune, citizen).correspondence
    assert Case.objects.get(pk=c.pk).due_on == date(2026, 5, 4)
    assert c.terms["silence_rule"] == "none" and c.terms["procedure_code"] == ""


def test_an_unknown_procedure_is_refused_and_uses_no_number(
    commune: Administration, citizen: User, procedure: Procedure
) -> None:
    with pytest.raises(RegistrationRefused) as refused:
        deposit(commune, citizen, procedure="NOPE")
    assert refused.value.code == "unknown_procedure" and refused.value.field == "procedure"
    assert not Correspondence.objects.exists() and not Case.objects.exists()
    assert deposit(commune, citizen).correspondence.sequence == 1


def test_a_procedure_of_another_administration_is_refused(
    commune: Administration, elsewhere: Administration, citizen: User
) -> None:
    make_procedure(elsewhere, "OTHER")
    with pytest.raises(RegistrationRefused):
        deposit(commune, citizen, procedure="OTHER")


def test_rules_route_new_requests_by_keyword_and_by_procedure(
    commune: Administration, citizen: User, urb: Service, procedure: Procedure
) -> None:
    other = make_service(commune, "EC")
    RoutingRule.objects.create(administration=commune, keywords="حالة مدنية, état civil", service=other, position=1)
    by_keyword = deposit(commune, citizen, subject="Demande d'un extrait d'ÉTAT CIVIL").correspondence
    assert (by_keyword.case.status, by_keyword.case.service) == (Status.ASSIGNED, other)
    procedure.service = urb
    procedure.save()
    by_procedure = deposit(commune, citizen, procedure="URB-PC", subject="رخصة").correspondence
    assert Case.objects.get(pk=by_procedure.pk).service == urb
    kinds = list(CaseEvent.objects.filter(case_id=by_procedure.pk).values_list("kind", flat=True))
    assert kinds == ["registered", "routed"]
    unrouted = deposit(commune, citizen, subject="Autre chose").correspondence
    assert Case.objects.get(pk=unrouted.pk).status == Status.REGISTERED


def _full_case(commune: Administration, citizen: User, procedure: Procedure) -> Correspondence:
    with clock_at("2026-03-02 10:00"):
        return deposit(commune, citizen, procedure="URB-PC").correspondence


def test_the_whole_lifecycle_with_one_completion_and_a_sealed_answer(
    commune: Administration,
    citizen: User,
    clerk: User,
    head: User,
    agent: User,
    urb: Service,
    procedure: Procedure,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    c = _full_case(commune, citizen, procedure)
    copy_service = make_service(commune, "ECO")
    with clock_at("2026-03-03 09:00"):
        services.case_assign(actor=clerk, case_id=c.pk, service=urb, copies=[copy_service], note="Urgent")
        services.case_assign_agent(actor=head, case_id=c.pk, agent=_member_of(agent, commune, urb))
        services.case_start(actor=agent, case_id=c.pk)
        documents = list(procedure.documents.order_by("position"))
        services.case_request_completion(actor=agent, case_id=c.pk, document_ids=[documents[0].pk])
    case = Case.objects.get(pk=c.pk)
    assert case.status == Status.AWAITING_COMPLETION and case.suspended_on == date(2026, 3, 3)
    completion_letter = Reply.objects.get(case=case, kind=Reply.Kind.COMPLETION)
    assert completion_letter.items[0]["name_fr"] == "Plans architecturaux"
    with clock_at("2026-03-03 11:00"), pytest.raises(ActionRefused) as again:
        services.case_request_completion(actor=agent, case_id=c.pk, document_ids=[documents[1].pk])
    assert (again.value.code, again.value.status) == ("completion_already_requested", 409)
    with clock_at("2026-03-13 15:00"):  # ten calendar days later
        completion = services.case_complete(
            actor=citizen, case_id=c.pk, files=check_files([bytes_upload(pdf_bytes(text="plans"), "plans.pdf")])
        )
    case.refresh_from_db()
    assert (case.status, case.suspended_days, case.due_on) == (Status.IN_PROGRESS, 10, date(2026, 4, 13))
    assert completion.correspondence.in_reply_to_id == c.pk and completion.correspondence.direction == "incoming"
    with clock_at("2026-03-16 10:00"), django_capture_on_commit_callbacks(execute=True):
        reply = services.case_reply(
            actor=agent, case_id=c.pk, text=LetterText(body_ar="نوافق على طلبكم", body_fr="Accord.")
        )
    case.refresh_from_db()
    assert case.status == Status.ANSWERED
    outgoing = reply.outgoing
    assert outgoing.direction == Direction.OUTGOING and outgoing.in_reply_to_id == c.pk
    assert [o.number for o in Correspondence.objects.filter(direction="outgoing").order_by("sequence")] == [
        "D-2026-000001",
        "D-2026-000002",
    ]
    letter = SealedDocument.objects.get(correspondence=outgoing)
    assert letter.blob_id is not None
    pdf = storage.read_bytes(letter.blob_id)
    if pdfsig_available():
        assert_pdfsig_trusted(pdf, ca_certificate_pem())
    answered_mail = [m for m in mail.outbox if outgoing.number in m.body]
    assert answered_mail and answered_mail[0].attachments[0][0] == f"{outgoing.number}.pdf"
    assert Notification.objects.filter(user=citizen).exists()
    services.case_close(actor=agent, case_id=c.pk)
    with pytest.raises(ActionRefused) as closed:
        services.case_reply(actor=agent, case_id=c.pk, text=LetterText(body_fr="encore"))
    assert closed.value.code == "forbidden_transition" and closed.value.status == 409
    assert Correspondence.objects.filter(direction="outgoing").count() == 2  # nothing registered
    public = list(CaseEvent.objects.filter(case=case, public=True).values_list("kind", flat=True))
    assert public == ["registered", "assigned", "started", "completion_requested", "completed", "answered", "closed"]


def _member_of(user: User, administration: Administration, service: Service) -> User:
    Membership.objects.filter(user=user, administration=administration).update(service=service)
    return user


def test_only_catalogue_documents_not_held_elsewhere_can_be_requested(
    commune: Administration, citizen: User, agent: User, procedure: Procedure, urb: Service
) -> None:
    c = _full_case(commune, citizen, procedure)
    clerk = make_staff(commune, Role.CLERK, "c2@commune.ma")
    services.case_assign(actor=clerk, case_id=c.pk, service=urb)
    held = procedure.documents.get(held_by_code="ANCFCC")
    other = make_procedure(commune, "OTHER").documents.first()
    assert other is not None
    for ids, code in (
        ([held.pk], "document_held_elsewhere"),
        ([other.pk], "document_not_in_catalogue"),
        ([], "documents_required"),
    ):
        with pytest.raises(ActionRefused) as refused:
            services.case_request_completion(actor=agent, case_id=c.pk, document_ids=ids)
        assert refused.value.code == code
    case = Case.objects.get(pk=c.pk)
    assert case.status == Status.ASSIGNED and not case.completion_requested
    assert not Correspondence.objects.filter(direction="outgoing").exists()


def test_heads_reassign_only_within_their_subtree_and_outsiders_not_at_all(
    commune: Administration, citizen: User, clerk: User, outsider: User, elsewhere: Administration
) -> None:
    dgs = make_service(commune, "DGS")
    urb = make_service(commune, "URB", parent=dgs)
    ec = make_service(commune, "EC")
    head = make_staff(commune, Role.HEAD, "h@commune.ma")
    Membership.objects.filter(user=head).update(service=dgs)
    c = deposit(commune, citizen).correspondence
    services.case_assign(actor=clerk, case_id=c.pk, service=dgs)
    services.case_assign(actor=head, case_id=c.pk, service=urb)
    with pytest.raises(ActionRefused) as outside:
        services.case_assign(actor=head, case_id=c.pk, service=ec)
    assert outside.value.code == "forbidden"
    foreign = make_service(elsewhere, "X")
    with pytest.raises(ActionRefused) as wrong:
        services.case_assign(actor=clerk, case_id=c.pk, service=foreign)
    assert wrong.value.code == "unknown_service"
    with pytest.raises(ActionRefused) as hidden:
        services.case_assign(actor=outsider, case_id=c.pk, service=foreign)
    assert hidden.value.status == 404
    assert Case.objects.get(pk=c.pk).service == urb


def test_sending_back_needs_a_reason_and_returns_to_the_mail_office(
    commune: Administration, citizen: User, clerk: User, agent: User, urb: Service
) -> None:
    c = deposit(commune, citizen).correspondence
    services.case_assign(actor=clerk, case_id=c.pk, service=urb)
    with pytest.raises(ActionRefused):
        services.case_send_back(actor=agent, case_id=c.pk, reason="  ")
    services.case_send_back(actor=agent, case_id=c.pk, reason="Ne relève pas de notre service")
    case = Case.objects.get(pk=c.pk)
    assert (case.status, case.service) == (Status.REGISTERED, None)
    assert CaseEvent.objects.get(case=case, kind="sent_back").text == "Ne relève pas de notre service"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.REGISTERED, "start"),
        (Status.REGISTERED, "answer"),
        (Status.REGISTERED, "close"),
        (Status.ASSIGNED, "close"),
        (Status.ANSWERED, "answer"),
        (Status.CLOSED, "assign"),
        (Status.REJECTED, "reject"),
        (Status.AWAITING_COMPLETION, "answer"),
        (Status.IN_PROGRESS, "complete"),
    ],
)
def test_forbidden_transitions_are_refused(status: str, action: str) -> None:
    with pytest.raises(ActionRefused) as refused:
        services.next_status(status, action)
    assert refused.value.status == 409


def test_every_status_is_reachable_and_terminal_ones_stay_terminal() -> None:
    reachable: set[str] = {Status.REGISTERED}
    for transitions in services.TRANSITIONS.values():
        reachable |= set(transitions.values())
    assert reachable == set(Status.values)
    for transitions in services.TRANSITIONS.values():
        assert Status.REJECTED not in transitions and Status.CLOSED not in transitions


def test_a_rejection_states_its_reasons_in_a_sealed_letter(
    commune: Administration, citizen: User, clerk: User, agent: User, urb: Service
) -> None:
    c = deposit(commune, citizen).correspondence
    services.case_assign(actor=clerk, case_id=c.pk, service=urb)
    with pytest.raises(ActionRefused):
        services.case_reply(actor=agent, case_id=c.pk, text=LetterText(), reject=True)
    reply = services.case_reply(
        actor=agent,
        case_id=c.pk,
        text=LetterText(body_fr="Dossier hors délai.", recourse_fr="Recours auprès du président."),
        reject=True,
    )
    assert reply.kind == Reply.Kind.REJECTION and Case.objects.get(pk=c.pk).status == Status.REJECTED


def test_silence_becomes_acceptance_after_the_delay_and_the_attestation_is_sealed_once(
    commune: Administration, citizen: User, procedure: Procedure
) -> None:
    c = _full_case(commune, citizen, procedure)  # due 2026-04-01
    with clock_at("2026-04-01 16:00"), pytest.raises(ActionRefused) as early:
        services.attestation_issue(actor=citizen, case_id=c.pk)
    assert early.value.code == "no_silence_acceptance"
    assert not SealedDocument.objects.exists()
    with clock_at("2026-04-02 08:00"):
        document = services.attestation_issue(actor=citizen, case_id=c.pk)
        assert services.attestation_issue(actor=citizen, case_id=c.pk).pk == document.pk
        assert services.silence_acceptance_on(Case.objects.get(pk=c.pk), date(2026, 4, 2)) == date(2026, 4, 2)
    assert document.blob_id is not None
    pdf = storage.read_bytes(document.blob_id)
    if pdfsig_available():
        assert_pdfsig_trusted(pdf, ca_certificate_pem())


def test_no_attestation_when_silence_means_nothing_or_the_request_was_answered(
    commune: Administration, citizen: User
) -> None:
    c = deposit(commune, citizen).correspondence  # general delay, no silence rule
    with clock_at("2027-01-01 10:00"), pytest.raises(ActionRefused):
        services.attestation_issue(actor=citizen, case_id=c.pk)


def test_reminders_are_sent_once_even_when_the_sweep_runs_again(
    commune: Administration, citizen: User, clerk: User, head: User, agent: User, urb: Service, procedure: Procedure
) -> None:
    c = _full_case(commune, citizen, procedure)  # registered 2026-03-02, due 2026-04-01
    services.case_assign(actor=clerk, case_id=c.pk, service=urb)
    services.case_assign_agent(actor=head, case_id=c.pk, agent=_member_of(agent, commune, urb))
    Membership.objects.filter(user=head, administration=commune).update(service=urb)
    case = Case.objects.get(pk=c.pk)
    assert (case.remind_point, case.remind_on) == ("half", date(2026, 3, 17))
    assert reminders.reminders_send(today=date(2026, 3, 16)) == 0
    assert reminders.reminders_send(today=date(2026, 3, 17)) == 2  # the agent and the head
    assert reminders.reminders_send(today=date(2026, 3, 17)) == 0
    assert reminders.reminders_send(today=date(2026, 4, 10)) == 4  # "5 days before" and "overdue", late
    assert reminders.reminders_send(today=date(2026, 4, 11)) == 0
    assert sorted(Reminder.objects.values_list("point", flat=True)) == ["5", "5", "half", "half", "overdue", "overdue"]
    assert Case.objects.get(pk=c.pk).remind_on is None
    # The e-mails went out with each sweep (tasks run inline in tests), each once.
    assert not Reminder.objects.filter(emailed_at__isnull=True).exists()
    assert len([m for m in mail.outbox if m.to[0] in (agent.email, head.email)]) == 6
    assert reminders.reminders_email() == 0


def test_a_sweep_that_crashes_halfway_loses_nothing_and_sends_nothing_twice(
    commune: Administration, citizen: User, clerk: User, agent: User, urb: Service
) -> None:
    Membership.objects.filter(user=agent, administration=commune).update(service=urb)
    for i in range(5):
        c = deposit(commune, citizen, subject=f"طلب {i}").correspondence
        services.case_assign(actor=clerk, case_id=c.pk, service=urb)
        services.case_start(actor=agent, case_id=c.pk)
    real = Notification.objects.bulk_create
    calls: list[int] = []

    def flaky(objs: list[Notification], *args: Any, **kwargs: Any) -> list[Notification]:
        calls.append(len(objs))
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(objs, *args, **kwargs)

    last = Case.objects.order_by("remind_on").last()
    assert last is not None
    today = last.remind_on
    with mock.patch.object(Notification.objects, "bulk_create", side_effect=flaky), pytest.raises(RuntimeError):
        reminders.reminders_send(today=today, batch_size=2)
    assert Reminder.objects.count() == 2  # the first batch only: the second rolled back whole
    reminders.reminders_send(today=today, batch_size=2)
    assert Reminder.objects.count() == 5
    assert Reminder.objects.values("case", "point", "user").distinct().count() == 5


def test_the_receipt_mail_is_the_only_message_at_registration(
    commune: Administration, citizen: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        registration = deposit(commune, citizen)
        from registry.receipts import receipt_issue_registered

        receipt_issue_registered(registration)
    assert len(mail.outbox) == 1


def test_an_answer_whose_letter_cannot_be_sealed_stays_registered_and_the_worker_seals_it_later(
    commune: Administration, citizen: User, clerk: User, agent: User, urb: Service
) -> None:
    from registry.integrity import verify_administration_log
    from workflow.services.sealing import sealed_documents_make_pending

    with clock_at("2026-03-02 10:00") as clock:
        c = deposit(commune, citizen).correspondence
        services.case_assign(actor=clerk, case_id=c.pk, service=urb)
        mail.outbox.clear()
        with mock.patch("workflow.letters.letter_pdf", side_effect=RuntimeError("typst down")):
            reply = services.case_reply(actor=agent, case_id=c.pk, text=LetterText(body_fr="Accord"))
        # The answer is registered (its number is used, no gap) and the case answered; the
        # letter waits, its failure counted where operators see it.
        assert reply.outgoing.number.endswith("000001")
        assert Case.objects.get(pk=c.pk).status == Status.ANSWERED
        letter = SealedDocument.objects.get(correspondence=reply.outgoing, kind="letter")
        assert (letter.blob_id, letter.attempts, letter.last_error) == (None, 1, "RuntimeError: typst down")
        assert not reply.outgoing.attachments.exists()
        assert mail.outbox == []  # the e-mail carries the letter: it waits for it
        assert verify_administration_log(commune) is None  # pending is not tampering
        clock.advance(minutes=1)
        assert sealed_documents_make_pending() == 1
    letter.refresh_from_db()
    assert letter.blob_id is not None and letter.attempts == 2 and letter.last_error == ""
    assert [a.blob_id for a in reply.outgoing.attachments.all()] == [letter.blob_id]
    assert [m.attachments[0][0] for m in mail.outbox] == [f"{reply.outgoing.number}.pdf"]
    assert verify_administration_log(commune) is None
    assert sealed_documents_make_pending() == 0


def test_an_internal_note_goes_through_both_registers_and_lands_in_the_receiving_service(
    commune: Administration, agent: User, clerk: User
) -> None:
    from registry.integrity import verify_administration_log

    central = make_service(commune, "DGS")
    annex = make_service(commune, "ANNEXE-1", kind="decentralised")
    Membership.objects.filter(user=agent, administration=commune).update(service=central)
    received = services.internal_note_send(
        actor=agent,
        administration=commune,
        from_service=central,
        to_service=annex,
        subject="Instructions pour la campagne de recensement",
        text=LetterText(body_fr="Merci de transmettre les listes avant le 30."),
    )
    note = received.correspondence
    assert note.in_reply_to is not None
    assert note.direction == "incoming" and note.channel == "internal" and note.in_reply_to.direction == "outgoing"
    case = Case.objects.get(pk=note.pk)
    assert (case.status, case.service) == (Status.ASSIGNED, annex)
    assert SealedDocument.objects.filter(correspondence=note.in_reply_to, kind="letter").exists()
    with pytest.raises(ActionRefused) as refused:
        services.internal_note_send(
            actor=agent,
            administration=commune,
            from_service=annex,
            to_service=central,
            subject="x",
            text=LetterText(body_fr="x"),
        )
    assert refused.value.code == "forbidden"
    assert verify_administration_log(commune) is None
