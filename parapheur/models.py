"""The electronic parapheur: circuits of visas and signatures, the folders that go through them,
people's signing certificates and their delegations.

A **circuit** is a reusable template of an administration: ordered steps, each a visa (approve),
a signature, the administration's seal, or an opinion (asked, never waited for). A step names
who acts: one person, any member of a role (in a service, or anywhere in the administration),
or several people who all act, in any order.

A **folder** copies its circuit's steps when it is submitted (the template may change later
without touching folders under way), holds the main PDF (each signature makes a new version, an
incremental update of the last) and its annexes, and records every act in its history with the
fingerprint of the document at that moment: the fingerprint shown at a visa is the one signed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenancy.models import Administration, Membership, Service

Role = Membership.Role


class StepKind(models.TextChoices):
    VISA = "visa", _("Visa")
    SIGNATURE = "signature", _("Signature")
    SEAL = "seal", _("Seal of the administration")
    OPINION = "opinion", _("Opinion")


class ActorKind(models.TextChoices):
    PERSON = "person", _("One person")
    ROLE = "role", _("Any member of a role")
    ALL = "all", _("All of several people")


class Circuit(models.Model):
    """A reusable circuit of an administration, for a type of document or a service."""

    administration = models.ForeignKey(Administration, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    document_type = models.CharField(
        _("type of document"), max_length=60, blank=True, help_text=_("Letter, decision, contract…")
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("service")
    )
    adjustable = models.BooleanField(
        _("the submitter may adjust it"),
        default=False,
        help_text=_("Add visas and choose the people of each step when submitting a folder."),
    )
    is_active = models.BooleanField(_("open"), default=True)

    class Meta:
        verbose_name_plural = _("circuits")
        constraints = [models.UniqueConstraint(fields=["administration", "code"], name="circuit_code_unique")]
        verbose_name = _("circuit")

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Placement(models.Model):
    """Where a step's visible signature goes: a page (0: the last), a position in millimetres
    from the page's bottom-left corner, or a text tag in the document (``[[sig1]]``), found first."""

    page = models.SmallIntegerField(_("page"), default=0, help_text=_("0 for the last page"))
    x_mm = models.PositiveSmallIntegerField(_("from the left (mm)"), default=120)
    y_mm = models.PositiveSmallIntegerField(_("from the bottom (mm)"), default=25)
    tag = models.CharField(_("text tag"), max_length=30, blank=True)

    class Meta:
        abstract = True


class CircuitStep(Placement):
    circuit = models.ForeignKey(Circuit, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(_("kind"), max_length=10, choices=StepKind.choices)
    actor_kind = models.CharField(_("who acts"), max_length=10, choices=ActorKind.choices, default=ActorKind.PERSON)
    role = models.CharField(_("role"), max_length=12, choices=Role.choices, blank=True)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    people = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        verbose_name = _("circuit step")
        verbose_name_plural = _("circuit steps")
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["circuit", "position"], name="circuit_step_position_unique")]

    def __str__(self) -> str:
        return f"{self.circuit_id}#{self.position} {self.kind}"


class Folder(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        REJECTED = "rejected", _("Rejected")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Withdrawn")

    administration = models.ForeignKey(Administration, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=300)
    document_type = models.CharField(_("type of document"), max_length=60, blank=True)
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    circuit = models.ForeignKey(Circuit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    # The position of the step under way (blocking steps only); 0 once the folder is finished.
    current = models.PositiveSmallIntegerField(default=1)
    document_name = models.CharField(max_length=200)
    document = models.CharField(max_length=64, help_text="SHA-256 of the main document's current version")
    original = models.CharField(max_length=64, help_text="SHA-256 of the document as submitted")
    proof = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the sealed proof slip")
    submitted_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    remind_on = models.DateField(null=True, blank=True)
    # A reply drafted on the processing desk, registered when the circuit completes.
    case = models.ForeignKey("workflow.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="folders")
    reply = models.JSONField(default=dict, blank=True)
    # The reply's letter, once registered in the outgoing register (its seal made after that).
    letter = models.ForeignKey(
        "registry.SealedDocument", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Waiting for work done after the commit of the act that asked for it
    # (parapheur.services.finishing): the seal of a seal step under way, or, once the circuit
    # is complete, the reply's registration and the proof slip. Failures are counted here.
    finishing = models.BooleanField(default=False)
    finish_attempts = models.PositiveSmallIntegerField(default=0)
    finish_error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = _("folders")
        indexes = [
            models.Index(fields=["administration", "status", "-updated_at"], name="folder_admin_status"),
            models.Index(fields=["submitter", "-updated_at"], name="folder_submitter"),
            # The public verification page finds a signed document or a proof slip by its hash.
            models.Index(fields=["document"], name="folder_document"),
            models.Index(fields=["proof"], name="folder_proof"),
            # The worker's sweep of folders left finishing by an error or a crash.
            models.Index(fields=["updated_at"], name="folder_finishing", condition=models.Q(finishing=True)),
        ]
        verbose_name = _("folder")

    def __str__(self) -> str:
        return f"folder {self.pk} ({self.status})"


class FolderAnnex(models.Model):
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="annexes")
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)

    class Meta:
        verbose_name = _("folder annex")
        verbose_name_plural = _("folder annexes")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class FolderStep(Placement):
    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        ACTIVE = "active", _("Under way")
        DONE = "done", _("Done")

    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=StepKind.choices)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    role = models.CharField(max_length=12, choices=Role.choices, blank=True)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the people of this step were last reminded that it waits for them.
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("folder step")
        verbose_name_plural = _("folder steps")
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["folder", "position"], name="folder_step_position_unique")]
        indexes = [models.Index(fields=["state", "kind"], name="folder_step_state")]

    def __str__(self) -> str:
        return f"{self.folder_id}#{self.position} {self.kind} {self.state}"


