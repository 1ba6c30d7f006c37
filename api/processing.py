"""API of the processing desk: the public catalogue, and staff actions on cases.

Same rules as the pages: the services decide (workflow.services, tenancy.access); a case
outside the caller's administrations is "not found".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from api.auth import bearer
from api.errors import pdf_responses, responses
from api.params import (
    Code,
    CodeText,
    EmailText,
    Id,
    Limit,
    LongText,
    Offset,
    QueryCode,
    ShortText,
    body_after_access,
    json_body_schema,
)
from core.clock import now
from core.errors import NotFound
from registry import selectors as registry_selectors
from registry.downloads import sealed_document_response
from registry.models import Correspondence
from tenancy.access import scope_for_staff, scope_of
from tenancy.http import ApiRequest
from tenancy.models import Service, User
from tenancy.permissions import Action
from tenancy.selectors import administration_by_code, service_by_code, user_by_email
from workflow import selectors as wf
from workflow import services
from workflow.calendar import local_date
from workflow.models import Case, Reply

router = Router()


class DocumentOut(Schema):
    name_ar: str
    name_fr: str
    held_by: str | None


class ProcedureOut(Schema):
    code: str
    name_ar: str
    name_fr: str
    name_zgh: str = Field(description="The name in Amazigh (Tifinagh); empty when the administration gave none.")
    legal_basis: str
    max_delay_days: int
    delay_kind: str
    silence_rule: str
    investment: bool
    fee: Decimal
    service: str | None
    required_documents: list[DocumentOut]


@router.get(
    "/administrations/{code}/procedures",
    response=responses({200: list[ProcedureOut]}, 404, 422),
    auth=None,
    tags=["catalogue"],
)
def procedures(request: HttpRequest, code: Code) -> list[dict[str, Any]]:
    """The published procedures catalogue of an administration."""
    administration = administration_by_code(code)
    if administration is None:
        raise NotFound
    return [
        {
            "code": p.code,
            "name_ar": p.name_ar,
            "name_fr": p.name_fr,
            "name_zgh": p.name_zgh,
            "legal_basis": p.legal_basis,
            "max_delay_days": p.delay_days,
            "delay_kind": p.delay_kind,
            "silence_rule": p.silence_rule,
            "investment": p.is_investment,
            "fee": p.fee,
            "service": p.service.code if p.service else None,
            "required_documents": [
                {"name_ar": d.name_ar, "name_fr": d.name_fr, "held_by": d.held_by_code or d.held_by_name or None}
                for d in p.documents.all()
            ],
        }
        for p in wf.catalogue(administration)
    ]


def _letters(request: HttpRequest, case: Case, *, staff: bool) -> list[dict[str, Any]]:
    result = []
    for reply in sorted(case.replies.all(), key=lambda r: (r.created_at, r.pk)):
        name = "api:case_letter" if staff else "api:deposit_letter"
        result.append(
            {
                "kind": reply.kind,
                "registration_number": reply.outgoing.number,
                "sent_at": reply.created_at,
                "pdf_url": request.build_absolute_uri(reverse(name, args=[case.pk, reply.pk])),
            }
        )
    return result


def deposit_processing(request: HttpRequest, correspondence: Correspondence) -> dict[str, Any]:
    """The processing facts of a deposit, for its depositor: status, due date, answers."""
    try:
        case = correspondence.case  # loaded with the deposit (see ``with_processing``)
    except Case.DoesNotExist:
        return {}
    letters = _letters(request, case, staff=False)
    answers = [letter for letter in letters if letter["kind"] in (Reply.Kind.ANSWER, Reply.Kind.REJECTION)]
    return {
        "status": case.status,
        "procedure": case.procedure.code if case.procedure else None,
        "due_on": case.due_on,
        "service": case.service.name if case.service else None,
        "reply": answers[-1] if answers else None,
        "letters": letters,
    }


def with_processing(deposits: QuerySet[Correspondence]) -> QuerySet[Correspondence]:
    """Deposits with what :func:`deposit_processing` reads, in a fixed number of queries."""
    return deposits.select_related("case__procedure", "case__service").prefetch_related(
        Prefetch("case__replies", queryset=Reply.objects.select_related("outgoing"))
    )


def _letter_response(case_id: int, reply_id: int) -> HttpResponseBase:
    """A case's sealed letter; a case's key is its correspondence's."""
    reply, document = wf.reply_letter(case_id, reply_id)
    return sealed_document_response(document, f"{reply.outgoing.number}.pdf")


@router.get(
    "/deposits/{deposit_id}/letters/{reply_id}",
    response=responses({}, 401, 404, 422),
    auth=bearer,
    tags=["deposits"],
    url_name="deposit_letter",
    openapi_extra=pdf_responses(),
)
def deposit_letter(request: ApiRequest, deposit_id: Id, reply_id: Id) -> HttpResponseBase:
    """A sealed letter the administration sent about the caller's deposit (PDF)."""
    user = request.auth
    correspondence = registry_selectors.deposit_for_owner(user, deposit_id)
    return _letter_response(correspondence.pk, reply_id)


