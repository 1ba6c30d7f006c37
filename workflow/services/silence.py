"""Silence-acceptance: when it arises, and its sealed attestation."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from registry.models import SealedDocument
from registry.sealed import sealed_document_pending
from registry.services import new_verification_token
from tenancy.models import User
from workflow import letters
from workflow.calendar import LOCAL_ZONE, local_date
from workflow.models import (
    RUNNING_STATUSES,
    Case,
    SilenceRule,
)
from workflow.services.base import (
    ActionRefused,
    Kind,
    _event,
    _locked_case,
)
from workflow.services.sealing import sealed_document_make_safely


def silence_acceptance_on(case: Case, today: date) -> date | None:
    """The day silence became acceptance, if it did: a running request past its due date."""
    if case.silence_rule != SilenceRule.ACCEPTANCE or case.due_on is None:
        return None
    if case.status not in RUNNING_STATUSES:
        return None
    accepted_on = case.due_on + timedelta(days=1)
    return accepted_on if accepted_on <= today else None


def attestation_issue(*, actor: User | None, case_id: int) -> SealedDocument:
    """Issue (once) the sealed attestation of silence-acceptance of an unanswered request.

    Decided and recorded, pending, under the case's lock; rendered and sealed after commit,
    outside any lock (:mod:`workflow.services.sealing`). Returns the document, still pending
    if sealing failed (the worker makes it later)."""
    with transaction.atomic():
        case = _locked_case(case_id)
        request = case.correspondence
        existing = SealedDocument.objects.filter(correspondence=request, kind=SealedDocument.Kind.ATTESTATION).first()
        if existing is not None:
            return existing
        moment = now()
        accepted_on = silence_acceptance_on(case, local_date(moment))
        if accepted_on is None or case.due_on is None or case.delay_days is None:
            raise ActionRefused(
                "no_silence_acceptance",
                _("Silence has not become acceptance for this request."),
                status=409,
            )
        procedure = case.procedure
        token = new_verification_token()
        data = letters.attestation_data(
            request=request,
            procedure={
                "code": procedure.code if procedure else "",
                "name_ar": procedure.name_ar if procedure else "",
                "name_fr": procedure.name_fr if procedure else "",
                "legal_basis": procedure.legal_basis if procedure else "",
            },
            delay_days=case.delay_days,
            delay_kind=case.delay_kind,
            suspended_days=case.suspended_days,
            due_on=case.due_on,
            accepted_on=accepted_on,
            issued_local=moment.astimezone(LOCAL_ZONE),
            token=token,
        )
        document = sealed_document_pending(
            correspondence=request,
            kind=SealedDocument.Kind.ATTESTATION,
            token=token,
            issued_at=moment,
            draft={"data": data},
        )
        _event(case, Kind.ATTESTATION, actor, public=False, data={"accepted_on": accepted_on.isoformat()})
        audit_record(
            actor=actor,
            action=AuditAction.CASE_ATTESTATION_ISSUED,
            obj=case,
            administration=case.administration,
            subject_user=request.sender_account,
            data={"number": request.number, "accepted_on": accepted_on.isoformat()},
        )
    return sealed_document_make_safely(document_id=document.pk) or document