class StepActor(models.Model):
    """A person expected at a step (named ones), or who acted at it (any member of a role)."""

    step = models.ForeignKey(FolderStep, on_delete=models.CASCADE, related_name="actors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acted_at = models.DateTimeField(null=True, blank=True)
    # Who acted for them, by delegation (the delegate); empty when they acted themselves.
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("person at a step")
        verbose_name_plural = _("people at steps")
        constraints = [models.UniqueConstraint(fields=["step", "user"], name="step_actor_unique")]
        indexes = [models.Index(fields=["user", "acted_at"], name="step_actor_pending")]

    def __str__(self) -> str:
        return f"{self.step_id}: {self.user_id}"


class FolderEvent(models.Model):
    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Visa given")
        SIGNED = "signed", _("Signed")
        SEALED = "sealed", _("Sealed")
        OPINION = "opinion", _("Opinion given")
        REJECTED = "rejected", _("Rejected")
        RETURNED = "returned", _("Returned to an earlier step")
        ANNOTATED = "annotated", _("Comment")
        COMPLETED = "completed", _("Circuit completed")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        REMINDED = "reminded", _("Reminder sent")

    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    page = models.PositiveSmallIntegerField(null=True, blank=True)  # a comment anchored to a page
    # The main document's fingerprint when the act was made (after it, for a signature).
    document = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("folder event")
        verbose_name_plural = _("folder events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["folder", "at"], name="folder_event_folder_at"),
            # The files the orphan sweep must keep (parapheur/references.py) are looked up by it.
            models.Index(fields=["document"], name="folder_event_document"),
        ]

    def __str__(self) -> str:
        return f"{self.folder_id} {self.kind}"


class SigningCertificate(models.Model):
    """A person's signing certificate and their key, encrypted (:mod:`trust.keystore`)."""

    class Source(models.TextChoices):
        INSTALLATION = "installation", _("Issued by this installation")
        IMPORTED = "imported", _("Imported from a certificate provider")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signing_certificates")
    administration = models.ForeignKey(Administration, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=12, choices=Source.choices)
    title_ar = models.CharField(_("title in Arabic"), max_length=100, blank=True)
    title_fr = models.CharField(_("title in French"), max_length=100, blank=True)
    # The signer's certificate, then its issuers (PEM).
    chain_pem = models.TextField()
    locked_key = models.BinaryField()
    serial = models.CharField(max_length=64)
    subject = models.CharField(max_length=300)
    issuer = models.CharField(max_length=300)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The visible signature block (name and title, Arabic and French), drawn once.
    block = models.BinaryField(default=bytes)

    class Meta:
        verbose_name = _("signing certificate")
        verbose_name_plural = _("signing certificates")
        indexes = [models.Index(fields=["user", "administration", "revoked_at"], name="signing_cert_user")]

    def __str__(self) -> str:
        return self.subject


class Delegation(models.Model):
    """During an absence, ``delegate`` acts at the steps expected of ``delegator``."""

    administration = models.ForeignKey(Administration, on_delete=models.CASCADE, related_name="+")
    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    # Types of document it covers; empty: all.
    document_types = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        indexes = [models.Index(fields=["delegate", "starts_on"], name="delegation_delegate")]

    def __str__(self) -> str:
        return f"{self.delegator_id} → {self.delegate_id} ({self.starts_on}–{self.ends_on})"
