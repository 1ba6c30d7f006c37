"""Registers, correspondence, attachments, receipts and the tamper-evident register log.

Only :mod:`registry.services` changes these rows. The database backs the invariants:
register numbers are unique per administration, direction and year; log entries are
unique per administration and position; each correspondence has at most one receipt.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from documents.models import Blob
from registry.import_reasons import reason_text
from tenancy.models import Administration, Service, User


class Direction(models.TextChoices):
    INCOMING = "incoming", _("Incoming")
    OUTGOING = "outgoing", _("Outgoing")


NUMBER_PREFIX = {Direction.INCOMING: "A", Direction.OUTGOING: "D"}
# The sender_* and addressee_* text fields of a correspondence (besides its account).
PARTY_TEXT_FIELDS = ("kind", "name", "identifier", "email", "address")


class Channel(models.TextChoices):
    ONLINE = "online", _("Online deposit")
    COUNTER = "counter", _("Counter")
    API = "api", _("API")
    EXCHANGE = "exchange", _("Another administration")
    INTERNAL = "internal", _("Internal note")
    IMPORT = "import", _("Imported from a former register")


class SenderKind(models.TextChoices):
    """What a sender, or an addressee, is."""

    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")
    ADMINISTRATION = "administration", _("Administration")


class RegisterCounter(models.Model):
    """The last number given in one register (administration × direction) for one year.

    Numbering takes this row's lock, so numbers are consecutive and a failed transaction
    gives its number back.
    """

    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("register counter")
        verbose_name_plural = _("register counters")
        constraints = [
            models.UniqueConstraint(fields=["administration", "direction", "year"], name="register_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.administration_id}/{self.direction}/{self.year}: {self.last_number}"


class Correspondence(models.Model):
    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="correspondence", verbose_name=_("administration")
    )
    direction = models.CharField(_("register"), max_length=10, choices=Direction.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence number"))
    number = models.CharField(_("registration number"), max_length=32)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    registered_at = models.DateTimeField(_("registered at"))
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )

    # Who sent an incoming letter: an account (online deposit) or an identity typed in at the
    # counter. Empty for an outgoing letter, whose sender is the administration itself.
    sender_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deposits",
        verbose_name=_("sender's account"),
    )
    sender_kind = models.CharField(_("sender kind"), max_length=16, choices=SenderKind.choices, blank=True)
    sender_name = models.CharField(_("sender"), max_length=200, blank=True)
    sender_identifier = models.CharField(_("sender ID (CIN or ICE)"), max_length=20, blank=True)
    sender_email = models.EmailField(_("sender e-mail"), blank=True)
    sender_address = models.CharField(_("sender address"), max_length=300, blank=True)

    # Whom an outgoing letter goes to: the account of the person it answers, or an identity
    # (a person, a company, an administration). Empty for an incoming letter.
    addressee_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="letters_received",
        verbose_name=_("addressee's account"),
    )
    addressee_kind = models.CharField(_("addressee kind"), max_length=16, choices=SenderKind.choices, blank=True)
    addressee_name = models.CharField(_("addressee"), max_length=200, blank=True)
    addressee_identifier = models.CharField(_("addressee ID (CIN or ICE)"), max_length=20, blank=True)
    addressee_email = models.EmailField(_("addressee e-mail"), blank=True)
    addressee_address = models.CharField(_("addressee address"), max_length=300, blank=True)

    recipient_service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("service")
    )
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("text"), blank=True)
    confidential = models.BooleanField(_("confidential"), default=False)

    # The request this one answers (an outgoing reply) or completes (documents sent on request).
    in_reply_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("in reply to"),
    )
    # What the receipt promised at registration: procedure, legal delay, due date, silence rule.
    # A snapshot: later changes of the catalogue or of the case do not rewrite it.
    terms = models.JSONField(_("terms stated on the receipt"), default=dict, blank=True)
    # A short secret printed on the receipt: with the number, it lets a depositor without an
    # account follow the request.
    tracking_code = models.CharField(_("tracking code"), max_length=16, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["administration", "direction", "year", "sequence"], name="correspondence_sequence_unique"
            ),
            models.UniqueConstraint(fields=["administration", "number"], name="correspondence_number_unique"),
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="correspondence_sequence_positive"),
            # An incoming letter has a sender and no addressee; an outgoing one the reverse.
            models.CheckConstraint(
                condition=(
                    models.Q(direction=Direction.INCOMING, **{f"addressee_{f}": "" for f in PARTY_TEXT_FIELDS})
                    & models.Q(addressee_account__isnull=True)
                    & ~models.Q(sender_name="")
                )
                | (
                    models.Q(direction=Direction.OUTGOING, **{f"sender_{f}": "" for f in PARTY_TEXT_FIELDS})
                    & models.Q(sender_account__isnull=True)
                    & ~models.Q(addressee_name="")
                ),
                name="correspondence_sender_or_addressee",
            ),
        ]
        indexes = [
            models.Index(fields=["administration", "-registered_at"]),
            models.Index(fields=["sender_account", "-registered_at"]),
            models.Index(fields=["addressee_account", "-registered_at"]),
        ]
        ordering = ["-registered_at", "-id"]
        verbose_name = _("correspondence")
        verbose_name_plural = _("correspondence")

    def __str__(self) -> str:
        return self.number

    @property
    def is_outgoing(self) -> bool:
        return self.direction == Direction.OUTGOING

    @property
    def correspondent_name(self) -> str:
        """Who the administration corresponds with: the sender of an incoming letter, the
        addressee of an outgoing one (the register's "sender / addressee" column)."""
        return self.addressee_name if self.is_outgoing else self.sender_name

    @property
    def channel_label(self) -> str:
        """How it came in, or, for an outgoing letter, how it went out (an answer "online" went
        to the addressee's space: it was nobody's online deposit)."""
        if self.is_outgoing and self.channel == Channel.ONLINE:
            return str(_("To the addressee's online space"))
        return str(self.get_channel_display())

    @property
    def correspondent_account_id(self) -> int | None:
        """The account of the person the letter concerns, sender or addressee (whose data it is)."""
        return self.addressee_account_id if self.is_outgoing else self.sender_account_id

    @property
    def correspondent_account(self) -> User | None:
        return self.addressee_account if self.is_outgoing else self.sender_account


class Attachment(models.Model):
    correspondence = models.ForeignKey(Correspondence, on_delete=models.PROTECT, related_name="attachments")
    position = models.PositiveSmallIntegerField()
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=160)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.UniqueConstraint(fields=["correspondence", "position"], name="attachment_position_unique")
        ]
        ordering = ["position"]

    def __str__(self) -> str:
        return self.filename


