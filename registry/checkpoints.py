"""Sealed checkpoints of the register log: the head hash, sealed, timestamped, chained to the
previous checkpoint, and anchored outside the database (:mod:`registry.anchors`)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record
from core.canonical import sha256_hex
from core.clock import now
from registry.anchors import anchor_file_append
from registry.log import checkpoint_statement, genesis_hash, locked_head
from registry.models import RegisterCheckpoint, RegisterLogHead
from tenancy.models import Administration, User

logger = logging.getLogger(__name__)
ATTEMPTS = 5


def last_checkpoint(administration_id: int) -> RegisterCheckpoint | None:
    return RegisterCheckpoint.objects.filter(administration_id=administration_id).order_by("-created_at", "-pk").first()


def checkpoint_make(
    *, actor: User | None, administration: Administration, reason: str = RegisterCheckpoint.Reason.ON_DEMAND
) -> RegisterCheckpoint:
    """Seal the current head of ``administration``'s log, chained to its previous checkpoint,
    then append it to the administration's anchor file.

    Sealing is slow, so it happens outside any lock; the checkpoint is then recorded under the
    log head's lock only if no other checkpoint was recorded meanwhile (else it is made again on
    the new one), so that checkpoints form one chain. A failure to write the anchor file after
    the commit is logged and repaired by :func:`checkpoints_anchor`.
    """
    from trust.sealing import seal_data
    from trust.services import installation_pki

    pki = installation_pki()
    pki.seal_for(code=administration.code, name_fr=administration.name_fr, name_ar=administration.name_ar)
    for _attempt in range(ATTEMPTS):
        previous = last_checkpoint(administration.pk)
        head = RegisterLogHead.objects.filter(administration=administration).first()
        position = head.last_position if head else 0
        head_hash = head.last_hash if head else genesis_hash(administration)
        created_at = now()
        previous_hash = sha256_hex(previous.statement) if previous is not None else ""
        statement = checkpoint_statement(administration, position, head_hash, created_at, previous_hash)
        seal = seal_data(statement.encode(), pki=pki, administration_code=administration.code)
        with transaction.atomic():
            locked_head(administration)  # one checkpoint maker at a time, for a few milliseconds
            latest = last_checkpoint(administration.pk)
            if (latest.pk if latest else None) != (previous.pk if previous else None):
                continue  # another checkpoint was recorded meanwhile: chain to it
            checkpoint = RegisterCheckpoint.objects.create(
                administration=administration,
                position=position,
                head_hash=head_hash,
                created_at=created_at,
                reason=reason,
                statement=statement,
                seal=seal,
                previous_hash=previous_hash,
            )
            audit_record(
                actor=actor,
                action=AuditAction.REGISTER_CHECKPOINT,
                obj=checkpoint,
                administration=administration,
                data={"position": position, "head_hash": head_hash},
            )
        _anchor(administration, [checkpoint])
        return checkpoint
    raise RuntimeError(f"could not record a checkpoint of {administration.code}: too many made at once")


def _anchor(administration: Administration, checkpoints: list[RegisterCheckpoint]) -> int:
    """Append committed checkpoints to the anchor file and note it; False on failure (logged)."""
    try:
        anchor_file_append(administration.code, [(c.statement, bytes(c.seal)) for c in checkpoints])
    except OSError:
        logger.exception("checkpoints of %s could not be written to the anchor file", administration.code)
        return 0
    RegisterCheckpoint.objects.filter(pk__in=[c.pk for c in checkpoints]).update(anchored_at=now())
    return len(checkpoints)


def checkpoints_anchor() -> int:
    """Append to the anchor files the checkpoints not yet written there (the file could not be
    written when they were made, or they were made before anchor files existed)."""
    written = 0
    waiting = RegisterCheckpoint.objects.filter(anchored_at=None).select_related("administration")
    by_administration: dict[int, list[RegisterCheckpoint]] = {}
    for checkpoint in waiting.order_by("created_at", "pk"):
        by_administration.setdefault(checkpoint.administration_id, []).append(checkpoint)
    for checkpoints in by_administration.values():
        written += _anchor(checkpoints[0].administration, checkpoints)
    return written


def checkpoints_periodic() -> int:
    """Checkpoint every administration whose log moved since its last checkpoint, once that
    one is older than ``WASL_CHECKPOINT_MINUTES``; anchor what is not anchored yet."""
    made = 0
    cutoff = now() - timedelta(minutes=settings.CHECKPOINT_MINUTES)
    for head in RegisterLogHead.objects.select_related("administration"):
        last = last_checkpoint(head.administration_id)
        if last is not None and (last.created_at > cutoff or last.position == head.last_position):
            continue
        checkpoint_make(actor=None, administration=head.administration, reason=RegisterCheckpoint.Reason.PERIODIC)
        made += 1
    return made + checkpoints_anchor()


def seal_verifies(administration_code: str, statement: bytes, seal: bytes) -> bool:
    from trust.services import installation_pki
    from trust.verification import verify_sealed_data

    verdict = verify_sealed_data(statement, seal, pki=installation_pki())
    return bool(verdict.valid and verdict.signer_code == administration_code)
