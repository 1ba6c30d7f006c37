"""The processing desk: procedures catalogue, cases and their routing, deadlines, reminders.

A *case* follows one incoming request from registration to its answer. Only
:mod:`workflow.services` changes these rows; every change writes a timeline event and an
audit event in the same transaction.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.languages import in_language
from registry.models import Correspondence
from tenancy.models import Administration, MultilingualName, Service, code_validator


def delay_text(days: int, kind: str) -> str:
    """ "30 calendar days", "5 working days": the delay in words, with the language's plural."""
    if kind == "working":
        return ngettext("%(days)d working day", "%(days)d working days", days) % {"days": days}
    return ngettext("%(days)d calendar day", "%(days)d calendar days", days) % {"days": days}


DEFAULT_DELAY_DAYS = 60
INVESTMENT_DELAY_DAYS = 30


class DelayKind(models.TextChoices):
    CALENDAR = "calendar", _("calendar days")
    WORKING = "working", _("working days")


class SilenceRule(models.TextChoices):
    ACCEPTANCE = "acceptance", _("Silence means acceptance")
    REFUSAL = "refusal", _("Silence means refusal")
    NONE = "none", _("No rule")


class Procedure(MultilingualName):
    """One administrative procedure of an administration's published catalogue, named in Arabic,
    French and Amazigh (``name`` is the reader's)."""

    administration = models.ForeignKey(Administration, on_delete=models.CASCADE, related_name="procedures")
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    is_investment = models.BooleanField(_("investment file"), default=False)
    delay_days = models.PositiveSmallIntegerField(
        _("maximum delay"), default=DEFAULT_DELAY_DAYS, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    delay_kind = models.CharField(_("delay counted in"), max_length=10, choices=DelayKind.choices)
    silence_rule = models.CharField(_("silence rule"), max_length=12, choices=SilenceRule.choices)
    fee = models.DecimalField(_("fee (MAD)"), max_digits=9, decimal_places=2, default=Decimal("0"))
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("handling service")
    )
    is_active = models.BooleanField(_("open to deposits"), default=True)

    class Meta:
        verbose_name_plural = _("procedures")
        constraints = [
            models.UniqueConstraint(fields=["administration", "code"], name="procedure_code_unique"),
            models.CheckConstraint(condition=models.Q(delay_days__gte=1), name="procedure_delay_positive"),
        ]
        ordering = ["administration", "code"]
        verbose_name = _("procedure")

    def __str__(self) -> str:
        return f"{self.code} {self.name_fr}"

    @property
    def delay_label(self) -> str:
        return delay_text(self.delay_days, self.delay_kind)


class ProcedureDocument(models.Model):
    """A document the procedure may require; no other document can ever be requested."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="documents")
    position = models.PositiveSmallIntegerField()
    name_ar = models.CharField(_("name in Arabic"), max_length=200)
    name_fr = models.CharField(_("name in French"), max_length=200)
    # Held by another administration: the citizen may not be asked for it (law 55-19).
    held_by_code = models.CharField(_("held by (administration code)"), max_length=40, blank=True)
    held_by_name = models.CharField(_("held by"), max_length=200, blank=True)
    # The holder's code for this document (its ProvidedDocument): what a once-only request asks.
    held_document_code = models.CharField(_("holder's document code"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("document of a procedure")
        verbose_name_plural = _("documents of procedures")
        constraints = [
            models.UniqueConstraint(fields=["procedure", "position"], name="procedure_document_position_unique")
        ]
        ordering = ["procedure", "position"]

    def __str__(self) -> str:
        return self.name_fr

    @property
    def name(self) -> str:
        """The name in the reader's language (Arabic for an Amazigh reader: no Amazigh name is kept)."""
        return in_language(self.name_ar, self.name_fr)

    @property
    def held_elsewhere(self) -> bool:
        return bool(self.held_by_code or self.held_by_name)


class CalendarDay(models.Model):
    """An administration's change to the national calendar: a day off added, or a holiday cancelled."""

    administration = models.ForeignKey(Administration, on_delete=models.CASCADE, related_name="calendar_days")
    day = models.DateField(_("day"))
    is_working = models.BooleanField(_("working day"))
    label = models.CharField(_("reason"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [models.UniqueConstraint(fields=["administration", "day"], name="calendar_day_unique")]
        ordering = ["administration", "day"]

    def __str__(self) -> str:
        return f"{self.day} {'working' if self.is_working else 'off'}"


class RoutingRule(models.Model):
    """Pre-routes new requests: by procedure, or by keywords of the subject and text."""

    administration = models.ForeignKey(Administration, on_delete=models.CASCADE, related_name="routing_rules")
    position = models.PositiveSmallIntegerField(_("order"), default=10)
    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("procedure")
    )
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["administration", "position", "id"]

    def __str__(self) -> str:
        return f"rule {self.pk} → {self.service_id}"

    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.replace("،", ",").split(",") if k.strip()]