class Receipt(models.Model):
    """The sealed deposit receipt of one correspondence and its verification token."""

    correspondence = models.OneToOneField(Correspondence, on_delete=models.PROTECT, related_name="receipt")
    token = models.CharField(max_length=64, unique=True)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    issued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        indexes = [models.Index(fields=["issued_at"], name="receipt_pending_idx", condition=models.Q(blob=None))]

    def __str__(self) -> str:
        return f"receipt of {self.correspondence_id}"

    @property
    def is_issued(self) -> bool:
        return self.blob_id is not None


class SealedDocument(models.Model):
    """A document Wasl issued and sealed about a correspondence, verifiable by its token.

    Letters (replies, requests for completion, decisions) and attestations; receipts have
    their own model.
    """

    class Kind(models.TextChoices):
        LETTER = "letter", _("Letter")
        ATTESTATION = "attestation", _("Attestation of silence-acceptance")

    correspondence = models.ForeignKey(Correspondence, on_delete=models.PROTECT, related_name="sealed_documents")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    token = models.CharField(max_length=64, unique=True)
    # None while it is being made: recorded with the change that issues it, rendered and sealed
    # after commit (registry.sealed).
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    issued_at = models.DateTimeField()
    # What the document says, as the change that issued it decided (its template's data), kept
    # until it is made: a crash between the commit and the seal loses nothing.
    draft = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("sealed document")
        verbose_name_plural = _("sealed documents")
        indexes = [models.Index(fields=["issued_at"], name="sealed_pending_idx", condition=models.Q(blob=None))]

    def __str__(self) -> str:
        return f"{self.kind} of {self.correspondence_id}"

    @property
    def is_issued(self) -> bool:
        return self.blob_id is not None


class RegisterLogHead(models.Model):
    """Where an administration's log chain ends; the row every append locks."""

    administration = models.OneToOneField(Administration, on_delete=models.PROTECT, related_name="+")
    last_position = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("register log head")
        verbose_name_plural = _("register log heads")

    def __str__(self) -> str:
        return f"log head of {self.administration_id} at #{self.last_position}"


