"""Citizen pages of the processing desk: following a request, its answers, completing it,
the attestation of silence-acceptance, and the public procedures catalogue.

A depositor with an account follows their requests in their space; anyone holding a
receipt follows the request with its number and the tracking code printed on it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from core.errors import NotFound
from core.forms import AccessibleForm
from core.proxies import client_address
from core.ratelimit import RateLimited, rate_limit_hit, too_many
from core.uploads import upload_accepted, upload_refused
from documents.forms import CheckedFilesField
from registry import selectors
from registry.downloads import receipt_response, sealed_document_response
from registry.models import Correspondence
from tenancy.http import SignedInRequest
from tenancy.models import Administration, User
from tenancy.selectors import active_administrations, administration_by_code
from workflow import selectors as wf
from workflow.calendar import local_date
from workflow.services import ActionRefused, attestation_issue, completion_deposit, silence_acceptance_on


class CompleteForm(AccessibleForm):
    attachments = CheckedFilesField(
        label=gettext_lazy("The requested documents"), help_text=gettext_lazy("PDF, JPEG, PNG or TIFF.")
    )
    body = forms.CharField(
        label=gettext_lazy("Message (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class TrackForm(AccessibleForm):
    """The number and the tracking code, both printed on the receipt. Numbers repeat between
    administrations; in the rare case where two requests have the same number and code, the
    form asks which administration the receipt names (``administrations``: the matches)."""

    number = forms.CharField(label=gettext_lazy("Registration number"), max_length=32, help_text="A-2026-000123")
    code = forms.CharField(label=gettext_lazy("Tracking code (on the receipt)"), max_length=16, help_text="XXXXX-XXXXX")

    def __init__(self, *args: Any, administrations: list[Administration] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if administrations:
            self.fields["administration"] = forms.ChoiceField(
                label=gettext_lazy("Administration named on the receipt"),
                choices=[("", "—"), *((a.code, a.name) for a in administrations)],
                required=False,
            )


def follow_context(c: Correspondence) -> dict[str, Any]:
    """What a depositor sees of their request: never the agent's name, nor internal notes."""
    case = wf.case_of(c)
    context: dict[str, Any] = {"c": c, "case": case}
    if case is None:
        return context
    today = local_date(now())
    summary = wf.case_summary(status=case.status, due_on=case.due_on, today=today)
    context.update(
        {
            "events": wf.timeline(case, public_only=True),
            "replies": wf.replies_of(case),
            "days_left": summary.days_left,
            "silence_accepted_on": silence_acceptance_on(case, today),
            "attestation": wf.attestation_of(c.pk),
            "can_complete": summary.next_step == wf.NextStep.DEPOSITOR,
            "requested_items": wf.requested_items(case),
        }
    )
    return context


# ---------------------------------------------------------------- the depositor's space


@login_required
@require_http_methods(["GET", "POST"])
def complete(request: SignedInRequest, pk: int) -> HttpResponse:
    user = request.user
    c = selectors.deposit_for_owner(user, pk)
    form = CompleteForm(request.POST or None, request.FILES or None)
    context = {"c": c, "form": form, **follow_context(c)}
    if request.method == "POST":
        try:
            rate_limit_hit(scope="deposit", key=str(user.pk), rate=settings.RATE_DEPOSIT)
        except RateLimited as limited:
            return too_many(request, limited)
        if form.is_valid():
            try:
                registration = completion_deposit(
                    actor=user, case_id=c.pk, files=form.cleaned_data["attachments"], note=form.cleaned_data["body"]
                )
            except ActionRefused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            else:
                messages.success(
                    request,
                    _("Your documents were registered under number %(number)s; the processing of your request resumes.")
                    % {"number": registration.correspondence.number},
                )
                return upload_accepted(request, reverse("portal:deposit_detail", args=[c.pk]))
        return upload_refused(
            request, page="portal/complete.html", form_template="portal/complete_form.html", context=context
        )
    return render(request, "portal/complete.html", context)


@login_required
def letter(request: SignedInRequest, pk: int, reply_id: int) -> HttpResponseBase:
    user = request.user
    c = selectors.deposit_for_owner(user, pk)
    return _letter_response(c, reply_id)


def _letter_response(c: Correspondence, reply_id: int) -> HttpResponseBase:
    reply, document = wf.reply_letter(c.pk, reply_id)
    return sealed_document_response(document, f"{reply.outgoing.number}.pdf")


@login_required
@require_POST
def attestation(request: SignedInRequest, pk: int) -> HttpResponseBase:
    user = request.user
    c = selectors.deposit_for_owner(user, pk)
    return _attestation_response(request, user, c, back=reverse("portal:deposit_detail", args=[c.pk]))


