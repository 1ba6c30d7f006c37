"""Registering a batch of paper letters at the counter, and following their text recognition.

A clerk scans a stack of mail and registers it in one go: a row per letter (its scan, sender
and subject). With the page's script the letters go one request each, in order, a progress bar
moving and each row showing its number or what is wrong with it (a request per letter keeps
each within the upload limits, and a refused letter never holds up the others). Without the
script the whole form is sent at once: every letter is checked first and, if one is wrong,
none is registered. Registration never waits for OCR; the batch's page then shows how far the
recognition of the scans has come.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import BaseFormSet, formset_factory
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from core.converters import MAX_ID
from core.uploads import wants_json
from desk.forms import CounterBatchLetterForm
from desk.tabs import desk_scope
from registry import selectors
from registry.models import Channel, SenderKind
from registry.services import Party, RegistrationRefused
from tenancy.http import SignedInRequest
from tenancy.models import Administration, User
from tenancy.permissions import Action
from tenancy.selectors import administration_for_staff
from workflow.services import Deposit, deposit_register, deposits_register

ROWS = 5
MAX_ROWS = 50


class BatchFormSet(BaseFormSet[CounterBatchLetterForm]):
    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        self.administration = administration
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {"administration": self.administration}


def _formset(administration: Administration, data: Any = None, files: Any = None, *, rows: int = ROWS) -> Any:
    factory: Any = formset_factory(
        CounterBatchLetterForm, formset=BatchFormSet, extra=rows, max_num=MAX_ROWS, validate_max=True
    )
    return factory(data, files, prefix="letter", administration=administration)


def _deposit(data: dict[str, Any]) -> Deposit:
    return Deposit(
        sender=Party(kind=SenderKind.PERSON, name=data["sender_name"]),
        subject=data["subject"],
        files=data["attachments"],
        recipient_service=data["service"],
    )


@login_required
@require_http_methods(["GET", "POST"])
def counter_batch(request: SignedInRequest, code: str) -> HttpResponse:
    user = request.user
    administration = administration_for_staff(user, code, Action.REGISTER)
    if request.method == "POST" and wants_json(request):
        return _one_letter(request, user, administration)
    try:
        rows = min(max(int(request.GET.get("rows", ROWS)), 1), MAX_ROWS)
    except ValueError:
        rows = ROWS
    formset = _formset(administration, request.POST or None, request.FILES or None, rows=rows)
    if request.method == "POST":
        letters = [form for form in formset.forms if form.has_changed()] if formset.is_valid() else []
        if formset.is_valid() and not letters:
            messages.error(request, _("Add at least one letter: its scan, sender and subject."))
        elif letters:
            try:
                registrations = deposits_register(
                    actor=user,
                    administration=administration,
                    channel=Channel.COUNTER,
                    deposits=[_deposit(form.cleaned_data) for form in letters],
                )
            except RegistrationRefused as refused:
                messages.error(request, refused.message)
            else:
                ids = ",".join(str(r.correspondence.pk) for r in registrations)
                return redirect(reverse("desk:counter_batch_done", args=[administration.code]) + f"?ids={ids}")
    return render(
        request,
        "desk/counter_batch.html",
        {"administration": administration, "section": "counter", "formset": formset, "rows": rows},
        status=400 if request.method == "POST" else 200,
    )


def _one_letter(request: HttpRequest, user: User, administration: Administration) -> JsonResponse:
    """One row of the batch, sent alone by the page's script (its fields under ``letter-0-``)."""
    form = CounterBatchLetterForm(request.POST, request.FILES, prefix="letter-0", administration=administration)
    if form.is_valid():
        try:
            registration = deposit_register(
                actor=user, administration=administration, channel=Channel.COUNTER, deposit=_deposit(form.cleaned_data)
            )
        except RegistrationRefused as refused:
            return JsonResponse({"errors": {"__all__": [refused.message]}}, status=400)
        correspondence = registration.correspondence
        return JsonResponse(
            {
                "id": correspondence.pk,
                "number": correspondence.number,
                "url": reverse("desk:correspondence", args=[administration.code, correspondence.pk]),
            }
        )
    return JsonResponse(
        {"errors": {name: [str(e) for e in errors] for name, errors in form.errors.items()}}, status=400
    )


@login_required
def counter_batch_done(request: SignedInRequest, code: str) -> HttpResponse:
    """The letters of a batch, their numbers, and how far the recognition of their scans has come."""
    scope = desk_scope(request, code)
    administration = scope.administration
    parts = request.GET.get("ids", "").split(",")[:MAX_ROWS]
    ids = [int(part) for part in parts if part.isascii() and part.isdigit() and int(part) <= MAX_ID]
    letters = sorted(selectors.register_entries(scope).filter(pk__in=ids), key=lambda c: c.pk)
    attached_to = selectors.attachments_with_text([c.pk for c in letters])
    rows = [(c, attached_to[c.pk]) for c in letters]
    files = [layer for _, attached in rows for _, layer in attached]
    waiting = sum(1 for layer in files if layer is None or not layer.finished)
    return render(
        request,
        "desk/counter_batch_done.html",
        {
            "administration": administration,
            "section": "counter",
            "rows": rows,
            "files": len(files),
            "recognised": len(files) - waiting,
            "waiting": waiting,
            "summary": ngettext("%(count)d letter registered.", "%(count)d letters registered.", len(letters))
            % {"count": len(letters)},
        },
    )
