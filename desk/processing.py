"""Staff pages of the processing desk: inboxes, a case's actions, replies."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from core.bidi import isolated
from core.clock import now
from core.errors import NotFound, Refused
from core.forms import report_form_errors
from core.uploads import upload_accepted, upload_refused
from desk.forms import (
    AgentForm,
    AssignForm,
    BulkAssignForm,
    CompletionForm,
    InboxFilterForm,
    InternalNoteForm,
    NoteForm,
    ReasonForm,
    ReplyForm,
)
from desk.once_only import held_items
from desk.operations import operation_on
from desk.tabs import desk_scope
from documents import storage
from parapheur.services import reply_submit
from registry.downloads import sealed_document_response
from tenancy.access import Scope
from tenancy.http import SignedInRequest
from tenancy.permissions import Action
from workflow import selectors as wf
from workflow import services
from workflow.calendar import local_date
from workflow.letters import template_prefill
from workflow.models import Case, LetterTemplate, Status
from workflow.services import ActionRefused, LetterText


def _scope(request: SignedInRequest, code: str) -> Scope:
    return desk_scope(request, code)


PAGE_SIZE = 50  # inbox rows per page


@login_required
def inbox(request: SignedInRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    administration = scope.administration
    box = request.GET.get("box", "")
    if box not in wf.BOXES:
        box = "to_assign" if scope.may(Action.ROUTE) else "in_progress"
    procedures = wf.procedure_choices(administration)
    filters = InboxFilterForm(request.GET or None, services=scope.active_services, procedures=procedures)
    criteria: dict[str, Any] = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
    service = criteria.get("service")
    procedure = criteria.get("procedure")
    mine = bool(criteria.get("mine"))
    today = local_date(now())
    calendar = services.calendar_for(administration)
    soon = wf.due_soon_limit(calendar, today)
    service_id = service.pk if service else None
    counts = wf.box_counts(scope, today=today, soon=soon, service_id=service_id, mine=mine)
    cases = wf.inbox(
        scope,
        box,
        today=today,
        soon=soon,
        service_id=service_id,
        mine=mine,
        procedure_id=procedure.pk if procedure else None,
        sort=criteria.get("sort") or "due",
    )
    # The box's count is the list's, unless the list is narrowed further.
    known = counts[box] if procedure is None else None
    page = CappedPaginator(cases.values_list("pk", flat=True), PAGE_SIZE, count=known).get_page(request.GET.get("page"))
    rows = _rows(wf.inbox_rows(list(page.object_list)), scope, procedures, today)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("box", None)
    can_bulk = scope.may(Action.ROUTE) or scope.supervises is None or bool(scope.supervises)
    return render(
        request,
        "desk/inbox.html",
        {
            "administration": administration,
            "section": "inbox",
            "box": box,
            "cap": wf.COUNT_CAP,
            "boxes": _box_labels(counts),
            "filters": filters,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "bulk_form": BulkAssignForm(services=scope.active_services, auto_id="bulk_%s") if can_bulk else None,
        },
    )


class CappedPaginator(Paginator):  # type: ignore[type-arg]
    """Pages over at most ``COUNT_CAP`` + 1 items: counting a whole register to show page 1
    costs more than the page itself; filters narrow the rest. ``count``: the number when the
    caller already knows it."""

    def __init__(self, object_list: Any, per_page: int, *, count: int | None = None) -> None:
        super().__init__(object_list, per_page)
        if count is not None:
            self.__dict__["count"] = min(count, wf.COUNT_CAP + 1)

    @cached_property
    def count(self) -> int:
        return wf.capped_count(self.object_list)  # type: ignore[arg-type]


def _rows(cases: list[dict[str, Any]], scope: Scope, procedures: list[Any], today: date) -> list[dict[str, Any]]:
    """An inbox page's rows, ready to print: the template only places them."""
    service_names = {service.pk: service.name for service in scope.services}
    procedure_codes = {procedure.pk: procedure.code for procedure in procedures}
    statuses = {value: str(label) for value, label in Status.choices}
    # One URL reversed, the others made from it: the same address for every row but the number.
    marker = 987654321
    url = reverse("desk:correspondence", args=[scope.administration.code, marker])
    rows = []
    for case in cases:
        note, tone = due_note(case["status"], case["due_on"], today)
        rows.append(
            {
                "pk": case["pk"],
                "url": url.replace(str(marker), str(case["pk"])),
                "number": case["correspondence__number"],
                "confidential": case["confidential"],
                "subject": Truncator(case["correspondence__subject"]).chars(80),
                "procedure": procedure_codes.get(case["procedure_id"], ""),
                "sender": case["correspondence__sender_name"],
                "status": statuses.get(case["status"], case["status"]),
                "agent": case["agent__full_name"] or "",
                "service": service_names.get(case["service_id"], "—"),
                "due_on": case["due_on"].isoformat() if case["due_on"] else "",
                "note": note,
                "tone": tone,
                "silence": tone == "bad" and case["silence_rule"] == "acceptance",
            }
        )
    return rows


