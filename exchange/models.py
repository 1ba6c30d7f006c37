"""Exchange between administrations: who can be reached (the directory), and the envelopes that
carry correspondence from one register to another.

An **envelope** is written in the same transaction as the outgoing registration it carries (the
outbox), delivered by the worker with retries, and registered once on arrival: its id is the
recipient's key against duplicates. Delivered, it holds the recipient's **acknowledgement**: the
recipient's registration number and time, sealed by the recipient administration.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.models import Correspondence
from tenancy.models import Administration


class Envelope(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Being delivered")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Not delivered")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="+")
    outgoing = models.OneToOneField(Correspondence, on_delete=models.PROTECT, related_name="envelope_out")
    incoming = models.OneToOneField(
        Correspondence, on_delete=models.PROTECT, null=True, blank=True, related_name="envelope_in"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The acknowledgement (canonical JSON) and the recipient's seal over it (detached CMS).
    acknowledgement = models.TextField(blank=True)
    acknowledgement_seal = models.BinaryField(default=bytes)

    class Meta:
        indexes = [
            models.Index(fields=["next_attempt_at"], name="envelope_due", condition=models.Q(status="pending")),
            models.Index(fields=["sender", "-created_at"], name="envelope_sender"),
            models.Index(fields=["recipient", "-created_at"], name="envelope_recipient"),
        ]

    def __str__(self) -> str:
        return f"envelope {self.id} ({self.status})"
