"""Exchange between administrations: who can be reached (the directory), and the envelopes that
carry correspondence from one register to another.

An **envelope** is written in the same transaction as the outgoing registration it carries (the
outbox), delivered by the worker with retries, and registered once on arrival: its id is the
recipient's key against duplicates. Delivered, it holds the recipient's **acknowledgement**: the
recipient's registration number and time, sealed by the recipient administration.

Another Wasl installation is a **peer**: its base URL and its root certificate, pinned by the
platform administrators of both sides (``manage.py peer_add``). Its administrations are copied
into this installation's directory. An envelope to or from a peer names the administration on
the other side by its code (``remote_code``); the peer's side keeps its own row for it, with the
same id.
"""

from __future__ import annotations

import json
import uuid
from functools import cached_property
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.languages import in_language
from registry.models import Correspondence
from tenancy.models import Administration, MultilingualName


class Peer(models.Model):
    """Another Wasl installation we exchange with, pinned by its root certificate."""

    name = models.SlugField(_("name"), max_length=40, unique=True)
    label = models.CharField(_("installation"), max_length=200, blank=True)
    base_url = models.URLField(_("address"), max_length=300)
    ca_certificate = models.TextField()  # PEM of the peer's root CA: the pin
    fingerprint = models.CharField(max_length=64, unique=True)  # SHA-256 of that certificate (DER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    directory_synced_at = models.DateTimeField(null=True, blank=True)
    # Our register checkpoints sent to it (exchange.anchors): every one up to this id.
    checkpoints_sent_through = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("peer installation")
        verbose_name_plural = _("peer installations")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.base_url})"


class KeptCheckpoint(models.Model):
    """A sealed checkpoint of a peer's register log, kept for it (exchange.anchors): given back
    when the peer verifies its registers, so that a rewrite of its database is seen. Never
    changed once received."""

    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="+")
    administration_code = models.CharField(max_length=40)
    statement = models.TextField()
    statement_hash = models.CharField(max_length=64)
    seal = models.BinaryField()
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("checkpoint kept for a peer")
        verbose_name_plural = _("checkpoints kept for peers")
        constraints = [
            models.UniqueConstraint(fields=["peer", "statement_hash"], name="kept_checkpoint_unique"),
        ]
        indexes = [models.Index(fields=["peer", "administration_code"])]

    def __str__(self) -> str:
        return f"checkpoint of {self.administration_code} kept for {self.peer_id}"


class RemoteAdministration(MultilingualName):
    """An administration of a peer, as its directory announced it."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="administrations")
    code = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=40, blank=True)
    # The documents it delivers on request (once only): [{"code", "name_ar", "name_fr", "automatic"}].
    provides = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("administration of a peer")
        verbose_name_plural = _("administrations of peers")
        constraints = [models.UniqueConstraint(fields=["peer", "code"], name="remote_administration_code")]
        ordering = ["peer", "code"]

    def __str__(self) -> str:
        return f"{self.code}@{self.peer.name}"

    @property
    def address(self) -> str:
        return f"{self.code}@{self.peer.name}"


class InboxNonce(models.Model):
    """A request a peer signed, seen once: the same request again is a replay."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("envelope nonce")
        verbose_name_plural = _("envelope nonces")
        constraints = [models.UniqueConstraint(fields=["peer", "nonce"], name="inbox_nonce_once")]
        indexes = [models.Index(fields=["seen_at"], name="inbox_nonce_seen")]

    def __str__(self) -> str:
        return self.nonce


