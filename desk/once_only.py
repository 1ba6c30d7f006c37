"""Pages of once-only requests: asking the holder from a case, opening the delivered copy, and
the holder's page (requests to answer, the documents it delivers and holds)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core.bidi import isolated
from core.errors import NotFound, Refused
from core.forms import AccessibleForm, BoundedDateField, ObjectChoiceField, report_form_errors
from desk.tabs import desk_scope
from documents.forms import CheckedFilesField
from exchange import once_only, selectors
from exchange.models import DocumentRequest, HeldDocument, ProvidedDocument
from tenancy.access import Scope
from tenancy.http import SignedInRequest
from tenancy.permissions import Action
from workflow.models import Case
from workflow.selectors import case_for


class ProvidedForm(AccessibleForm):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=40)
    name_ar = forms.CharField(label=gettext_lazy("Name in Arabic"), max_length=200)
    name_fr = forms.CharField(label=gettext_lazy("Name in French"), max_length=200)
    automatic = forms.BooleanField(
        label=gettext_lazy("Deliver automatically (the latest one held for the person)"), required=False
    )


class HeldForm(AccessibleForm):
    kind = ObjectChoiceField(label=gettext_lazy("Document"))
    national_id = forms.CharField(label=gettext_lazy("National ID (CIN)"), max_length=20)
    person_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200)
    reference = forms.CharField(label=gettext_lazy("Reference"), max_length=60, required=False)
    issued_on = BoundedDateField(label=gettext_lazy("Issued on"))
    document = CheckedFilesField(label=gettext_lazy("The document (PDF)"))

    def __init__(self, *args: Any, kinds: list[ProvidedDocument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["kind"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(kinds, lambda k: f"{k.name} ({k.code})")


class AnswerForm(AccessibleForm):
    held = ObjectChoiceField(label=gettext_lazy("A document held for this person"), required=False)
    document = CheckedFilesField(label=gettext_lazy("Or add it (PDF)"), required=False)

    def __init__(self, *args: Any, held: list[HeldDocument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["held"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(held, lambda h: f"{h.reference or h.filename} · {h.issued_on:%Y-%m-%d}")


class RefusalForm(AccessibleForm):
    reason = forms.CharField(label=gettext_lazy("Reason for the refusal"), max_length=500)


def held_items(case: Case, *, may_ask: bool) -> dict[str, Any]:
    """For the case panel: the documents that can be asked of their holder, each with its latest
    request, and whether this person may ask now (``may_ask``: the case's actions allow it)."""
    requests = selectors.requests_of_case(case)
    latest: dict[str, DocumentRequest] = {}
    for request in requests:
        latest.setdefault(request.document_name_fr, request)
    items = [{"document": d, "request": latest.get(d.name_fr)} for d in once_only.askable(case)]
    return {"held_documents": items, "may_ask_held": bool(items) and may_ask}


def _scope(request: SignedInRequest, code: str) -> Scope:
    return desk_scope(request, code)


@login_required
@require_POST
def held_ask(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    scope = _scope(request, code)
    case = case_for(scope, pk)
    try:
        position = int(request.POST.get("document", ""))
    except ValueError:
        position = 0
    try:
        asked = once_only.document_request(scope=scope, case=case, position=position)
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        asked.refresh_from_db()
        if asked.status == DocumentRequest.Status.DELIVERED:
            messages.success(request, _("Delivered by %(holder)s.") % {"holder": isolated(asked.holder_name)})
        elif asked.status == DocumentRequest.Status.REFUSED:
            messages.error(
                request,
                _("Refused by %(holder)s: %(reason)s")
                % {"holder": isolated(asked.holder_name), "reason": isolated(asked.reason)},
            )
        elif asked.peer_id is not None:  # posted by the worker: the answer comes later
            messages.success(
                request,
                _("Asked of %(holder)s: the request is on its way; the answer will appear on this file.")
                % {"holder": isolated(asked.holder_name)},
            )
        else:
            messages.success(
                request, _("Asked of %(holder)s; its agents will answer.") % {"holder": isolated(asked.holder_name)}
            )
    return redirect("desk:correspondence", code=code, pk=pk)


@login_required
def held_copy(request: SignedInRequest, code: str, pk: int, request_id: str) -> HttpResponse:
    """The copy the holder delivered, for staff who may see the case (each opening is logged)."""
    scope = _scope(request, code)
    case = case_for(scope, pk)
    asked = selectors.document_request_for(scope, request_id)
    if asked.case_id != case.pk:
        raise NotFound
    pdf = once_only.delivered_copy_read(scope=scope, request=asked)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{asked.kind.code if asked.kind else "document"}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def _may_answer(scope: Scope) -> bool:
    return scope.may(Action.ANSWER_DOCUMENT_REQUESTS)


def _may_declare(scope: Scope) -> bool:
    return scope.may(Action.DECLARE_DOCUMENTS)


def _kinds(scope: Scope) -> list[ProvidedDocument]:
    return selectors.provided_documents_of(scope.administration)


def _documents_page(
    request: SignedInRequest,
    scope: Scope,
    *,
    provided_form: ProvidedForm | None = None,
    held_form: HeldForm | None = None,
    status: int = 200,
) -> HttpResponse:
    administration = scope.administration
    may_answer, may_declare = _may_answer(scope), _may_declare(scope)
    kinds = _kinds(scope)
    to_answer = [
        {"request": r, "answer_form": AnswerForm(prefix=f"r{r.pk.hex[:8]}", held=held)}
        for r, held in selectors.requests_to_answer(administration)
    ]
    return render(
        request,
        "desk/documents.html",
        {
            "administration": administration,
            "section": "documents",
            "to_answer": to_answer if may_answer else [],
            "answered": selectors.requests_answered(administration),
            "sent": selectors.requests_sent(administration),
            "kinds": kinds,
            "held_count": selectors.held_count(administration),
            "provided_form": (provided_form or ProvidedForm(prefix="provided")) if may_declare else None,
            "held_form": (held_form or HeldForm(prefix="held", kinds=kinds)) if may_answer and kinds else None,
            "refusal_form": RefusalForm(prefix="refusal"),
        },
        status=status,
    )


@login_required
def documents(request: SignedInRequest, code: str) -> HttpResponse:
    """The holder's page: requests from other administrations to answer, what it delivers, what
    it holds; and the requests this administration sent."""
    return _documents_page(request, _scope(request, code))


@login_required
@require_http_methods(["GET", "POST"])
def provided_declare(request: SignedInRequest, code: str) -> HttpResponse:
    """Declare a document this administration delivers (its administrators). GET: the page
    (where an invalid form was shown, the language switch comes back to this address)."""
    scope = _scope(request, code)
    if not _may_declare(scope):
        raise NotFound
    if request.method == "GET":
        return redirect("desk:documents", code=code)
    provided_form = ProvidedForm(request.POST, prefix="provided")
    if provided_form.is_valid():
        try:
            once_only.provided_document_save(
                actor=scope.user, administration=scope.administration, **provided_form.cleaned_data
            )
        except Refused as refused:
            provided_form.add_error(None, refused.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("desk:documents", code=code)
    return _documents_page(request, scope, provided_form=provided_form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def held_keep(request: SignedInRequest, code: str) -> HttpResponse:
    """Keep a document this administration holds about a person, to deliver on request. GET:
    the page, as :func:`provided_declare`."""
    scope = _scope(request, code)
    if not _may_answer(scope):
        raise NotFound
    if request.method == "GET":
        return redirect("desk:documents", code=code)
    held_form = HeldForm(request.POST, request.FILES, prefix="held", kinds=_kinds(scope))
    if held_form.is_valid():
        data = held_form.cleaned_data
        if data["kind"] is None:
            held_form.add_error("kind", _("Choose the document."))
        else:
            try:
                once_only.held_document_register(
                    actor=scope.user,
                    administration=scope.administration,
                    kind=data["kind"],
                    national_id=data["national_id"],
                    person_name=data["person_name"],
                    file=data["document"][0],
                    issued_on=data["issued_on"],
                    reference=data["reference"],
                )
            except Refused as refused:
                held_form.add_error(refused.field if refused.field in held_form.fields else None, refused.message)
            else:
                messages.success(request, _("The document is kept; it can be delivered on request."))
                return redirect("desk:documents", code=code)
    return _documents_page(request, scope, held_form=held_form, status=400)


def _request_id(request: SignedInRequest, scope: Scope) -> str:
    """The request to answer named by the form, for staff who may answer; else 404."""
    if not _may_answer(scope):
        raise NotFound
    try:
        return str(uuid.UUID(request.POST.get("request", "")))
    except ValueError:
        raise NotFound from None


@login_required
@require_POST
def request_deliver(request: SignedInRequest, code: str) -> HttpResponse:
    """Deliver the document another administration asked for, sealed by this one."""
    scope = _scope(request, code)
    request_id = _request_id(request, scope)
    asked = selectors.document_request_for(scope, request_id)
    if asked.provider_id != scope.administration.pk:
        raise NotFound
    form = AnswerForm(request.POST, request.FILES, prefix=f"r{asked.pk.hex[:8]}", held=selectors.held_for(asked))
    try:
        if form.is_valid():
            files = form.cleaned_data["document"] or []
            once_only.request_deliver(
                actor=scope.user,
                administration=scope.administration,
                request_id=request_id,
                held=form.cleaned_data["held"],
                file=files[0] if files else None,
            )
            messages.success(request, _("Delivered, sealed by your administration."))
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect(reverse("desk:documents", args=[code]))
    report_form_errors(request, form)
    return redirect(reverse("desk:documents", args=[code]))


@login_required
@require_POST
def request_refuse(request: SignedInRequest, code: str) -> HttpResponse:
    """Refuse a request of another administration, with the reason its staff will see."""
    scope = _scope(request, code)
    request_id = _request_id(request, scope)
    form = RefusalForm(request.POST, prefix="refusal")
    try:
        if form.is_valid():
            once_only.request_refuse(
                actor=scope.user,
                administration=scope.administration,
                request_id=request_id,
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("Refused; the requester sees the reason."))
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect(reverse("desk:documents", args=[code]))
    report_form_errors(request, form)
    return redirect(reverse("desk:documents", args=[code]))
