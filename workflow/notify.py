"""E-mails to the depositor about their request: one per public change, never twice."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.bidi import isolated
from core.clock import now
from documents import storage
from registry.models import SealedDocument
from workflow.models import CaseEvent, Reply


def case_event_email(*, event_id: int) -> bool:
    """E-mail the depositor about one public event of their request; return whether it was sent."""
    event = (
        CaseEvent.objects.select_related(
            "case__correspondence__administration", "case__correspondence__sender_account", "service"
        )
        .filter(pk=event_id, public=True, emailed_at__isnull=True)
        .first()
    )
    if event is None:
        return False
    request = event.case.correspondence
    if not request.sender_email:
        return False
    reply = None
    if "reply_id" in event.data:
        reply = Reply.objects.select_related("outgoing").filter(pk=event.data["reply_id"]).first()
        if reply is not None and SealedDocument.objects.filter(correspondence_id=reply.outgoing_id, blob=None).exists():
            # The letter it carries is still being sealed: sent once it is (workflow.services.sealing).
            return False
    claimed = CaseEvent.objects.filter(pk=event.pk, emailed_at__isnull=True).update(emailed_at=now())
    if not claimed:
        return False
    account = request.sender_account
    language = account.language if account is not None else "ar"
    with translation.override(language):
        administration = isolated(request.administration.name)
        subject = _("%(number)s — %(event)s") % {"number": request.number, "event": CaseEvent.Kind(event.kind).label}
        lines = [
            _("Your request %(number)s to %(administration)s: %(event)s.")
            % {"number": request.number, "administration": administration, "event": CaseEvent.Kind(event.kind).label},
        ]
        if event.service is not None:
            lines.append(_("Service in charge: %(service)s") % {"service": isolated(event.service.name)})
        if event.case.due_on is not None and event.case.is_open:
            lines.append(_("Answer due by: %(date)s") % {"date": event.case.due_on.isoformat()})
        if reply is not None:
            lines.append(_("The sealed letter %(number)s is attached.") % {"number": reply.outgoing.number})
        if account is not None:
            lines.append(settings.PUBLIC_URL + reverse("portal:deposit_detail", args=[request.pk]))
        else:
            lines.append(settings.PUBLIC_URL + reverse("portal:track"))
    message = EmailMessage(subject=subject, body="\n".join(lines) + "\n", to=[request.sender_email])
    if reply is not None:
        letter = reply.outgoing.attachments.order_by("position").first()
        if letter is not None:
            message.attach(letter.filename, storage.read_bytes(letter.blob_id), "application/pdf")
    message.send()
    return True
