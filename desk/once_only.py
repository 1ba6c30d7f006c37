"""Pages of once-only requests: asking the holder from a case, opening the delivered copy, and
the holder's page (requests to answer, the documents it delivers and holds)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
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
from tenancy.models import Membership
from workflow.access import Scope
from workflow.models import Case
from workflow.selectors import case_for_staff

Role = Membership.Role


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
    requests = list(
        DocumentRequest.objects.filter(case=case).select_related("provider", "peer").order_by("-requested_at")
    )
    latest: dict[str, DocumentRequest] = {}
    for request in requests:
        latest.setdefault(request.document_name_fr, request)
    items = [{"document": d, "request": latest.get(d.name_fr)} for d in once_only.askable(case)]
    return {"held_documents": items, "may_ask_held": bool(items) and may_ask}


def _scope(request: HttpRequest, code: str) -> Scope:
    return desk_scope(request, code)


@login_required
@require_POST
def held_ask(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    scope = _scope(request, code)
    case = case_for_staff(scope, pk)
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
def held_copy(request: HttpRequest, code: str, pk: int, request_id: str) -> HttpResponse:
    """The copy the holder delivered, for staff who may see the case (each opening is logged)."""
    scope = _scope(request, code)
    case = case_for_staff(scope, pk)
    asked = DocumentRequest.objects.filter(pk=request_id, case=case).select_related("case__correspondence").first()
    if asked is None:
        raise NotFound
    pdf = once_only.delivered_copy_read(scope=scope, request=asked)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{asked.kind.code if asked.kind else "document"}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest, code: str) -> HttpResponse:
    """The holder's page: requests from other administrations to answer, what it delivers, what
    it holds; and the requests this administration sent."""
    scope = _scope(request, code)
    administration = scope.administration
    may_answer = bool(scope.roles & once_only.HOLDER_ROLES)
    may_declare = Role.ADMIN in scope.roles
    kinds = list(ProvidedDocument.objects.filter(administration=administration).order_by("code"))
    provided_form = ProvidedForm(prefix="provided")
    held_form = HeldForm(prefix="held", kinds=kinds)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "provided" and may_declare:
            provided_form = ProvidedForm(request.POST, prefix="provided")
            if provided_form.is_valid():
                data = provided_form.cleaned_data
                try:
                    once_only.provided_document_save(actor=scope.user, administration=administration, **data)
                except Refused as refused:
                    provided_form.add_error(None, refused.message)
                else:
                    messages.success(request, _("Saved."))
                    return redirect("desk:documents", code=code)
        elif action == "held" and may_answer:
            held_form = HeldForm(request.POST, request.FILES, prefix="held", kinds=kinds)
            if held_form.is_valid():
                data = held_form.cleaned_data
                if data["kind"] is None:
                    held_form.add_error("kind", _("Choose the document."))
                else:
                    try:
                        once_only.held_document_register(
                            actor=scope.user,
                            administration=administration,
                            kind=data["kind"],
                            national_id=data["national_id"],
                            person_name=data["person_name"],
                            file=data["document"][0],
                            issued_on=data["issued_on"],
                            reference=data["reference"],
                        )
                    except Refused as refused:
                        held_form.add_error(
                            refused.field if refused.field in held_form.fields else None, refused.message
                        )
                    else:
                        messages.success(request, _("The document is kept; it can be delivered on request."))
                        return redirect("desk:documents", code=code)
        elif action in ("deliver", "refuse") and may_answer:
            return _answer(request, scope, action)
        else:
            raise NotFound
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
            "held_count": HeldDocument.objects.filter(kind__administration=administration).count(),
            "provided_form": provided_form if may_declare else None,
            "held_form": held_form if may_answer and kinds else None,
            "refusal_form": RefusalForm(prefix="refusal"),
        },
        status=400 if request.method == "POST" else 200,
    )


def _answer(request: HttpRequest, scope: Scope, action: str) -> HttpResponse:
    try:
        request_id = str(uuid.UUID(request.POST.get("request", "")))
    except ValueError:
        raise NotFound from None
    code = scope.administration.code
    try:
        if action == "refuse":
            form: Any = RefusalForm(request.POST, prefix="refusal")
            if form.is_valid():
                once_only.request_refuse(
                    actor=scope.user,
                    administration=scope.administration,
                    request_id=request_id,
                    reason=form.cleaned_data["reason"],
                )
                messages.success(request, _("Refused; the requester sees the reason."))
        else:
            asked = DocumentRequest.objects.filter(pk=request_id, provider=scope.administration).first()
            if asked is None:
                raise NotFound
            form = AnswerForm(
                request.POST, request.FILES, prefix=f"r{asked.pk.hex[:8]}", held=selectors.held_for(asked)
            )
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
