"""Search of an administration's registers: ``GET /api/v1/search``.

The same form and service as the desk's search page (:mod:`search`): the same words find the
same letters, and a caller finds only what they may read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from api.auth import bearer
from api.errors import ApiError, responses
from api.params import NO_NUL, QueryCode, QueryWords
from core.errors import NotFound
from search.forms import SearchForm
from search.selectors import search
from tenancy.access import readable_scope
from tenancy.http import ApiRequest
from tenancy.models import User
from tenancy.selectors import memberships_of
from workflow.models import Case
from workflow.selectors import procedure_choices

router = Router()


class HitOut(Schema):
    id: int
    registration_number: str
    direction: str
    subject: str
    subject_html: str
    registered_at: datetime
    sender: str  # who sent an incoming letter ("" for an outgoing one)
    addressee: str  # whom an outgoing letter went to ("" for an incoming one)
    status: str | None
    service: str | None
    snippet: str
    score: float


class SearchOut(Schema):
    query: str
    total: int
    capped: bool
    page: int
    has_next: bool
    by_number: bool
    order: str  # "relevance", or "latest" when more than 1000 letters match
    results: list[HitOut]


def _administration_code(user: User, code: str) -> str:
    if code:
        return code
    codes = sorted({m.administration.code for m in memberships_of(user)})
    if len(codes) == 1:
        return codes[0]
    if not codes:
        raise NotFound
    raise ApiError(
        400,
        "administration_required",
        _("You work for several administrations: say which one to search."),
        field="administration",
    )


# A date of the registers' era, YYYY-MM-DD (years 1900 to 2199); the form checks it is a real day.
SearchDate = Annotated[
    str,
    Query(
        pattern=r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        description="A day, YYYY-MM-DD, of the years 1900 to 2199.",
    ),
]


@router.get("/search", response=responses({200: SearchOut}, 400, 401, 404, 422), auth=bearer, tags=["desk"])
def search_registers(
    request: ApiRequest,
    q: QueryWords = "",
    administration: QueryCode = "",
    direction: Annotated[Literal["", "incoming", "outgoing"], Query(alias="register")] = "",
    date_from: SearchDate = "",
    date_to: SearchDate = "",
    service: QueryCode = "",
    procedure: QueryCode = "",
    status: Literal[
        "", "registered", "assigned", "in_progress", "awaiting_completion", "answered", "closed", "rejected"
    ] = "",
    sender: Annotated[str, Query(max_length=200, pattern=NO_NUL)] = "",
    page: Annotated[int, Query(ge=1, le=50)] = 1,
) -> dict[str, Any]:
    """Letters of the registers matching ``q`` (words in any spelling, or a registration
    number), best first, 20 a page. Filters: ``register`` (incoming/outgoing), ``date_from``,
    ``date_to`` (YYYY-MM-DD), ``service`` and ``procedure`` (codes), ``status``, ``sender`` (the
    sender of an incoming letter or the addressee of an outgoing one), ``page``. ``administration`` (a code) is needed only by staff of several administrations.
    ``total`` stops at 1001 (``capped``: more than 1000, then ``order`` is ``latest``: the latest
    registered first, instead of ``relevance``). ``snippet`` and ``subject_html`` are
    HTML-escaped text with the matched words in ``<mark>``."""
    user = request.auth
    scope = readable_scope(user, _administration_code(user, administration))
    asked = {
        "q": q,
        "register": direction,
        "date_from": date_from,
        "date_to": date_to,
        "service": service,
        "procedure": procedure,
        "status": status,
        "sender": sender,
        "page": page,
    }
    form = SearchForm(asked, scope=scope, procedures=procedure_choices(scope.administration))
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise ApiError(400, "invalid_search", str(messages[0]), field=field)
    results = search(scope, form.cleaned_data["q"], form.filters(), page=form.cleaned_data["page"] or 1)
    return {
        "query": results.query,
        "total": results.total,
        "capped": results.capped,
        "page": results.page,
        "has_next": results.has_next,
        "by_number": results.by_number,
        "order": "relevance" if results.ranked else "latest",
        "results": [
            {
                "id": hit.correspondence.pk,
                "registration_number": hit.correspondence.number,
                "direction": hit.correspondence.direction,
                "subject": hit.correspondence.subject,
                "subject_html": hit.subject,
                "registered_at": hit.correspondence.registered_at,
                "sender": hit.correspondence.sender_name,
                "addressee": hit.correspondence.addressee_name,
                "status": _case_status(hit.correspondence),
                "service": _case_service(hit.correspondence),
                "snippet": hit.snippet,
                "score": hit.score,
            }
            for hit in results.hits
        ],
    }


def _case(correspondence: Any) -> Case | None:
    try:
        case: Case = correspondence.case
    except Case.DoesNotExist:  # outgoing mail, or mail registered without a case
        return None
    return case


def _case_status(correspondence: Any) -> str | None:
    case = _case(correspondence)
    return case.status if case is not None else None


def _case_service(correspondence: Any) -> str | None:
    case = _case(correspondence)
    return case.service.code if case is not None and case.service is not None else None