class RegisterLogEntry(models.Model):
    """One link of an administration's append-only, hash-chained register log.

    ``entry_hash`` = SHA-256 of ``previous_hash`` + newline + ``payload``, where ``payload``
    is the canonical JSON of the recorded facts, stored exactly as it was hashed.
    """

    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveBigIntegerField()
    action = models.CharField(max_length=40)
    correspondence = models.ForeignKey(
        Correspondence, on_delete=models.PROTECT, null=True, blank=True, related_name="log_entries"
    )
    recorded_at = models.DateTimeField()
    payload = models.TextField()
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("register log entry")
        verbose_name_plural = _("register log entries")
        constraints = [
            models.UniqueConstraint(fields=["administration", "position"], name="register_log_position_unique")
        ]
        ordering = ["administration", "position"]

    def __str__(self) -> str:
        return f"{self.administration_id}#{self.position} {self.action}"


class RegisterCheckpoint(models.Model):
    """A sealed, timestamped statement of the log head at some position.

    Checkpoints are chained too: the statement names the SHA-256 of the administration's
    previous checkpoint statement (``previous_hash``; empty for the first one and for those made
    before checkpoints were chained). After it commits, each one is appended to the anchor file
    (``anchored_at``) and sent to pinned peers (:mod:`registry.anchors`).
    """

    class Reason(models.TextChoices):
        DAILY = "daily", _("Daily")
        PERIODIC = "periodic", _("Periodic")
        ON_DEMAND = "on_demand", _("On demand")

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="+", verbose_name=_("administration")
    )
    position = models.PositiveBigIntegerField(_("position in the log"))
    head_hash = models.CharField(_("hash of the log head"), max_length=64)
    created_at = models.DateTimeField(_("created at"))
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    statement = models.TextField(_("statement"))
    seal = models.BinaryField(_("seal"))
    previous_hash = models.CharField(_("hash of the previous checkpoint"), max_length=64, blank=True, default="")
    anchored_at = models.DateTimeField(_("anchored at"), null=True, blank=True)

    class Meta:
        ordering = ["administration", "position", "created_at"]
        verbose_name = _("register checkpoint")
        verbose_name_plural = _("register checkpoints")

    def __str__(self) -> str:
        return f"checkpoint {self.administration_id}@{self.position}"


class IdempotencyKey(models.Model):
    """An API client's ``Idempotency-Key``: the request it came with first, what that request
    made and the answer it got, which a retry gets again (:mod:`registry.idempotency`).

    ``lease`` names the attempt that holds the key (a new one when a stalled attempt is taken
    over); ``object_id`` is set in the transaction that makes the request's object, so a key is
    never made twice; ``completed_at`` is set when the answer is kept.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    lease = models.CharField(max_length=32)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField()
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class RegisterImport(models.Model):
    """A former register (CSV or XLSX) checked, and imported unless it is a dry run, by the
    worker (:mod:`registry.imports`); the page follows its progress and shows its report."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("In progress")
        CHECKED = "checked", _("Checked: ready to import")
        REJECTED = "rejected", _("Rows rejected: nothing imported")
        IMPORTED = "imported", _("Imported")
        FAILED = "failed", _("Could not be read")

    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(_("register"), max_length=10, choices=Direction.choices)
    dry_run = models.BooleanField(default=True)
    filename = models.CharField(max_length=160)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)  # progress: rows checked, then written
    imported = models.PositiveIntegerField(default=0)
    # [{"line", "number", "code", "params"}]: why each row was rejected, translated when shown
    # (registry.imports.reason_text); rows stored before as text keep {"reason": text}.
    rejected = models.JSONField(default=list, blank=True)
    gaps = models.JSONField(default=dict, blank=True)  # {year: numbers missing}
    # Why the file could not be read: a code and its parameters (``error``: text of older rows).
    error_code = models.CharField(max_length=40, blank=True)
    error_params = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("register import")
        verbose_name_plural = _("register imports")
        indexes = [models.Index(fields=["administration", "-created_at"])]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.filename} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status not in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.rows_done / self.rows_total)) if self.rows_total else 0

    @property
    def error_text(self) -> str:
        """Why the file could not be read, in the active language."""
        return reason_text(self.error_code, self.error_params) if self.error_code else self.error

    def rejected_rows(self) -> list[dict[str, Any]]:
        """The rejected rows with their reason in the active language."""
        return [
            {
                "line": row.get("line"),
                "number": row.get("number", ""),
                "reason": reason_text(row["code"], row.get("params") or {})
                if row.get("code")
                else row.get("reason", ""),
            }
            for row in self.rejected
        ]
