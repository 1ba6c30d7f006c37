"""Files kept by Wasl, addressed by the SHA-256 of their bytes."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Blob(models.Model):
    """One stored byte string. Its bytes never change; the same bytes are stored once."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=64)
    pages = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("stored file")
        verbose_name_plural = _("stored files")

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.content_type}, {self.size} B)"


class TextLayer(models.Model):
    """The text of a stored file, for search: read from a PDF's own text, or recognised (OCR)
    in its scanned pages by the worker. The file itself is never changed; a searchable copy
    (the scan with recognised text under it) is stored beside it, except for signed PDFs."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for text recognition")
        DONE = "done", _("Text ready")
        UNAVAILABLE = "unavailable", _("Text recognition unavailable")
        FAILED = "failed", _("Text recognition failed")

    class Method(models.TextChoices):
        NONE = "none", _("No text")
        TEXT = "text", _("Text of the file")
        OCR = "ocr", _("Recognised text (OCR)")

    blob = models.OneToOneField(Blob, on_delete=models.CASCADE, primary_key=True, related_name="text_layer")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    method = models.CharField(max_length=6, choices=Method.choices, default=Method.NONE)
    text = models.TextField(blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    pages_recognised = models.PositiveIntegerField(default=0)
    searchable = models.ForeignKey(Blob, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("text layer")
        verbose_name_plural = _("text layers")
        indexes = [
            models.Index(fields=["next_attempt_at"], name="text_layer_pending", condition=models.Q(status="pending"))
        ]

    def __str__(self) -> str:
        return f"text of {self.blob_id[:12]}… ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status != self.Status.PENDING
