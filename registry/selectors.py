"""Who may see which correspondence: the one place that decides, for pages and the API.

Views never query correspondence directly; they call these helpers, which raise
:class:`NotFound` (never "forbidden", so outsiders cannot probe what exists) and, for staff
reads of a record holding someone's personal data, write the access to the audit trail.
"""

from __future__ import annotations

import re
from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from audit.models import AuditAction
from audit.services import audit_record
from core.errors import NotFound
from documents.models import TextLayer
from registry.models import (
    Attachment,
    Correspondence,
    Direction,
    Receipt,
    RegisterCheckpoint,
    RegisterImport,
    RegisterLogEntry,
    SealedDocument,
)
from tenancy.access import Scope
from tenancy.models import Administration, User
from tenancy.permissions import Action


def register_entries(
    scope: Scope,
    *,
    direction: str | None = None,
    number: str = "",
    sender: str = "",
    subject: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Correspondence]:
    """The register of the scope's administration as its user may read it, filtered."""
    if not scope.may(Action.READ):
        return Correspondence.objects.none()
    entries = Correspondence.objects.filter(administration=scope.administration).select_related("recipient_service")
    if not scope.may(Action.READ_CONFIDENTIAL):
        entries = entries.filter(confidential=False)
    if direction:
        entries = entries.filter(direction=direction)
    if number:
        entries = entries.filter(number__icontains=number.strip())
    if sender:  # the sender of an incoming letter or the addressee of an outgoing one
        word = sender.strip()
        entries = entries.filter(
            Q(sender_name__icontains=word)
            | Q(sender_email__icontains=word)
            | Q(addressee_name__icontains=word)
            | Q(addressee_email__icontains=word)
        )
    if subject:
        entries = entries.filter(subject__icontains=subject.strip())
    if date_from:
        entries = entries.filter(registered_at__date__gte=date_from)
    if date_to:
        entries = entries.filter(registered_at__date__lte=date_to)
    return entries.order_by("-registered_at", "-id")


def correspondence_for(scope: Scope, correspondence_id: int, *, for_update: bool = False) -> Correspondence:
    """A correspondence of the scope's administration its user may read (confidential ones only
    to roles that may read them), the access audited; NotFound otherwise. ``for_update`` locks
    its row until the end of the caller's transaction."""
    if not scope.may(Action.READ):
        raise NotFound
    queryset = Correspondence.objects.select_related(
        "administration", "recipient_service", "sender_account", "addressee_account"
    )
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    correspondence = queryset.filter(pk=correspondence_id, administration=scope.administration).first()
    if correspondence is None or (correspondence.confidential and not scope.may(Action.READ_CONFIDENTIAL)):
        raise NotFound
    audit_record(
        actor=scope.user,
        action=AuditAction.CORRESPONDENCE_VIEWED,
        obj=correspondence,
        administration=correspondence.administration,
        subject_user=correspondence.correspondent_account,
    )
    return correspondence


def tracked_correspondence(correspondence_id: int) -> Correspondence | None:
    """A correspondence with its administration and receipt, for the tracking pages, which have
    checked its number and tracking code (kept in the session)."""
    return Correspondence.objects.select_related("administration", "receipt").filter(pk=correspondence_id).first()


def attachment_for(correspondence: Correspondence, position: int, *, searchable: bool = False) -> Attachment:
    """Attachment ``position`` of a correspondence already read (its access checked), with its
    file (and, ``searchable``, the searchable copy of a scan); NotFound when it has none there."""
    related = "blob__text_layer__searchable" if searchable else "blob"
    attachment = correspondence.attachments.select_related(related).filter(position=position).first()
    if attachment is None:
        raise NotFound
    return attachment


def register_imports_of(administration: Administration, *, limit: int = 10) -> list[RegisterImport]:
    """The latest imports of former registers into ``administration``, newest first."""
    return list(RegisterImport.objects.filter(administration=administration).order_by("-created_at")[:limit])


def register_import_for(administration: Administration, import_id: int, *, status: str | None = None) -> RegisterImport:
    """An import of a former register into ``administration`` (in ``status``, when given); NotFound otherwise."""
    imports = RegisterImport.objects.filter(pk=import_id, administration=administration)
    if status is not None:
        imports = imports.filter(status=status)
    found = imports.first()
    if found is None:
        raise NotFound
    return found


def attachments_with_text(ids: list[int]) -> dict[int, list[tuple[Attachment, TextLayer | None]]]:
    """The attachments of the correspondences ``ids``, in order, each with its text layer (how
    its text for search was made, or that it is still waited for): two statements."""
    attachments = list(Attachment.objects.filter(correspondence_id__in=ids).select_related("blob").order_by("position"))
    layers = TextLayer.objects.in_bulk([a.blob_id for a in attachments])
    found: dict[int, list[tuple[Attachment, TextLayer | None]]] = {pk: [] for pk in ids}
    for attachment in attachments:
        found[attachment.correspondence_id].append((attachment, layers.get(attachment.blob_id)))
    return found