# ---------------------------------------------------------------- staff


class CaseOut(Schema):
    id: int
    registration_number: str
    registered_at: datetime
    subject: str
    sender: str
    status: str
    procedure: str | None
    service: str | None
    agent: str | None
    due_on: date | None
    days_left: int | None
    overdue: bool
    silence_accepted_on: date | None
    letters: list[Any] = []


class CaseListOut(Schema):
    total: int
    counts: dict[str, int]
    results: list[CaseOut]


def _case_out(request: HttpRequest, case: Case, today: date, *, letters: bool = False) -> dict[str, Any]:
    c = case.correspondence
    summary = wf.case_summary(status=case.status, due_on=case.due_on, today=today)
    return {
        "id": case.pk,
        "registration_number": c.number,
        "registered_at": c.registered_at,
        "subject": c.subject,
        "sender": c.sender_name,
        "status": case.status,
        "procedure": case.procedure.code if case.procedure else None,
        "service": case.service.code if case.service else None,
        "agent": case.agent.email if case.agent else None,
        "due_on": case.due_on,
        "days_left": summary.days_left,
        "overdue": summary.overdue,
        "silence_accepted_on": services.silence_acceptance_on(case, today),
        "letters": _letters(request, case, staff=True) if letters else [],
    }


Box = Literal["to_assign", "in_progress", "due_soon", "overdue", "in_copy", "done"]


