"""Reminders of due dates, sent by the task worker, never twice.

Each open case carries its next reminder (``remind_on``, ``remind_point``), computed when its
due date is set. The sweep takes the cases whose reminder date has come, in batches of one
transaction each: it records the reminders (unique per case, point and person), the in-app
notifications and the timeline lines, queues the e-mails, and moves each case to its next
point. A crash loses at most the batch in progress, which the next run does again whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.clock import now
from tenancy.models import Membership, User
from tenancy.permissions import Action, roles_who
from workflow.calendar import BusinessCalendar, local_date
from workflow.models import RUNNING_STATUSES, Case, CaseEvent, Notification, Reminder
from workflow.selectors import calendar_for
from workflow.tasks import reminders_email_task


def point_dates(case: Case, calendar: BusinessCalendar) -> list[tuple[str, date]]:
    """The configured reminder points of ``case`` with their dates, earliest first."""
    if case.due_on is None:
        return []
    points: list[tuple[str, date]] = []
    for point in settings.REMINDERS:
        if point == "half":
            day = case.registered_on + timedelta(days=(case.due_on - case.registered_on).days // 2)
        elif point == "overdue":
            day = case.due_on + timedelta(days=1)
        else:
            day, left = case.due_on, int(point)
            while left:
                day -= timedelta(days=1)
                if calendar.is_working_day(day):
                    left -= 1
        if day > case.registered_on:
            points.append((point, day))
    return sorted(points, key=lambda p: (p[1], p[0]))


def sent_points(case: Case) -> set[str]:
    return set(Reminder.objects.filter(case=case).values_list("point", flat=True))


def next_reminder(
    case: Case, calendar: BusinessCalendar, *, sent: Iterable[str] = (), after: date | None = None
) -> tuple[str, date] | None:
    """The first point not sent yet (and, with ``after``, falling after that day)."""
    done = set(sent)
    for point, day in point_dates(case, calendar):
        if point not in done and (after is None or day > after):
            return point, day
    return None


def _set_next(cases: list[Case]) -> None:
    """Record each case's next reminder in one statement (``bulk_update`` is much slower)."""
    from django.db import connection

    cast = "%s::date" if connection.vendor == "postgresql" else "%s"
    rows = ", ".join(f"(%s, {cast}, %s)" for _ in cases)
    params: list[Any] = []
    for case in cases:
        params.extend([case.pk, case.remind_on, case.remind_point])
    table = connection.ops.quote_name(Case._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET remind_on = v.column2, remind_point = v.column3 "  # noqa: S608 (no user input)
            f"FROM (VALUES {rows}) AS v WHERE {table}.correspondence_id = v.column1",
            params,
        )


def _recipients(cases: list[Case]) -> dict[int, list[User]]:
    """For each case: its agent and the heads of its service; the mail office when unassigned."""
    service_ids = {c.service_id for c in cases if c.service_id}
    administration_ids = {c.administration_id for c in cases if not c.service_id}
    heads: dict[int, list[User]] = {}
    for m in Membership.objects.filter(
        service_id__in=service_ids, role__in=roles_who(Action.REMINDED_OF_SERVICE), is_active=True, user__is_active=True
    ).select_related("user"):
        heads.setdefault(m.service_id or 0, []).append(m.user)
    clerks: dict[int, list[User]] = {}
    for m in Membership.objects.filter(
        administration_id__in=administration_ids,
        role__in=roles_who(Action.REMINDED_OF_UNASSIGNED),
        is_active=True,
        user__is_active=True,
    ).select_related("user"):
        clerks.setdefault(m.administration_id, []).append(m.user)
    result: dict[int, list[User]] = {}
    for case in cases:
        people = {
            u.pk: u
            for u in (heads.get(case.service_id, []) if case.service_id else clerks.get(case.administration_id, []))
        }
        if case.agent is not None:
            people[case.agent.pk] = case.agent
        result[case.pk] = list(people.values())
    return result