def due_note(status: str, due_on: date | None, today: date) -> tuple[str, str]:
    """What the due date means today, and its tone: suspended, late (bad), or days left."""
    summary = wf.case_summary(status=status, due_on=due_on, today=today)
    if summary.days_left is None:
        return "", ""
    if summary.stage == wf.Stage.SUSPENDED:
        return _("Clock suspended"), "warn"
    if not summary.running:
        return "", ""
    if summary.days_late:
        days = summary.days_late
        return ngettext("%(days)s day late", "%(days)s days late", days) % {"days": days}, "bad"
    days = summary.days_left
    return ngettext("%(days)s day left", "%(days)s days left", days) % {"days": days}, "muted"


def _box_labels(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    labels = {
        "to_assign": _("To assign"),
        "in_progress": _("In progress"),
        "due_soon": _("Due soon"),
        "overdue": _("Overdue"),
        "in_copy": _("In copy"),
        "done": _("Answered"),
    }
    return [(box, labels[box], counts[box]) for box in wf.BOXES]


@login_required
@require_POST
def bulk_assign(request: SignedInRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    form = BulkAssignForm(request.POST, services=scope.active_services)
    back = reverse("desk:inbox", args=[code]) + "?" + request.POST.get("back", "")
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect(back)
    visible = set(wf.visible_cases(scope).filter(pk__in=form.cleaned_data["cases"]).values_list("pk", flat=True))
    ids = [i for i in form.cleaned_data["cases"] if i in visible]
    done, problems = services.cases_assign(actor=scope.user, case_ids=ids, service=form.cleaned_data["service"])
    hidden = len(form.cleaned_data["cases"]) - len(ids)
    if done:
        messages.success(request, _("%(count)d correspondence assigned.") % {"count": done})
    for problem in problems[:20]:
        messages.error(request, problem)
    if hidden:
        messages.error(request, _("%(count)d selected items could not be found.") % {"count": hidden})
    return redirect(back)


def case_context(scope: Scope, case: Case) -> dict[str, Any]:
    """What the correspondence page shows about its case, and the actions offered."""
    administration = scope.administration
    today = local_date(now())
    actions = services.offered_actions(scope, case)
    summary = wf.case_summary(status=case.status, due_on=case.due_on, today=today)
    context: dict[str, Any] = {
        "case": case,
        "timeline": wf.timeline(case),
        "copies": case.copies.select_related("service").order_by("added_at"),
        "replies": wf.replies_of(case),
        "actions": actions,
        "days_left": summary.days_left,
        "summary": summary,
        "silence_accepted_on": services.silence_acceptance_on(case, today),
        "attestation": wf.attestation_of(case.pk),
    }
    if actions["assign"]:
        context["assign_form"] = AssignForm(
            administration=administration, initial={"service": case.service_id}, prefix="assign"
        )
    if actions["send_back"]:
        context["send_back_form"] = ReasonForm(prefix="back")
    if actions["assign_agent"]:
        context["agent_form"] = AgentForm(candidates=services.agent_candidates(case), prefix="agent")
    if actions["request_completion"] and case.procedure is not None:
        completion = CompletionForm(
            documents=list(case.procedure.documents.all()),
            templates=_templates(scope.administration),
            prefix="completion",
        )
        if completion.offers_documents:  # not when every document is held by another administration
            context["completion_form"] = completion
    if actions["note"]:
        context["note_form"] = NoteForm(prefix="note")
    context.update(held_items(case, may_ask=actions["request_completion"]))
    return context


def _templates(administration: Any) -> list[LetterTemplate]:
    """The administration's active letter templates, to start a letter from."""
    return wf.active_letter_templates(administration)


# One view per operation on a case (desk/operations.py).
case_operation = operation_on(wf.case_for, "desk:correspondence", ActionRefused)


@case_operation
def case_assign(request: SignedInRequest, scope: Scope, case: Case) -> Form:
    form = AssignForm(request.POST, administration=scope.administration, prefix="assign")
    if form.is_valid():
        services.case_assign(
            actor=scope.user,
            case_id=case.pk,
            service=form.cleaned_data["service"],
            copies=list(form.cleaned_data["copies"]),
            note=form.cleaned_data["note"],
        )
        messages.success(
            request, _("Assigned to %(service)s.") % {"service": isolated(form.cleaned_data["service"].name)}
        )
    return form


@case_operation
def case_send_back(request: SignedInRequest, scope: Scope, case: Case) -> Form:
    form = ReasonForm(request.POST, prefix="back")
    if form.is_valid():
        services.case_send_back(actor=scope.user, case_id=case.pk, reason=form.cleaned_data["reason"])
        messages.success(request, _("Sent back to the mail office."))
    return form


@case_operation
def case_assign_agent(request: SignedInRequest, scope: Scope, case: Case) -> Form:
    form = AgentForm(request.POST, candidates=services.agent_candidates(case), prefix="agent")
    if form.is_valid():
        services.case_assign_agent(actor=scope.user, case_id=case.pk, agent=form.cleaned_data["agent"])
        messages.success(request, _("Assigned to %(name)s.") % {"name": isolated(form.cleaned_data["agent"].full_name)})
    return form


@case_operation
def case_start(request: SignedInRequest, scope: Scope, case: Case) -> None:
    services.case_start(actor=scope.user, case_id=case.pk)
    messages.success(request, _("Handling started."))


@case_operation
def case_request_completion(request: SignedInRequest, scope: Scope, case: Case) -> Form:
    documents = list(case.procedure.documents.all()) if case.procedure else []
    form = CompletionForm(
        request.POST, documents=documents, templates=_templates(scope.administration), prefix="completion"
    )
    if form.is_valid():
        data = form.cleaned_data
        template = data.get("template")
        text = LetterText(body_ar=data["body_ar"], body_fr=data["body_fr"])
        if template is not None and not (text.body_ar.strip() or text.body_fr.strip()):
            filled = template_prefill(template, case.correspondence, service=case.service, procedure=case.procedure)
            text = LetterText(body_ar=filled["body_ar"], body_fr=filled["body_fr"])
        reply = services.case_request_completion(
            actor=scope.user, case_id=case.pk, document_ids=data["documents"], text=text, template=template
        )
        messages.success(
            request,
            _("Documents requested by letter %(number)s; the clock is suspended.") % {"number": reply.outgoing.number},
        )
    return form


@case_operation
def case_close(request: SignedInRequest, scope: Scope, case: Case) -> None:
    services.case_close(actor=scope.user, case_id=case.pk)
    messages.success(request, _("Closed."))


@case_operation
def case_note(request: SignedInRequest, scope: Scope, case: Case) -> Form:
    form = NoteForm(request.POST, prefix="note")
    if form.is_valid():
        services.case_comment(actor=scope.user, case_id=case.pk, text=form.cleaned_data["text"])
        messages.success(request, _("Note added."))
    return form


@login_required
@require_http_methods(["GET", "POST"])
def reply(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    scope = _scope(request, code)
    case = wf.case_for(scope, pk)
    administration = scope.administration
    initial: dict[str, Any] = {}
    chosen = request.GET.get("template")
    if chosen and chosen.isdigit():
        template = wf.letter_template_for(administration, int(chosen), only_active=True)
        initial = {
            "template": template.pk,
            **template_prefill(template, case.correspondence, service=case.service, procedure=case.procedure),
        }
        if template.recourse_ar.strip() or template.recourse_fr.strip():
            initial["decision"] = "reject"  # only a rejection states a route of recourse
    form = ReplyForm(request.POST or None, request.FILES or None, administration=administration, initial=initial)
    context = {
        "administration": administration,
        "section": "inbox",
        "case": case,
        "c": case.correspondence,
        "form": form,
    }
    if request.method == "POST":
        if form.is_valid() and form.cleaned_data["circuit"] is not None:
            return _reply_through_circuit(request, scope, case, form, context)
        if form.is_valid():
            data = form.cleaned_data
            attachment = data["attachment"]
            content = None
            if attachment is not None:
                attachment.upload.seek(0)
                content = attachment.upload.read()
            try:
                sent = services.case_reply(
                    actor=scope.user,
                    case_id=case.pk,
                    text=LetterText(
                        body_ar=data["body_ar"],
                        body_fr=data["body_fr"],
                        recourse_ar=data["recourse_ar"],
                        recourse_fr=data["recourse_fr"],
                    ),
                    template=data["template"],
                    attachment=content,
                    attachment_name=attachment.filename if attachment is not None else "",
                    reject=data["decision"] == "reject",
                )
            except ActionRefused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            else:
                messages.success(
                    request,
                    _("The letter was registered under number %(number)s, sealed and sent.")
                    % {"number": sent.outgoing.number},
                )
                return upload_accepted(request, reverse("desk:correspondence", args=[code, pk]))
        return upload_refused(request, page="desk/reply.html", form_template="desk/reply_form.html", context=context)
    if not services.action_allowed(case, "answer"):
        messages.error(request, _("This correspondence can no longer be answered."))
    return render(request, "desk/reply.html", context)


def _reply_through_circuit(
    request: SignedInRequest, scope: Scope, case: Case, form: ReplyForm, context: dict[str, Any]
) -> HttpResponse:
    """The answer goes through the parapheur first; it is registered when the circuit completes."""
    data = form.cleaned_data
    if data["attachment"] is not None:
        form.add_error("attachment", _("An attached PDF cannot go through a circuit: write the answer."))
    else:
        try:
            folder = reply_submit(
                actor=scope.user,
                case_id=case.pk,
                text=LetterText(
                    body_ar=data["body_ar"],
                    body_fr=data["body_fr"],
                    recourse_ar=data["recourse_ar"],
                    recourse_fr=data["recourse_fr"],
                ),
                reject=data["decision"] == "reject",
                template=data["template"],
                circuit=data["circuit"],
            )
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(request, _("The answer is on its way through the circuit; it is registered at its end."))
            return upload_accepted(request, reverse("desk:folder", args=[scope.administration.code, folder.pk]))
    return upload_refused(request, page="desk/reply.html", form_template="desk/reply_form.html", context=context)


@login_required
def sealed_document(request: SignedInRequest, code: str, pk: int, token: str) -> HttpResponseBase:
    """A sealed letter or attestation of a case, for the staff who may read the case."""
    scope = _scope(request, code)
    case = wf.case_for(scope, pk)
    document = wf.sealed_document_of(case, token)
    if document.blob_id is not None and not storage.exists(document.blob_id):
        raise NotFound
    return sealed_document_response(document, f"{document.kind}-{case.correspondence.number}.pdf")


STATUS_BADGES = {
    Status.REGISTERED: "warn",
    Status.ASSIGNED: "",
    Status.IN_PROGRESS: "",
    Status.AWAITING_COMPLETION: "warn",
    Status.ANSWERED: "ok",
    Status.CLOSED: "ok",
    Status.REJECTED: "bad",
}


@login_required
@require_http_methods(["GET", "POST"])
def note_new(request: SignedInRequest, code: str) -> HttpResponse:
    """An internal note to another service, registered and sealed like any letter."""
    scope = _scope(request, code)
    if not (scope.may(Action.ROUTE) or scope.handles is None or scope.handles):
        raise NotFound
    own = None if scope.may(Action.ROUTE) or scope.handles is None else sorted(scope.handles)
    form = InternalNoteForm(request.POST or None, administration=scope.administration, own=own)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            received = services.internal_note_send(
                actor=scope.user,
                administration=scope.administration,
                from_service=data["from_service"],
                to_service=data["to_service"],
                subject=data["subject"],
                text=LetterText(body_ar=data["body_ar"], body_fr=data["body_fr"]),
            )
        except ActionRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(
                request,
                _("Note sent and registered under number %(number)s.") % {"number": received.correspondence.number},
            )
            return redirect("desk:correspondence", code=code, pk=received.correspondence.pk)
    return render(
        request,
        "desk/note_new.html",
        {"administration": scope.administration, "section": "inbox", "form": form},
        status=400 if form.is_bound else 200,
    )
