"""The audit trail: who did what, to which object, when. Append-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    """Every kind of event the audit trail records: the one list, so a reader of the trail (an
    auditor, the person whose data it was) can be told what each one means in their language."""

    # Accounts and staff
    ACCOUNT_REGISTERED = "account.registered", _("Account created")
    ACCOUNT_EMAIL_VERIFIED = "account.email_verified", _("E-mail address confirmed")
    ACCOUNT_PASSWORD_CHANGED = "account.password_changed", _("Password changed")
    ACCOUNT_PASSWORD_RESET = "account.password_reset", _("Password reset by e-mail")
    PLATFORM_ADMIN_CREATED = "account.platform_admin_created", _("Platform administrator created")
    API_TOKEN_ISSUED = "api_token.issued", _("API token issued")
    ADMINISTRATION_CREATED = "administration.created", _("Administration created")
    ADMINISTRATION_CHANGED = "administration.changed", _("Administration changed")
    SERVICE_CREATED = "service.created", _("Service created")
    SERVICE_RENAMED = "service.renamed", _("Service renamed")
    MEMBERSHIP_GRANTED = "membership.granted", _("Role given")
    MEMBERSHIP_REVOKED = "membership.revoked", _("Role withdrawn")
    # Catalogue
    CATALOGUE_STARTER_LOADED = "catalogue.starter_loaded", _("Starter catalogue loaded")
    PROCEDURE_SAVED = "procedure.saved", _("Procedure saved")
    CALENDAR_CHANGED = "calendar.changed", _("Calendar changed")
    CALENDAR_RESET = "calendar.reset", _("Calendar reset")
    ROUTING_RULE_ADDED = "routing_rule.added", _("Routing rule added")
    ROUTING_RULE_DELETED = "routing_rule.deleted", _("Routing rule deleted")
    LETTER_TEMPLATE_SAVED = "letter_template.saved", _("Letter template saved")
    # Register and correspondence
    CORRESPONDENCE_REGISTERED = "correspondence.registered", _("Correspondence registered")
    CORRESPONDENCE_VIEWED = "correspondence.viewed", _("Correspondence viewed")
    CORRESPONDENCE_TRACKED = "correspondence.tracked", _("Correspondence tracked")
    ATTACHMENT_DOWNLOADED = "attachment.downloaded", _("Attachment downloaded")
    RECEIPT_ISSUED = "receipt.issued", _("Receipt issued")
    REGISTER_SEARCHED = "register.searched", _("Register searched")
    REGISTER_VERIFIED = "register.verified", _("Register verified")
    REGISTER_ALTERED = "register.altered", _("Register found altered")
    REGISTER_CHECKPOINT = "register.checkpoint", _("Register checkpoint")
    REGISTER_COUNTERS_REPAIRED = "register.counters_repaired", _("Register counters repaired")
    REGISTER_IMPORT_REQUESTED = "register.import_requested", _("Register import requested")
    REGISTER_IMPORTED = "register.imported", _("Register imported")
    # Processing
    CASE_ASSIGNED = "case.assigned", _("Request assigned")
    CASE_SENT_BACK = "case.sent_back", _("Request sent back")
    CASE_AGENT_ASSIGNED = "case.agent_assigned", _("Agent assigned")
    CASE_STARTED = "case.started", _("Processing started")
    CASE_NOTED = "case.noted", _("Note added")
    CASE_CLOSED = "case.closed", _("Request closed")
    CASE_ANSWERED = "case.answered", _("Request answered")
    CASE_REJECTED = "case.rejected", _("Request rejected")
    CASE_COMPLETION_REQUESTED = "case.completion_requested", _("Missing documents asked for")
    CASE_COMPLETED = "case.completed", _("Missing documents received")
    CASE_ATTESTATION_ISSUED = "case.attestation_issued", _("Attestation of silence issued")
    NOTE_SENT = "note.sent", _("Internal note sent")
    # Parapheur
    FOLDER_SUBMITTED = "folder.submitted", _("Folder submitted for signature")
    FOLDER_APPROVED_BY_DELEGATION = "folder.approved_by_delegation", _("Folder approved by delegation")
    FOLDER_OPINION_BY_DELEGATION = "folder.opinion_by_delegation", _("Opinion given by delegation")
    FOLDER_SIGNED_BY_DELEGATION = "folder.signed_by_delegation", _("Folder signed by delegation")
    FOLDER_REJECTED_BY_DELEGATION = "folder.rejected_by_delegation", _("Folder rejected by delegation")
    DELEGATION_CREATED = "delegation.created", _("Delegation given")
    DELEGATION_ENDED = "delegation.ended", _("Delegation ended")
    CIRCUIT_SAVED = "circuit.saved", _("Signature circuit saved")
    SIGNING_CERTIFICATE_ISSUED = "signing_certificate.installation", _("Signing certificate issued")
    SIGNING_CERTIFICATE_IMPORTED = "signing_certificate.imported", _("Signing certificate imported")
    SIGNING_CERTIFICATE_REVOKED = "signing_certificate.revoked", _("Signing certificate revoked")
    # Exchange between administrations and once-only documents
    EXCHANGE_SENT = "exchange.sent", _("Envelope sent")
    EXCHANGE_DELIVERED = "exchange.delivered", _("Envelope delivered")
    EXCHANGE_ACKNOWLEDGED = "exchange.acknowledged", _("Envelope acknowledged")
    EXCHANGE_REFUSED = "exchange.refused", _("Envelope refused")
    EXCHANGE_FAILED = "exchange.failed", _("Envelope given up: not delivered in time")
    EXCHANGE_PEER_PINNED = "exchange.peer_pinned", _("Peer installation pinned")
    ONCE_ONLY_REQUESTED = "once_only.requested", _("Document asked of its holder")
    ONCE_ONLY_RECEIVED = "once_only.received", _("Document request received")
    ONCE_ONLY_ANSWERED = "once_only.answered", _("Document request answered")
    ONCE_ONLY_PROVIDED = "once_only.provided", _("Document declared provided")
    ONCE_ONLY_HELD = "once_only.held", _("Document declared held")
    ONCE_ONLY_DELIVERED = "once_only.delivered", _("Document delivered")
    ONCE_ONLY_REFUSED = "once_only.refused", _("Document request refused")
    ONCE_ONLY_FAILED = "once_only.failed", _("Document request failed: not sent in time, or its answer was altered")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    administration = models.ForeignKey(
        "tenancy.Administration", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64, choices=AuditAction.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # For events that touch a person's data: whose data it was, so they can see every access.
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["administration", "-occurred_at"]),
            models.Index(fields=["subject_user", "-occurred_at"]),
        ]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"