def deposits_of(user: User) -> QuerySet[Correspondence]:
    """What ``user`` deposited themself (incoming letters they sent), newest first."""
    if not user.is_authenticated:
        return Correspondence.objects.none()
    return (
        Correspondence.objects.filter(sender_account=user, direction=Direction.INCOMING)
        .select_related("administration", "receipt")
        .order_by("-registered_at", "-id")
    )


def deposit_for_owner(user: User, correspondence_id: int) -> Correspondence:
    correspondence = deposits_of(user).filter(pk=correspondence_id).first()
    if correspondence is None:
        raise NotFound
    return correspondence


def letters_to(user: User) -> QuerySet[Correspondence]:
    """The sealed letters administrations sent to ``user`` (outgoing letters addressed to their
    account: answers, rejections, requests to complete a file), newest first, each with its
    letter (the sealed document) and the deposit it answers."""
    if not user.is_authenticated:
        return Correspondence.objects.none()
    return (
        Correspondence.objects.filter(addressee_account=user, direction=Direction.OUTGOING)
        .filter(Exists(SealedDocument.objects.filter(correspondence=OuterRef("pk"), kind=SealedDocument.Kind.LETTER)))
        .select_related("administration", "in_reply_to")
        .prefetch_related(
            Prefetch(
                "sealed_documents",
                queryset=SealedDocument.objects.filter(kind=SealedDocument.Kind.LETTER),
                to_attr="letters",
            )
        )
        .order_by("-registered_at", "-id")
    )


def letter_being_sealed(correspondence: Correspondence) -> bool:
    """Whether the letter of this outgoing correspondence is still being sealed (registry.sealed)."""
    return SealedDocument.objects.filter(
        correspondence=correspondence, kind=SealedDocument.Kind.LETTER, blob__isnull=True
    ).exists()


def letter_for_addressee(user: User, correspondence_id: int) -> tuple[Correspondence, SealedDocument]:
    """A letter sent to ``user`` and its sealed document; :class:`NotFound` for anyone else."""
    correspondence = letters_to(user).filter(pk=correspondence_id).first()
    if correspondence is None:
        raise NotFound
    return correspondence, correspondence.letters[0]  # type: ignore[attr-defined]


# A verification token as ``secrets.token_urlsafe`` makes it; anything else finds nothing.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+")


def receipt_by_token(token: str) -> Receipt | None:
    if not token or len(token) > 64 or not TOKEN_SHAPE.fullmatch(token):
        return None
    return (
        Receipt.objects.select_related("correspondence__administration").filter(token=token, blob__isnull=False).first()
    )


def receipt_by_file_hash(sha256: str) -> Receipt | None:
    return Receipt.objects.select_related("correspondence__administration").filter(blob_id=sha256).first()


def sealed_document_by_token(token: str) -> SealedDocument | None:
    if not token or len(token) > 64 or not TOKEN_SHAPE.fullmatch(token):
        return None
    # As for a receipt: a document still being made has not been handed to anyone yet.
    return (
        SealedDocument.objects.select_related("correspondence__administration")
        .filter(token=token, blob__isnull=False)
        .first()
    )


def sealed_document_by_file_hash(sha256: str) -> SealedDocument | None:
    return SealedDocument.objects.select_related("correspondence__administration").filter(blob_id=sha256).first()


def log_entries_of(correspondence: Correspondence) -> QuerySet[RegisterLogEntry]:
    return RegisterLogEntry.objects.filter(correspondence=correspondence).order_by("position")


def log_of(administration: Administration) -> QuerySet[RegisterLogEntry]:
    return (
        RegisterLogEntry.objects.filter(administration=administration)
        .select_related("correspondence")
        .order_by("-position")
    )


def checkpoints_of(administration: Administration) -> QuerySet[RegisterCheckpoint]:
    return RegisterCheckpoint.objects.filter(administration=administration).order_by("-created_at")


def correspondences_by_tracking(number: str, code: str) -> list[Correspondence]:
    """The requests a depositor follows with the number and the tracking code their receipt
    prints, in every active administration: numbers repeat between administrations, codes are
    random (50 bits, 40 for receipts before them), so nearly always one, or none.

    Bounded against guessing: one attempt can only hit the requests of that number (one per
    administration), and attempts are rate-limited per client address by the caller."""
    import hmac

    from registry.services import normalise_tracking_code

    code = normalise_tracking_code(code)
    if not code:
        return []
    candidates = (
        Correspondence.objects.select_related("administration")
        # On the (administration, number) index: one look-up per active administration.
        .filter(
            administration__in=Administration.objects.filter(is_active=True).values("pk"),
            number=number.strip().upper(),
        )
        .exclude(tracking_code="")
        .order_by("administration__code")
    )
    return [c for c in candidates if hmac.compare_digest(c.tracking_code, code)]