def _attestation_response(request: HttpRequest, user: User | None, c: Correspondence, *, back: str) -> HttpResponseBase:
    """The sealed attestation, or, when it is refused, the message on the request's page
    ``back`` (a path of ours, never the Referer a page elsewhere could have set)."""
    try:
        document = attestation_issue(actor=user, case_id=c.pk)
    except ActionRefused as refused:
        if refused.status == 404:
            raise NotFound from None
        messages.error(request, refused.message)
        return redirect(back)
    return sealed_document_response(document, f"attestation-{c.number}.pdf")


# ---------------------------------------------------------------- following with number and code


def _tracked(request: HttpRequest) -> Correspondence | None:
    """The request named by the session's last successful tracking lookup."""
    tracked = request.session.get("tracked")
    if not tracked:
        return None
    return selectors.tracked_correspondence(tracked)


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Follow a request with its number and tracking code, without an account. The number may
    come in the address (``?number=``: the link of a receipt's verification page)."""
    form = TrackForm(request.POST or None, initial={"number": request.GET.get("number", "")[:32]})
    if request.method == "POST":
        try:
            rate_limit_hit(scope="track", key=client_address(request), rate=settings.RATE_TRACK)
        except RateLimited as limited:
            return too_many(request, limited)
        if form.is_valid():
            data = form.cleaned_data
            matches = selectors.correspondences_by_tracking(data["number"], data["code"])
            if len(matches) > 1:
                chosen = [c for c in matches if c.administration.code == request.POST.get("administration")]
                if not chosen:
                    form = TrackForm(request.POST, administrations=[c.administration for c in matches])
                    form.is_valid()
                    form.add_error(
                        None,
                        _(
                            "Requests of several administrations have this number and code: choose the one on your receipt."
                        ),
                    )
                    return render(request, "portal/track.html", {"form": form}, status=400)
                matches = chosen
            found = matches[0] if matches else None
            if found is not None:
                request.session["tracked"] = found.pk
                with transaction.atomic():
                    audit_record(
                        actor=request.user,
                        action=AuditAction.CORRESPONDENCE_TRACKED,
                        obj=found,
                        administration=found.administration,
                        subject_user=found.sender_account,
                        data={"number": found.number, "address": client_address(request)},
                    )
                return redirect("portal:tracked")
            form.add_error(None, _("No request matches this number and code. Check them on your receipt."))
        return render(request, "portal/track.html", {"form": form}, status=400)
    return render(request, "portal/track.html", {"form": form})


def tracked(request: HttpRequest) -> HttpResponse:
    c = _tracked(request)
    if c is None:
        return redirect("portal:track")
    return render(request, "portal/tracked.html", follow_context(c))


def tracked_letter(request: HttpRequest, reply_id: int) -> HttpResponseBase:
    c = _tracked(request)
    if c is None:
        raise NotFound
    return _letter_response(c, reply_id)


def tracked_receipt(request: HttpRequest) -> HttpResponseBase:
    c = _tracked(request)
    if c is None:
        raise NotFound
    return receipt_response(c)


@require_POST
def tracked_attestation(request: HttpRequest) -> HttpResponseBase:
    c = _tracked(request)
    if c is None:
        raise NotFound
    user = request.user if request.user.is_authenticated else None
    return _attestation_response(request, user, c, back=reverse("portal:tracked"))


# ---------------------------------------------------------------- the public catalogue


def catalogue_index(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/catalogue_index.html", {"administrations": active_administrations()})


def catalogue(request: HttpRequest, code: str) -> HttpResponse:
    administration = administration_by_code(code)
    if administration is None:
        raise NotFound
    return render(
        request,
        "portal/catalogue.html",
        {"administration": administration, "procedures": wf.catalogue(administration)},
    )


# ---------------------------------------------------------------- in-app notifications


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: SignedInRequest) -> HttpResponse:
    """The user's notifications (reminders, assignments, news of their requests), newest first."""
    user = request.user
    mine = wf.notifications_of(user)
    if request.method == "POST":
        mine.filter(read_at__isnull=True).update(read_at=now())
        return redirect("portal:notifications")
    items = list(mine[:100])
    return render(
        request,
        "portal/notifications.html",
        {"notifications": items, "unread": sum(1 for n in items if n.read_at is None)},
    )


@login_required
def access_log(request: SignedInRequest) -> HttpResponse:
    """Every access to the person's data by an administration other than the one they wrote to:
    who, when, which document, for which procedure and file (law 09-08; Estonia's data tracker)."""
    from exchange.access_log import accesses_of

    user = request.user
    entries = list(accesses_of(user)[:200])
    return render(request, "portal/access_log.html", {"entries": entries})