class Envelope(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Being delivered")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Not delivered")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The local side(s): both for an envelope within this installation; one, and the peer with
    # the other side's code and name, for an envelope to or from another installation.
    sender = models.ForeignKey(Administration, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recipient = models.ForeignKey(Administration, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, null=True, blank=True, related_name="envelopes")
    remote_code = models.CharField(max_length=40, blank=True)
    remote_name = models.CharField(max_length=200, blank=True)  # in French
    remote_name_ar = models.CharField(max_length=200, blank=True)
    remote_number = models.CharField(max_length=40, blank=True)  # the other side's register number
    outgoing = models.OneToOneField(
        Correspondence, on_delete=models.PROTECT, null=True, blank=True, related_name="envelope_out"
    )
    incoming = models.OneToOneField(
        Correspondence, on_delete=models.PROTECT, null=True, blank=True, related_name="envelope_in"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    sent_by = models.ForeignKey(  # told if it cannot be delivered
        "tenancy.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The acknowledgement (canonical JSON) and the recipient's seal over it (detached CMS). On the
    # recipient's side the text is written when the envelope is registered, and the seal after
    # that commit (pending meanwhile: exchange.acknowledgements).
    acknowledgement = models.TextField(blank=True)
    acknowledgement_seal = models.BinaryField(default=bytes)
    acknowledgement_pending = models.BooleanField(default=False)
    # Between installations: what was sent (canonical JSON) and the sender's seal over it.
    manifest = models.TextField(blank=True)
    manifest_seal = models.BinaryField(default=bytes)

    class Meta:
        verbose_name = _("envelope")
        verbose_name_plural = _("envelopes")
        indexes = [
            models.Index(fields=["next_attempt_at"], name="envelope_due", condition=models.Q(status="pending")),
            models.Index(
                fields=["delivered_at"], name="envelope_unsealed", condition=models.Q(acknowledgement_pending=True)
            ),
            models.Index(fields=["sender", "-created_at"], name="envelope_sender"),
            models.Index(fields=["recipient", "-created_at"], name="envelope_recipient"),
        ]

    def __str__(self) -> str:
        return f"envelope {self.id} ({self.status})"

    @property
    def sender_code(self) -> str:
        return self.sender.code if self.sender is not None else f"{self.remote_code}@{self.peer_name}"

    @property
    def recipient_code(self) -> str:
        return self.recipient.code if self.recipient is not None else f"{self.remote_code}@{self.peer_name}"

    @property
    def peer_name(self) -> str:
        return self.peer.name if self.peer is not None else ""

    @property
    def subject(self) -> str:
        letter = self.outgoing or self.incoming
        return letter.subject if letter is not None else ""

    @property
    def outgoing_number(self) -> str:
        """The sender's register number (ours, or the peer's as its manifest said)."""
        return self.outgoing.number if self.outgoing is not None else self.remote_number

    @property
    def incoming_number(self) -> str:
        """The recipient's register number (ours, or the peer's as its acknowledgement said)."""
        return self.incoming.number if self.incoming is not None else self.remote_number

    @property
    def sender_name(self) -> str:
        return self.sender.name if self.sender is not None else self._remote_name()

    @property
    def recipient_name(self) -> str:
        return self.recipient.name if self.recipient is not None else self._remote_name()

    def _remote_name(self) -> str:
        """The other installation's administration, in the current language when we have it."""
        name = in_language(self.remote_name_ar, self.remote_name)
        return f"{name} ({self.peer.label or self.peer.name})" if self.peer is not None else name


class ProvidedDocument(models.Model):
    """A kind of document an administration delivers to others on request (once-only), either
    at once (``automatic``: the latest one it holds for the person, sealed) or after one of its
    agents approves."""

    administration = models.ForeignKey(Administration, on_delete=models.CASCADE, related_name="provided_documents")
    code = models.CharField(_("code"), max_length=40)
    name_ar = models.CharField(_("name in Arabic"), max_length=200)
    name_fr = models.CharField(_("name in French"), max_length=200)
    automatic = models.BooleanField(_("delivered automatically"), default=False)
    is_active = models.BooleanField(_("delivered"), default=True)

    class Meta:
        verbose_name = _("document provided")
        verbose_name_plural = _("documents provided")
        constraints = [models.UniqueConstraint(fields=["administration", "code"], name="provided_document_code")]
        ordering = ["administration", "code"]

    def __str__(self) -> str:
        return f"{self.administration.code}/{self.code}"

    @property
    def name(self) -> str:
        return in_language(self.name_ar, self.name_fr)


class HeldDocument(models.Model):
    """A document an administration holds about a person (a certificate it issued), which it may
    deliver to another administration instead of the person carrying it."""

    kind = models.ForeignKey(ProvidedDocument, on_delete=models.PROTECT, related_name="held")
    national_id = models.CharField(max_length=20, db_index=True)
    person_name = models.CharField(max_length=200)
    reference = models.CharField(max_length=60, blank=True)
    blob = models.ForeignKey("documents.Blob", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=160)
    issued_on = models.DateField()
    registered_at = models.DateTimeField()
    registered_by = models.ForeignKey("tenancy.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("document held")
        verbose_name_plural = _("documents held")
        indexes = [models.Index(fields=["kind", "national_id", "-issued_on"], name="held_document_person")]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference or self.pk}"


class DocumentRequest(models.Model):
    """A once-only request: an administration handling a person's request asks the
    administration that holds a document about that person, instead of asking the person."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting the holder")
        DELIVERED = "delivered", _("Delivered")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")  # could not be sent to another installation within the retry window

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Both sides here, or one side here and the other on a peer (its code and names), like envelopes;
    # the peer's side keeps its own row with the same id. The case is on the requester's side.
    requester = models.ForeignKey(Administration, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    case = models.ForeignKey(
        "workflow.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="document_requests"
    )
    provider = models.ForeignKey(Administration, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    remote_code = models.CharField(max_length=40, blank=True)
    remote_name_ar = models.CharField(max_length=200, blank=True)
    remote_name_fr = models.CharField(max_length=200, blank=True)
    file_number = models.CharField(max_length=32, blank=True)  # the requester's file, as registered
    remote_kind = models.CharField(max_length=40, blank=True)  # the holder's document code, when remote
    kind = models.ForeignKey(ProvidedDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Copied when asked: the procedure's list of documents may change afterwards.
    document_name_ar = models.CharField(max_length=200)
    document_name_fr = models.CharField(max_length=200)
    procedure_code = models.CharField(max_length=40, blank=True)
    procedure_name_fr = models.CharField(max_length=200, blank=True)
    procedure_name_ar = models.CharField(max_length=200, blank=True)
    national_id = models.CharField(max_length=20)
    person_name = models.CharField(max_length=200)
    citizen = models.ForeignKey("tenancy.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=500, blank=True)
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(  # empty on the holder's side of a peer's request
        "tenancy.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_by_name = models.CharField(max_length=200, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(  # empty for an automatic answer
        "tenancy.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_by_name = models.CharField(max_length=200, blank=True)  # a peer's agent
    # Between installations: when the request reached the holder (requester's side), when the
    # answer reached the requester (holder's side); empty while the worker still has to send it.
    sent_at = models.DateTimeField(null=True, blank=True)
    answer_sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the worker tries again to send the request (or the answer) after a failed attempt.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    held = models.ForeignKey(HeldDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    blob = models.ForeignKey(  # the delivered copy, sealed by the provider
        "documents.Blob", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("document request")
        verbose_name_plural = _("document requests")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "document_name_fr"],
                condition=models.Q(status="pending"),
                name="document_request_one_pending",
            )
        ]
        indexes = [
            models.Index(fields=["provider", "status", "-requested_at"], name="document_request_provider"),
            models.Index(fields=["requester", "-requested_at"], name="document_request_requester"),
        ]

    def __str__(self) -> str:
        return f"{self.document_name_fr} ({self.status})"

    @property
    def document_name(self) -> str:
        return in_language(self.document_name_ar, self.document_name_fr)

    @property
    def sending(self) -> str:
        """Where a pending request to another installation stands on its way there, for the
        requester's staff ("" for a holder here, or once answered)."""
        if self.peer_id is None or self.requester_id is None or self.status != self.Status.PENDING:
            return ""
        if self.sent_at is not None:
            return str(_("Sent"))
        if self.attempts:
            return str(_("Failed — will retry"))
        return str(_("Waiting to be sent"))

    def _remote(self) -> str:
        name = in_language(self.remote_name_ar, self.remote_name_fr)
        return f"{name or self.remote_code} ({self.peer.label or self.peer.name})" if self.peer else name

    @property
    def requester_name(self) -> str:
        return self.requester.name if self.requester is not None else self._remote()

    @property
    def holder_name(self) -> str:
        return self.provider.name if self.provider is not None else self._remote()

    @property
    def holder_code(self) -> str:
        return (
            self.provider.code
            if self.provider is not None
            else f"{self.remote_code}@{self.peer.name if self.peer else ''}"
        )

    @property
    def requester_code(self) -> str:
        return (
            self.requester.code
            if self.requester is not None
            else f"{self.remote_code}@{self.peer.name if self.peer else ''}"
        )


class AccessLogHead(models.Model):
    """The end of the access log's chain (one row, locked to append)."""

    last_position = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("access log head")
        verbose_name_plural = _("access log heads")

    def __str__(self) -> str:
        return f"access log at {self.last_position}"


class AccessLogEntry(models.Model):
    """One access to a person's data by an administration other than the one they wrote to:
    append-only, each entry chained to the one before by SHA-256 (like the register log)."""

    class Action(models.TextChoices):
        REQUESTED = "requested", _("Asked for a document about you")
        DELIVERED = "delivered", _("Delivered a document about you")
        REFUSED = "refused", _("Refused to deliver a document about you")
        READ = "read", _("Read a document about you")

    position = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    national_id = models.CharField(max_length=20, db_index=True)
    citizen = models.ForeignKey("tenancy.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    # Who accessed: an administration here, or one on a peer (then only its name and code).
    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    administration_name = models.CharField(max_length=200, blank=True)
    actor_name = models.CharField(max_length=200, blank=True)  # empty: done automatically
    payload = models.TextField()  # canonical JSON of what the entry says, what the hash covers
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)
    request = models.ForeignKey(DocumentRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log entries")
        ordering = ["position"]
        indexes = [models.Index(fields=["citizen", "-position"], name="access_log_citizen")]

    def __str__(self) -> str:
        return f"access {self.position} {self.action}"

    @property
    def who(self) -> str:
        return self.administration.name if self.administration is not None else self.administration_name

    @cached_property
    def facts(self) -> dict[str, Any]:
        return dict(json.loads(self.payload)["facts"])

    @property
    def document_name(self) -> str:
        document = self.facts.get("document", {})
        return in_language(document.get("ar", ""), document.get("fr", ""))

    @property
    def procedure_name(self) -> str:
        procedure = self.facts.get("procedure", {})
        return in_language(procedure.get("ar", ""), procedure.get("fr", ""))

    @property
    def file_number(self) -> str:
        return str(self.facts.get("file", ""))

    @property
    def reason(self) -> str:
        """Why the holder refused (only for a refusal)."""
        return str(self.facts.get("reason", "")) if self.action == self.Action.REFUSED else ""