class LetterTemplate(models.Model):
    """A reply model: bilingual text with variables such as {number} or {sender_name}, and for a
    rejection the route of recourse the letter states in its own box."""

    administration = models.ForeignKey(Administration, on_delete=models.CASCADE, related_name="letter_templates")
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    name = models.CharField(_("name"), max_length=120)
    body_ar = models.TextField(_("text in Arabic"), blank=True)
    body_fr = models.TextField(_("text in French"), blank=True)
    recourse_ar = models.TextField(_("route of recourse in Arabic (rejections)"), blank=True)
    recourse_fr = models.TextField(_("route of recourse in French (rejections)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("letter template")
        verbose_name_plural = _("letter templates")
        constraints = [models.UniqueConstraint(fields=["administration", "code"], name="letter_template_code_unique")]
        ordering = ["administration", "code"]

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    AWAITING_COMPLETION = "awaiting_completion", _("Awaiting completion")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")


HANDLING_STATUSES = (Status.ASSIGNED, Status.IN_PROGRESS, Status.AWAITING_COMPLETION)
DONE_STATUSES = (Status.ANSWERED, Status.CLOSED, Status.REJECTED)
HANDLING_Q = models.Q(status__in=HANDLING_STATUSES)
RUNNING_Q = models.Q(status__in=(Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS))
DONE_Q = models.Q(status__in=DONE_STATUSES)
OPEN_STATUSES = (Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS, Status.AWAITING_COMPLETION)
# Open and the clock running: what can be overdue.
RUNNING_STATUSES = (Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS)


class Case(models.Model):
    """The handling of one incoming request (its primary key is the correspondence's)."""

    correspondence = models.OneToOneField(
        Correspondence, on_delete=models.PROTECT, primary_key=True, related_name="case"
    )
    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.REGISTERED)
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("service in charge")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    registered_on = models.DateField()
    # No delay (None, and no kind) for a letter from an administration that names no procedure:
    # law 55-19's delays are owed to users (see workflow.services.base.Terms).
    delay_days = models.PositiveSmallIntegerField(null=True, blank=True)
    delay_kind = models.CharField(max_length=10, choices=DelayKind.choices, blank=True)
    silence_rule = models.CharField(max_length=12, choices=SilenceRule.choices, default=SilenceRule.NONE)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    suspended_on = models.DateField(null=True, blank=True)
    suspended_days = models.PositiveIntegerField(default=0)
    completion_requested = models.BooleanField(default=False)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    # The next reminder to send, and when (see workflow.reminders).
    remind_on = models.DateField(null=True, blank=True)
    remind_point = models.CharField(max_length=16, blank=True)
    # The correspondence's confidentiality, copied when the case opens (it never changes): the
    # inboxes then decide who sees a case from the case's own row and indexes.
    confidential = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("case file")
        verbose_name_plural = _("case files")
        indexes = [
            models.Index(fields=["remind_on"], name="case_remind_on", condition=models.Q(remind_on__isnull=False)),
            # "Newest first" and the counts read these without visiting the table (PostgreSQL).
            models.Index(
                fields=["administration", "status", "due_on"],
                name="case_admin_status_due",
                include=["registered_on", "correspondence", "service", "agent", "confidential"],
            ),
            models.Index(
                fields=["service", "status", "due_on"],
                name="case_service_status_due",
                include=["registered_on", "correspondence", "agent", "confidential"],
            ),
            models.Index(
                fields=["agent", "administration", "status", "due_on"],
                name="case_agent_status_due",
                include=["registered_on", "correspondence"],
            ),
            models.Index(fields=["status", "due_on"], name="case_status_due"),
            # The inboxes' "in progress" and "answered" boxes, in due-date order, read from the
            # index without sorting a register (PostgreSQL; SQLite uses the others).
            models.Index(
                fields=["service", "due_on", "correspondence"], name="case_service_handling", condition=HANDLING_Q
            ),
            models.Index(
                fields=["administration", "due_on", "correspondence"], name="case_admin_handling", condition=HANDLING_Q
            ),
            models.Index(fields=["service", "due_on", "correspondence"], name="case_service_done", condition=DONE_Q),
            models.Index(
                fields=["administration", "due_on", "correspondence"], name="case_admin_done", condition=DONE_Q
            ),
            # "Due soon" and "overdue" (running cases by due date), and each agent's own boxes.
            models.Index(
                fields=["service", "due_on", "correspondence"], name="case_service_running", condition=RUNNING_Q
            ),
            models.Index(
                fields=["administration", "due_on", "correspondence"], name="case_admin_running", condition=RUNNING_Q
            ),
            # "Newest first" over a whole administration or several services: read backwards in
            # registration order, the other conditions checked on the index itself.
            models.Index(
                fields=["administration", "registered_on", "correspondence"],
                name="case_admin_registered",
                include=["status", "service", "agent", "confidential", "due_on"],
            ),
            # An agent's own boxes ("only mine") name the administration too: a person may work
            # for more than one.
            models.Index(
                fields=["agent", "administration", "due_on", "correspondence"],
                name="case_agent_running",
                condition=RUNNING_Q,
            ),
            models.Index(
                fields=["agent", "administration", "due_on", "correspondence"],
                name="case_agent_handling",
                condition=HANDLING_Q,
            ),
            models.Index(
                fields=["agent", "administration", "due_on", "correspondence"],
                name="case_agent_done",
                condition=DONE_Q,
            ),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def delay_label(self) -> str:
        if self.delay_days is None:
            return str(_("None: a letter from an administration (law 55-19 sets delays for users' requests)"))
        return delay_text(self.delay_days, self.delay_kind)


class CaseCopy(models.Model):
    """A service that receives the case for information."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="copies")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()
    # The case's confidentiality (it never changes): the copies box is counted from this table.
    confidential = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("copy to a service")
        verbose_name_plural = _("copies to services")
        constraints = [models.UniqueConstraint(fields=["case", "service"], name="case_copy_unique")]
        indexes = [
            models.Index(fields=["service", "-added_at"], name="case_copy_service"),
            models.Index(fields=["service", "confidential", "case"], name="case_copy_count"),
        ]

    def __str__(self) -> str:
        return f"copy of {self.case_id} to {self.service_id}"


class CaseEvent(models.Model):
    """One line of a case's timeline. ``public`` lines are shown to the depositor."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        ROUTED = "routed", _("Routed by a rule")
        ASSIGNED = "assigned", _("Assigned to a service")
        COPIED = "copied", _("Sent in copy")
        SENT_BACK = "sent_back", _("Sent back to the mail office")
        AGENT_ASSIGNED = "agent_assigned", _("Assigned to an agent")
        STARTED = "started", _("Handling started")
        COMPLETION_REQUESTED = "completion_requested", _("Documents requested")
        COMPLETED = "completed", _("File completed")
        ANSWERED = "answered", _("Answered")
        REJECTED = "rejected", _("Rejected")
        CLOSED = "closed", _("Closed")
        NOTE = "note", _("Internal note")
        REMINDER = "reminder", _("Reminder sent")
        ATTESTATION = "attestation", _("Attestation of silence-acceptance issued")
        DOCUMENT_ASKED = "document_asked", _("Document asked of the administration that holds it")
        DOCUMENT_FETCHED = "document_fetched", _("Document obtained from the administration that holds it")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=24, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    public = models.BooleanField(default=False)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["case", "at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_case_at")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class Reply(models.Model):
    """A letter the administration sent about a case: an answer, a rejection, a request for documents."""

    class Kind(models.TextChoices):
        ANSWER = "answer", _("Answer")
        REJECTION = "rejection", _("Rejection")
        COMPLETION = "completion", _("Request for completion")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="replies")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    outgoing = models.OneToOneField(Correspondence, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(LetterTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # What a request for completion asked for, as the catalogue named it then.
    items = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        ordering = ["case", "created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.outgoing_id}"


class Reminder(models.Model):
    """A reminder sent about a case at one of its reminder points; never sent twice."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reminders")
    point = models.CharField(max_length=16)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [models.UniqueConstraint(fields=["case", "point", "user"], name="reminder_once")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.point} → {self.user_id}"


class Notification(models.Model):
    """A message in a user's in-app notifications."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField()
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.text