@router.get(
    "/administrations/{code}/cases", response=responses({200: CaseListOut}, 401, 404, 422), auth=bearer, tags=["desk"]
)
def case_list(
    request: ApiRequest,
    code: Code,
    box: Box = "in_progress",
    service: QueryCode = "",
    mine: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """An inbox of the processing desk: to_assign, in_progress, due_soon, overdue, in_copy, done.
    ``total`` and ``counts`` stop at 1001 (more than 1000: narrow the filters)."""
    user = request.auth
    scope = scope_for_staff(user, code)
    if not scope.may(Action.READ):
        raise NotFound
    service_id = None
    if service:
        found = next((s for s in scope.services if s.code == service.upper()), None)
        if found is None:
            raise NotFound
        service_id = found.pk
    today = local_date(now())
    soon = wf.due_soon_limit(services.calendar_for(scope.administration), today)
    cases = wf.inbox(scope, box, today=today, soon=soon, service_id=service_id, mine=mine)
    counts = wf.box_counts(scope, today=today, soon=soon, service_id=service_id, mine=mine)
    ids = list(cases.values_list("pk", flat=True)[offset : offset + limit])
    return {
        "total": counts[box],
        "counts": counts,
        "results": [_case_out(request, c, today) for c in wf.cases_in_order(ids)],
    }


def _case(request: ApiRequest, case_id: int) -> tuple[User, Case]:
    user = request.auth
    scope = scope_of(user, wf.case_administration(case_id))
    return user, wf.case_for(scope, case_id)


# What an action on a case can answer besides the case: refused by a rule (400), not allowed to
# this person (403), not found (404), not possible in the case's state (409), malformed (422).
ACTED = responses({200: CaseOut}, 400, 401, 403, 404, 409, 422)


@router.get("/cases/{case_id}", response=responses({200: CaseOut}, 401, 404, 422), auth=bearer, tags=["desk"])
def case_detail(request: ApiRequest, case_id: Id) -> dict[str, Any]:
    _user, case = _case(request, case_id)
    return _case_out(request, case, local_date(now()), letters=True)


@router.get(
    "/cases/{case_id}/letters/{reply_id}",
    response=responses({}, 401, 404, 422),
    auth=bearer,
    tags=["desk"],
    url_name="case_letter",
    openapi_extra=pdf_responses(),
)
def case_letter(request: ApiRequest, case_id: Id, reply_id: Id) -> HttpResponseBase:
    _user, case = _case(request, case_id)
    return _letter_response(case.pk, reply_id)


class AssignIn(Schema):
    service: CodeText
    copies: Annotated[list[CodeText], Field(max_length=100)] = []
    note: LongText = ""


def _service(case: Case, code: str) -> Service | None:
    return service_by_code(case.administration_id, code)


def _done(request: HttpRequest, case: Case) -> dict[str, Any]:
    """The case after an action: its rows read again, its access already checked."""
    case.refresh_from_db()
    return _case_out(request, case, local_date(now()), letters=True)


@router.post(
    "/cases/{case_id}/assign", response=ACTED, auth=bearer, tags=["desk"], openapi_extra=json_body_schema(AssignIn)
)
def case_assign(request: ApiRequest, case_id: Id) -> dict[str, Any]:
    """Assign (or reassign) to a service, with services in copy."""
    user, case = _case(request, case_id)
    payload = body_after_access(request, AssignIn)
    copies = [_service(case, code) for code in payload.copies]
    chosen = [s for s in copies if s is not None]
    if len(chosen) != len(copies):
        raise services.ActionRefused("unknown_service", _("Choose a service of this administration."), field="copies")
    services.case_assign(
        actor=user, case_id=case.pk, service=_service(case, payload.service), copies=chosen, note=payload.note
    )
    return _done(request, case)


class ReasonIn(Schema):
    reason: LongText


@router.post(
    "/cases/{case_id}/send-back", response=ACTED, auth=bearer, tags=["desk"], openapi_extra=json_body_schema(ReasonIn)
)
def case_send_back(request: ApiRequest, case_id: Id) -> dict[str, Any]:
    user, case = _case(request, case_id)
    payload = body_after_access(request, ReasonIn)
    services.case_send_back(actor=user, case_id=case.pk, reason=payload.reason)
    return _done(request, case)


class AgentIn(Schema):
    agent: EmailText


@router.post(
    "/cases/{case_id}/assign-agent", response=ACTED, auth=bearer, tags=["desk"], openapi_extra=json_body_schema(AgentIn)
)
def case_assign_agent(request: ApiRequest, case_id: Id) -> dict[str, Any]:
    user, case = _case(request, case_id)
    payload = body_after_access(request, AgentIn)
    agent = user_by_email(payload.agent)
    services.case_assign_agent(actor=user, case_id=case.pk, agent=agent)
    return _done(request, case)


@router.post("/cases/{case_id}/start", response=ACTED, auth=bearer, tags=["desk"])
def case_start(request: ApiRequest, case_id: Id) -> dict[str, Any]:
    user, case = _case(request, case_id)
    services.case_start(actor=user, case_id=case.pk)
    return _done(request, case)


class CompletionIn(Schema):
    documents: Annotated[list[ShortText], Field(max_length=100)]
    body_ar: LongText = ""
    body_fr: LongText = ""


@router.post(
    "/cases/{case_id}/request-completion",
    response=ACTED,
    auth=bearer,
    tags=["desk"],
    openapi_extra=json_body_schema(CompletionIn),
)
def case_request_completion(request: ApiRequest, case_id: Id) -> dict[str, Any]:
    """Ask once for missing documents, named as in the catalogue (French or Arabic name, or position)."""
    user, case = _case(request, case_id)
    payload = body_after_access(request, CompletionIn)
    catalogue = list(case.procedure.documents.all()) if case.procedure else []
    ids = []
    for wanted in payload.documents:
        match = next((d for d in catalogue if wanted.strip() in (d.name_fr, d.name_ar, str(d.position))), None)
        if match is None:
            raise services.ActionRefused(
                "document_not_in_catalogue",
                _("Only documents listed in the procedure's catalogue can be requested."),
                field="documents",
            )
        ids.append(match.pk)
    services.case_request_completion(
        actor=user,
        case_id=case.pk,
        document_ids=ids,
        text=services.LetterText(body_ar=payload.body_ar, body_fr=payload.body_fr),
    )
    return _done(request, case)


class ReplyIn(Schema):
    body_ar: LongText = ""
    body_fr: LongText = ""
    recourse_ar: LongText = ""
    recourse_fr: LongText = ""
    template: CodeText = ""
    reject: bool = False


@router.post(
    "/cases/{case_id}/reply", response=ACTED, auth=bearer, tags=["desk"], openapi_extra=json_body_schema(ReplyIn)
)
def case_reply(request: ApiRequest, case_id: Id) -> dict[str, Any]:
    """Answer (or reject): a sealed letter registered in the outgoing register and sent."""
    user, case = _case(request, case_id)
    payload = body_after_access(request, ReplyIn)
    template = None
    if payload.template:
        template = wf.letter_template_by_code(case.administration_id, payload.template)
        if template is None:
            raise services.ActionRefused(
                "unknown_template", _("Choose a letter template of this administration."), field="template"
            )
    services.case_reply(
        actor=user,
        case_id=case.pk,
        text=services.LetterText(
            body_ar=payload.body_ar,
            body_fr=payload.body_fr,
            recourse_ar=payload.recourse_ar,
            recourse_fr=payload.recourse_fr,
        ),
        template=template,
        reject=payload.reject,
    )
    return _done(request, case)


@router.post("/cases/{case_id}/close", response=ACTED, auth=bearer, tags=["desk"])
def case_close(request: ApiRequest, case_id: Id) -> dict[str, Any]:
    user, case = _case(request, case_id)
    services.case_close(actor=user, case_id=case.pk)
    return _done(request, case)


class NoteIn(Schema):
    text: LongText


@router.post(
    "/cases/{case_id}/notes", response=ACTED, auth=bearer, tags=["desk"], openapi_extra=json_body_schema(NoteIn)
)
def case_note(request: ApiRequest, case_id: Id) -> dict[str, Any]:
    user, case = _case(request, case_id)
    payload = body_after_access(request, NoteIn)
    services.case_comment(actor=user, case_id=case.pk, text=payload.text)
    return _done(request, case)
