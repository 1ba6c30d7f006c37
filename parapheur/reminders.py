"""Reminders of the parapheur: a visa or a signature waiting too long reminds its people, in
the app and by e-mail, once per period (``settings.FOLDER_REMIND_DAYS``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from core.bidi import isolated
from core.clock import now
from parapheur.models import ActorKind, Folder, FolderEvent, FolderStep, StepKind
from parapheur.services import role_holders
from tenancy.models import User
from workflow.calendar import local_date
from workflow.models import Notification


def _waiting_people(step: FolderStep) -> list[User]:
    if step.actor_kind == ActorKind.ROLE:
        ids = role_holders(step.folder.administration, step.role, step.service_id)
        return list(User.objects.filter(pk__in=ids, is_active=True))
    return [row.user for row in step.actors.filter(acted_at=None).select_related("user")]


def folders_remind(*, limit: int = 500) -> int:
    """Remind the people of every visa or signature waiting longer than the period; return how
    many steps were reminded. Each step is reminded again only a period after the last time."""
    moment = now()
    due = moment - timedelta(days=settings.FOLDER_REMIND_DAYS)
    steps = (
        FolderStep.objects.filter(
            state=FolderStep.State.ACTIVE,
            kind__in=[StepKind.VISA, StepKind.SIGNATURE],
            folder__status=Folder.Status.IN_PROGRESS,
            started_at__lte=due,
        )
        .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lte=due))
        .select_related("folder__administration")
        .order_by("started_at")[:limit]
    )
    count = 0
    for step in steps:
        with transaction.atomic():
            locked = FolderStep.objects.select_for_update().filter(pk=step.pk).first()
            if locked is None or (locked.reminded_at is not None and locked.reminded_at > due):
                continue  # another worker did it
            locked.reminded_at = moment
            locked.save(update_fields=["reminded_at"])
            _remind(step, moment)
        count += 1
    return count


def _remind(step: FolderStep, moment: datetime) -> None:
    folder = step.folder
    url = reverse("desk:folder", args=[folder.administration.code, folder.pk])
    people = _waiting_people(step)
    for user in people:
        with override(user.language or "ar"):
            text = _("The folder “%(title)s” has been waiting for your %(step)s since %(since)s.") % {
                "title": isolated(folder.title[:120]),
                "step": step.get_kind_display().lower(),
                "since": local_date(step.started_at).isoformat() if step.started_at else "",
            }
            subject = _("Parapheur: a folder waits for you")
            Notification.objects.create(user=user, created_at=moment, text=text[:300], url=url)
            transaction.on_commit(_mail(subject, f"{text}\n\n{settings.PUBLIC_URL}{url}", user.email))
    FolderEvent.objects.create(
        folder=folder,
        at=moment,
        kind=FolderEvent.Kind.REMINDED,
        step=step.position,
        document=folder.document,
        data={"people": [user.pk for user in people]},
    )


def _mail(subject: str, body: str, address: str) -> Callable[[], None]:
    def send() -> None:
        send_mail(subject, body, None, [address])

    return send
