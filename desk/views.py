"""Staff pages: counter registration, the register, correspondence, services and staff."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AuditAction
from audit.services import audit_record
from core.bidi import isolated
from core.errors import NotFound
from core.mail import smtp_configured
from core.uploads import upload_accepted, upload_refused
from desk.forms import CounterRegistrationForm, RegisterFilterForm, ServiceForm, ServiceNamesForm, StaffGrantForm
from desk.processing import case_context
from desk.tabs import desk_scope
from registry import selectors
from registry.checkpoints import checkpoint_make
from registry.downloads import attachment_response, file_response, receipt_response
from registry.integrity import anchored_position, register_verify
from registry.models import Channel, Correspondence, Direction
from registry.services import Party, RegistrationRefused, correspondence_register
from tenancy.http import SignedInRequest
from tenancy.permissions import Action
from tenancy.selectors import (
    administration_for_staff,
    membership_for,
    memberships_of,
    service_for,
    services_with_parents,
    staff_of,
)
from tenancy.services import StaffRefused, service_create, service_rename, staff_invite, staff_role_revoke
from workflow.selectors import case_of
from workflow.services import Deposit, deposit_register


@login_required
def home(request: SignedInRequest) -> HttpResponse:
    user = request.user
    administrations = {m.administration.code: m.administration for m in memberships_of(user)}
    if len(administrations) == 1:
        return redirect("desk:inbox", code=next(iter(administrations)))
    return render(request, "desk/home.html", {"administrations": administrations.values()})


@login_required
def register(request: SignedInRequest, code: str) -> HttpResponse:
    scope = desk_scope(request, code)
    administration = scope.administration
    direction = request.GET.get("direction", Direction.INCOMING)
    if direction not in Direction.values:
        direction = Direction.INCOMING
    filters = RegisterFilterForm(request.GET or None)
    criteria: dict[str, Any] = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
    entries = selectors.register_entries(scope, direction=direction, **criteria)
    entries = entries.select_related("case__service")  # the service each letter is with
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "desk/register.html",
        {
            "administration": administration,
            "section": "register",
            "direction": direction,
            "directions": Direction.choices,
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "scope": scope,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def counter_new(request: SignedInRequest, code: str) -> HttpResponse:
    user = request.user
    administration = administration_for_staff(user, code, Action.REGISTER)
    form = CounterRegistrationForm(request.POST or None, request.FILES or None, administration=administration)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                # The form's party is the sender of incoming mail, the addressee of outgoing mail.
                party = Party(
                    kind=data["sender_kind"],
                    name=data["sender_name"],
                    identifier=data["sender_identifier"],
                    email=data["sender_email"],
                    address=data["sender_address"],
                )
                common: dict[str, Any] = {
                    "subject": data["subject"],
                    "body": data["body"],
                    "files": data["attachments"],
                    "recipient_service": data["service"],
                    "confidential": data["confidential"],
                }
                if data["direction"] == Direction.INCOMING:
                    procedure = data["procedure"]
                    registration = deposit_register(
                        actor=user,
                        administration=administration,
                        channel=Channel.COUNTER,
                        deposit=Deposit(sender=party, procedure_code=procedure.code if procedure else "", **common),
                    )
                else:
                    # An outgoing letter gets no receipt: its own seal is its proof.
                    registration = correspondence_register(
                        actor=user,
                        administration=administration,
                        channel=Channel.COUNTER,
                        direction=Direction.OUTGOING,
                        addressee=party,
                        **common,
                    )
            except RegistrationRefused as refused:
                field = "sender_name" if refused.field == "addressee_name" else refused.field
                form.add_error(field if field in form.fields else None, refused.message)
            else:
                number = registration.correspondence.number
                messages.success(request, _("Registered under number %(number)s.") % {"number": number})
                url = reverse("desk:correspondence", args=[administration.code, registration.correspondence.pk])
                return upload_accepted(request, url)
        context = {"form": form, "administration": administration, "section": "counter"}
        return upload_refused(
            request, page="desk/counter_new.html", form_template="desk/counter_form.html", context=context
        )
    return render(
        request, "desk/counter_new.html", {"form": form, "administration": administration, "section": "counter"}
    )


@login_required
def correspondence(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    scope = desk_scope(request, code)
    c = selectors.correspondence_for(scope, pk)
    context: dict[str, Any] = {
        "administration": c.administration,
        "section": "register",
        "c": c,
        "attachments": selectors.attachments_with_text([c.pk])[c.pk],
        "receipt": getattr(c, "receipt", None),
        "letter_being_sealed": c.is_outgoing and selectors.letter_being_sealed(c),
        "log_entries": selectors.log_entries_of(c),
        "follow_ups": list(c.follow_ups.order_by("registered_at")),
    }
    case = case_of(c)
    if case is not None:
        c.case = case  # (both ways: the page names the service in charge from it)
        context["section"] = "inbox"
        context.update(case_context(scope, case))
    return render(request, "desk/correspondence.html", context)


def _staff_correspondence(request: SignedInRequest, code: str, pk: int) -> Correspondence:
    return selectors.correspondence_for(desk_scope(request, code), pk)


@login_required
def correspondence_receipt(request: SignedInRequest, code: str, pk: int) -> HttpResponseBase:
    return receipt_response(_staff_correspondence(request, code, pk))


@login_required
def attachment(request: SignedInRequest, code: str, pk: int, position: int) -> HttpResponseBase:
    c = _staff_correspondence(request, code, pk)
    item = selectors.attachment_for(c, position)
    _downloaded(request, c, item)
    return attachment_response(item)


def _downloaded(request: HttpRequest, c: Any, item: Any, **data: str) -> None:
    """Record that ``request``'s user downloaded ``c``'s attachment ``item`` (personal data)."""
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=AuditAction.ATTACHMENT_DOWNLOADED,
            obj=item,
            administration=c.administration,
            subject_user=c.correspondent_account,
            data={"number": c.number, "position": item.position, **data},
        )


@login_required
def attachment_searchable(request: SignedInRequest, code: str, pk: int, position: int) -> HttpResponseBase:
    """The searchable copy of a scanned attachment (the scan with its recognised text)."""
    c = _staff_correspondence(request, code, pk)
    item = selectors.attachment_for(c, position, searchable=True)
    layer = getattr(item.blob, "text_layer", None)
    if layer is None or layer.searchable is None:
        raise NotFound
    _downloaded(request, c, item, copy="searchable")
    stem = item.filename.rsplit(".", 1)[0]
    return file_response(layer.searchable.pk, "application/pdf", f"{stem}-searchable.pdf")


@login_required
@require_http_methods(["GET", "POST"])
def services(request: SignedInRequest, code: str) -> HttpResponse:
    user = request.user
    administration = administration_for_staff(user, code, Action.ADMINISTER_STAFF)
    form = ServiceForm(request.POST or None, administration=administration)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        service_create(
            actor=user,
            administration=administration,
            code=data["code"],
            name_ar=data["name_ar"],
            name_fr=data["name_fr"],
            name_zgh=data["name_zgh"],
            kind=data["kind"],
            location=data["location"],
            parent=data["parent"],
        )
        messages.success(request, _("Service created."))
        return redirect("desk:services", code=administration.code)
    rows = services_with_parents(administration)
    return render(
        request,
        "desk/services.html",
        {"administration": administration, "services": rows, "form": form, "section": "services"},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def service_edit(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    """Rename a service: its names in Arabic, French and Amazigh, and its location."""
    user = request.user
    administration = administration_for_staff(user, code, Action.ADMINISTER_STAFF)
    service = service_for(administration, pk)
    initial = {name: getattr(service, name) for name in ("name_ar", "name_fr", "name_zgh", "location")}
    form = ServiceNamesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        service_rename(actor=user, service=service, **form.cleaned_data)
        messages.success(request, _("Service %(code)s saved.") % {"code": service.code})
        return redirect("desk:services", code=administration.code)
    return render(
        request,
        "desk/service_edit.html",
        {"administration": administration, "service": service, "form": form, "section": "services"},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def staff(request: SignedInRequest, code: str) -> HttpResponse:
    user = request.user
    administration = administration_for_staff(user, code, Action.ADMINISTER_STAFF)
    form = StaffGrantForm(request.POST or None, administration=administration)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership, invited = staff_invite(
                actor=user,
                administration=administration,
                email=data["email"],
                full_name=data["full_name"],
                role=data["role"],
                service=data["service"],
            )
        except StaffRefused as refused:
            form.add_error(refused.field or None, refused.message)
            return render(request, "desk/staff.html", _staff_context(administration, form), status=400)
        email = membership.user.email
        if not invited:
            messages.success(request, _("Access granted to %(email)s.") % {"email": isolated(email)})
        else:
            if smtp_configured():
                said = _("Access granted to %(email)s: an e-mail gives them a link to choose their password.")
            else:
                # Without a mail server the invitation waits in the outbox, which only platform admins read.
                said = _(
                    "Access granted to %(email)s. No mail server is set yet: the e-mail with their link to "
                    "choose a password waits in the outbox, from which a platform administrator passes it on."
                )
            messages.success(request, said % {"email": isolated(email)})
        return redirect("desk:staff", code=administration.code)
    return render(
        request, "desk/staff.html", _staff_context(administration, form), status=400 if form.is_bound else 200
    )


def _staff_context(administration: Any, form: StaffGrantForm) -> dict[str, Any]:
    return {"administration": administration, "members": staff_of(administration), "form": form, "section": "staff"}


@login_required
@require_POST
def staff_revoke(request: SignedInRequest, code: str, membership_id: int) -> HttpResponse:
    user = request.user
    administration = administration_for_staff(user, code, Action.ADMINISTER_STAFF)
    membership = membership_for(administration, membership_id)
    try:
        staff_role_revoke(actor=user, membership=membership)
    except StaffRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Access removed."))
    return redirect("desk:staff", code=administration.code)


@login_required
@require_http_methods(["GET", "POST"])
def register_log(request: SignedInRequest, code: str) -> HttpResponse:
    """The register log and its sealed checkpoints; verify the chain now (POST)."""
    user = request.user
    administration = administration_for_staff(user, code, Action.READ_REGISTER_LOG)
    result = None
    if request.method == "POST":
        # Every check but the slow ones (each seal validated, every stored file re-read: the
        # `verify_register` command does them); receipts and letters of the log's tail only, the
        # part no anchored checkpoint covers yet.
        report = register_verify(administration, seals=False, documents_after=anchored_position(administration))
        with transaction.atomic():
            audit_record(
                actor=user,
                action=AuditAction.REGISTER_VERIFIED,
                administration=administration,
                data={"ok": report.ok, "problems": [str(b) for b in report.breaks]},
            )
        result = {"ok": report.ok, "breaks": report.breaks, "more": report.more, "notes": report.notes}
    page = Paginator(selectors.log_of(administration), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "desk/register_log.html",
        {
            "administration": administration,
            "section": "log",
            "page": page,
            "checkpoints": selectors.checkpoints_of(administration)[:20],
            "result": result,
        },
    )


@login_required
@require_POST
def register_checkpoint(request: SignedInRequest, code: str) -> HttpResponse:
    """Seal a checkpoint of the register log now."""
    user = request.user
    administration = administration_for_staff(user, code, Action.READ_REGISTER_LOG)
    checkpoint = checkpoint_make(actor=user, administration=administration)
    messages.success(request, _("Checkpoint sealed at entry #%(position)d.") % {"position": checkpoint.position})
    return redirect("desk:register_log", code=administration.code)
