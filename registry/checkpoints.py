"""Sealed checkpoints of the register log: the head hash, sealed and timestamped."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from audit.services import audit_record
from core.clock import now
from registry.facts import facts_from_database
from registry.log import Break, checkpoint_statement, genesis_hash, verify_chain
from registry.models import RegisterCheckpoint, RegisterLogHead
from tenancy.models import Administration, User

DAILY = timedelta(days=1)


def checkpoint_make(
    *, actor: User | None, administration: Administration, reason: str = RegisterCheckpoint.Reason.ON_DEMAND
) -> RegisterCheckpoint:
    """Seal the current head of ``administration``'s log."""
    from trust.sealing import seal_data
    from trust.services import installation_pki

    head = RegisterLogHead.objects.filter(administration=administration).first()
    position = head.last_position if head else 0
    head_hash = head.last_hash if head else genesis_hash(administration)
    created_at = now()
    statement = checkpoint_statement(administration, position, head_hash, created_at)
    pki = installation_pki()
    pki.seal_for(code=administration.code, name_fr=administration.name_fr, name_ar=administration.name_ar)
    seal = seal_data(statement.encode(), pki=pki, administration_code=administration.code)
    with transaction.atomic():
        checkpoint = RegisterCheckpoint.objects.create(
            administration=administration,
            position=position,
            head_hash=head_hash,
            created_at=created_at,
            reason=reason,
            statement=statement,
            seal=seal,
        )
        audit_record(
            actor=actor,
            action="register.checkpoint",
            obj=checkpoint,
            administration=administration,
            data={"position": position, "head_hash": head_hash},
        )
    return checkpoint


def checkpoints_daily() -> int:
    """Checkpoint every administration whose log moved and was not sealed for a day."""
    made = 0
    cutoff = now() - DAILY
    for head in RegisterLogHead.objects.select_related("administration"):
        last = (
            RegisterCheckpoint.objects.filter(administration_id=head.administration_id).order_by("-created_at").first()
        )
        if last is not None and (last.created_at > cutoff or last.position == head.last_position):
            continue
        checkpoint_make(actor=None, administration=head.administration, reason=RegisterCheckpoint.Reason.DAILY)
        made += 1
    return made


def seal_verifies(administration_code: str, statement: bytes, seal: bytes) -> bool:
    from trust.services import installation_pki
    from trust.verification import verify_sealed_data

    verdict = verify_sealed_data(statement, seal, pki=installation_pki())
    return bool(verdict.valid and verdict.signer_code == administration_code)


def verify_administration_log(administration: Administration) -> Break | None:
    """Verify one administration's whole log; the first break, or None when it holds."""
    code = administration.code

    def verify_seal(statement: bytes, seal: bytes) -> bool:
        return seal_verifies(code, statement, seal)

    return verify_chain(administration, expected_facts=facts_from_database, verify_seal=verify_seal)