def _text(case: Case, point: str, language: str) -> str:
    with translation.override(language):
        values = {"number": case.correspondence.number, "due_on": case.due_on.isoformat() if case.due_on else ""}
        if point == "overdue":
            return _("%(number)s is overdue: it was due on %(due_on)s.") % values
        if point == "half":
            return _("%(number)s: half of the legal delay is gone; it is due on %(due_on)s.") % values
        return _("%(number)s is due on %(due_on)s.") % values


def reminders_send(*, today: date | None = None, batch_size: int = 1000) -> int:
    """Send every reminder whose date has come; return how many people were reminded."""
    today = today or local_date(now())
    calendars: dict[int, BusinessCalendar] = {}
    sent = 0
    while True:
        with transaction.atomic():
            cases = list(
                Case.objects.select_for_update(of=("self",))
                .select_related("correspondence", "agent", "administration")
                .filter(remind_on__lte=today, status__in=RUNNING_STATUSES)
                .order_by("remind_on", "pk")[:batch_size]
            )
            if not cases:
                # Cases that left the running statuses keep no reminder.
                Case.objects.filter(remind_on__lte=today).exclude(status__in=RUNNING_STATUSES).update(
                    remind_on=None, remind_point=""
                )
                return sent
            moment = now()
            desk = reverse("desk:home")
            already = set(Reminder.objects.filter(case__in=cases).values_list("case_id", "point", "user_id"))
            sent_by_case: dict[int, set[str]] = {}
            for case_id, sent_point, _user in already:
                sent_by_case.setdefault(case_id, set()).add(sent_point)
            recipients = _recipients(cases)
            reminders, notifications, events = [], [], []
            for case in cases:
                point = case.remind_point
                for user in recipients[case.pk]:
                    if (case.pk, point, user.pk) in already:
                        continue
                    reminders.append(Reminder(case=case, point=point, user=user, sent_at=moment))
                    notifications.append(
                        Notification(
                            user=user,
                            created_at=moment,
                            text=_text(case, point, user.language)[:300],
                            url=f"{desk}{case.administration.code}/c/{case.pk}/",
                        )
                    )
                events.append(
                    CaseEvent(
                        case=case,
                        at=moment,
                        kind=CaseEvent.Kind.REMINDER,
                        service_id=case.service_id,
                        data={"point": point, "users": [u.pk for u in recipients[case.pk]]},
                    )
                )
                calendar = calendars.get(case.administration_id)
                if calendar is None:
                    calendar = calendars[case.administration_id] = calendar_for(case.administration)
                done = sent_by_case.get(case.pk, set()) | {point}
                following = next_reminder(case, calendar, sent=done, after=case.remind_on)
                case.remind_point, case.remind_on = (following[0], following[1]) if following else ("", None)
            Reminder.objects.bulk_create(reminders, ignore_conflicts=True)
            Notification.objects.bulk_create(notifications)
            CaseEvent.objects.bulk_create(events)
            _set_next(cases)
            if reminders:
                reminders_email_task.enqueue()
            sent += len(reminders)


def reminders_email(*, limit: int = 500) -> int:
    """E-mail reminders not e-mailed yet; each is marked once sent. Return how many were sent."""
    from django.core.mail import send_mail

    count = 0
    pending = (
        Reminder.objects.filter(emailed_at__isnull=True)
        .select_related("user", "case__correspondence", "case__administration")
        .order_by("pk")[:limit]
    )
    for reminder in pending:
        case, user = reminder.case, reminder.user
        with translation.override(user.language):
            subject = _text(case, reminder.point, user.language)
            body = (
                subject
                + "\n\n"
                + settings.PUBLIC_URL
                + reverse("desk:correspondence", args=[case.administration.code, case.pk])
                + "\n"
            )
        claimed = Reminder.objects.filter(pk=reminder.pk, emailed_at__isnull=True).update(emailed_at=now())
        if claimed:
            send_mail(subject, body, None, [user.email])
            count += 1
    return count
