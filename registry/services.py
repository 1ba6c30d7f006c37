"""Registration of correspondence: numbering, attachments, the register log.

``correspondence_register`` is the one way a correspondence enters a register. It
validates everything first, stores the files, then in one short transaction takes the
register counter's lock, inserts the rows and appends to the register log. If anything
fails before commit, nothing is registered, no number is used, and files it stored are
discarded. The receipt is issued after commit (:mod:`registry.receipts`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.models import AuditAction, AuditEvent
from audit.services import audit_event, audit_record
from core.clock import now
from core.errors import Refused
from core.rows import Ids, ids_allocate, insert_statements, rows_saved, statements_run
from core.text import one_line, plain_text
from documents import storage
from documents.intake import CheckedFile, store_checked
from documents.models import Blob
from registry.facts import registration_facts
from registry.idempotency import Idempotency, idempotency_bind
from registry.log import LogHead, locked_head_values, log_append_prepared
from registry.models import (
    NUMBER_PREFIX,
    PARTY_TEXT_FIELDS,
    Attachment,
    Channel,
    Correspondence,
    Direction,
    Receipt,
    RegisterCounter,
    RegisterLogEntry,
    RegisterLogHead,
    SenderKind,
)
from tenancy.models import Administration, Service, User

logger = logging.getLogger(__name__)
LOCAL_ZONE = ZoneInfo("Africa/Casablanca")
SUBJECT_MAX = 300
BODY_MAX = 20000


class RegistrationRefused(Refused):
    """The request cannot be registered."""


@dataclass(frozen=True)
class Party:
    """Someone a letter comes from (its sender) or goes to (its addressee): a person, a
    company or an administration, with their account when they have one."""

    kind: str
    name: str
    identifier: str = ""
    email: str = ""
    address: str = ""
    account: User | None = None

    @classmethod
    def of_account(cls, user: User) -> Party:
        is_company = user.kind == User.Kind.COMPANY
        return cls(
            kind=SenderKind.COMPANY if is_company else SenderKind.PERSON,
            name=user.full_name,
            identifier=(user.company_id if is_company else user.national_id) or "",
            email=user.email,
            account=user,
        )


@dataclass
class Registration:
    correspondence: Correspondence
    receipt: Receipt | None  # an incoming letter's deposit receipt; None for an outgoing letter
    attachments: list[Attachment] = field(default_factory=list)
    log_entry: RegisterLogEntry | None = None  # its registration in the register log


@dataclass(frozen=True)
class Follows:
    """What follows from a registration, written in its transaction by the apps built on the
    register (the case of a request).

    ``rows(registration, ids)`` builds the rows, under the register's lock, once the
    correspondence has its number and time; it writes nothing: the registration writes them
    with its own rows, in one round trip. Each row takes its primary key from ``ids``, which
    holds ``keys``: how many of each model, taken before the lock. It may raise, and then
    nothing is registered."""

    keys: Sequence[tuple[type[models.Model], int]]
    rows: Callable[[Registration, Ids], list[models.Model]]


def format_number(direction: str, year: int, sequence: int) -> str:
    return f"{NUMBER_PREFIX[Direction(direction)]}-{year}-{sequence:06d}"


def new_verification_token() -> str:
    """The secret in a receipt's or a sealed document's verification link: 192 bits."""
    return secrets.token_urlsafe(24)


# Letters and digits that cannot be mistaken for one another when read aloud or retyped.
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_tracking_code() -> str:
    """A short code printed on the receipt: 10 symbols of 32, 50 bits, typed as XXXXX-XXXXX.

    With the registration number, and nothing else, it finds the request (``/track/``). Numbers
    repeat between the administrations of an installation, so one guess may hit any of them:
    with up to 1,024 administrations a guess still succeeds at most once in 2^40, as it did
    when codes had 8 symbols and the administration had to be typed too."""
    symbols = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))
    return f"{symbols[:5]}-{symbols[5:]}"


def normalise_tracking_code(code: str) -> str:
    """A code as typed (any case, with or without its dash or spaces) as it is stored; receipts
    made before codes had 10 symbols carry 8 (XXXX-XXXX). Empty when it can be neither."""
    symbols = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(symbols) == 10:
        return f"{symbols[:5]}-{symbols[5:]}"
    return f"{symbols[:4]}-{symbols[4:]}" if len(symbols) == 8 else ""


def _check(
    *,
    administration: Administration | None,
    direction: str,
    subject: str,
    body: str,
    has_files: bool,
    sender: Party | None,
    addressee: Party | None,
    recipient_service: Service | None,
) -> None:
    if administration is None or not administration.is_active:
        raise RegistrationRefused(
            "unknown_recipient", _("There is no administration with this code on Wasl."), field="recipient", status=404
        )
    if not subject.strip():
        raise RegistrationRefused("subject_required", _("Write the subject of your correspondence."), field="subject")
    if len(subject) > SUBJECT_MAX:
        raise RegistrationRefused(
            "subject_too_long",
            ngettext(
                "The subject is limited to %(limit)d character.",
                "The subject is limited to %(limit)d characters.",
                SUBJECT_MAX,
            )
            % {"limit": SUBJECT_MAX},
            field="subject",
        )
    if not body and not has_files:
        # A correspondence says something: its text, or a file (the web form, the counter, the
        # API and the exchange all come here).
        raise RegistrationRefused(
            "content_required", _("Write the text of your correspondence or attach a file."), field="body"
        )
    if len(body) > BODY_MAX:
        raise RegistrationRefused(
            "body_too_long",
            ngettext(
                "The text is limited to %(limit)d character.", "The text is limited to %(limit)d characters.", BODY_MAX
            )
            % {"limit": BODY_MAX},
            field="body",
        )
    if direction == Direction.OUTGOING:
        if sender is not None or addressee is None:
            raise TypeError("an outgoing letter names its addressee, and no sender")
        if not addressee.name.strip():
            raise RegistrationRefused("addressee_required", _("Give the addressee's name."), field="addressee_name")
    else:
        if addressee is not None or sender is None:
            raise TypeError("an incoming letter names its sender, and no addressee")
        if not sender.name.strip():
            raise RegistrationRefused("sender_required", _("Give the sender's name."), field="sender_name")
    if recipient_service is not None and recipient_service.administration_id != administration.pk:
        raise RegistrationRefused(
            "unknown_service", _("This service does not belong to the administration."), field="service"
        )


class _YearTurned(Exception):
    """The year turned while a registration waited for its register's lock. Its transaction
    is rolled back (the number taken goes back, every lock it took is released) and it starts
    again in the new year's register: waiting for another counter while holding the log head
    could deadlock with a registration holding that counter."""


def _take_number(administration_id: int, direction: str, year: int) -> tuple[int, LogHead | None] | None:
    """Increment one register counter and return its new value, with the administration's
    register log head when it is locked here; None when the counter has no row yet (then
    nothing is locked).

    The counter's UPDATE takes its row's lock until the transaction ends, so two registrations
    never get the same number, and a transaction that fails gives its number back. The head's
    lock comes second, always. On PostgreSQL both are one statement (one round trip less under
    the lock): the head is read, and locked, only for a counter row the UPDATE returned (None
    when the administration has no head yet). Elsewhere the head is left to the caller.
    """
    quote = connection.ops.quote_name
    taken = (
        f"UPDATE {quote(RegisterCounter._meta.db_table)} SET last_number = last_number + 1 "  # noqa: S608 (table name from the model)
        "WHERE administration_id = %s AND direction = %s AND year = %s RETURNING last_number"
    )
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(taken, [administration_id, direction, year])
            row = cursor.fetchone()
            return None if row is None else (int(row[0]), None)
        cursor.execute(
            f"WITH taken AS ({taken}) SELECT taken.last_number, head.id, head.last_position, head.last_hash "  # noqa: S608
            "FROM taken LEFT JOIN LATERAL (SELECT id, last_position, last_hash "
            f"FROM {quote(RegisterLogHead._meta.db_table)} "
            "WHERE administration_id = %s AND taken.last_number IS NOT NULL FOR UPDATE) AS head ON true",
            [administration_id, direction, year, administration_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return int(row[0]), (None if row[1] is None else (int(row[1]), int(row[2]), str(row[3])))


def _next_number(administration: Administration, direction: str) -> tuple[int, int, datetime, LogHead]:
    """Lock the register counter of the current year and take its next number, then the
    register log head of the administration (created at its first entry).

    The registration time is read after the locks are held, so within a register the
    numbers and the times go up together.
    """
    year = now().astimezone(LOCAL_ZONE).year
    while True:
        taken = _take_number(administration.pk, direction, year)
        if taken is not None:
            break
        # The register's first number this year: create its counter (no lock is held yet).
        RegisterCounter.objects.get_or_create(administration=administration, direction=direction, year=year)
    number, head = taken
    registered_at = now()
    if registered_at.astimezone(LOCAL_ZONE).year != year:
        raise _YearTurned
    if head is None:  # not read with the number, or the administration's first entry
        head = locked_head_values(administration)
    return year, number, registered_at, head


def _counter_behind(administration: Administration, direction: str) -> bool:
    """Whether a register counter of the current year is below the highest number given (the
    database was edited): every number it gives is taken. Logged loudly; the register stays
    refused until ``manage.py repair_register_counters`` sets the counter right."""
    year = now().astimezone(LOCAL_ZONE).year
    counter = RegisterCounter.objects.filter(administration=administration, direction=direction, year=year).first()
    highest = (
        Correspondence.objects.filter(administration=administration, direction=direction, year=year)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    behind = counter is not None and highest is not None and counter.last_number < highest
    if behind:
        logger.error(
            "register counter of %s/%s/%s is at %s, below its highest number %s: registrations refused until "
            "`manage.py repair_register_counters` repairs it",
            administration.code,
            direction,
            year,
            counter.last_number if counter else None,
            highest,
        )
    return behind


@dataclass(frozen=True)
class CounterRepair:
    direction: str
    year: int
    was: int | None  # None: the register had no counter
    becomes: int


def register_counters_repair(*, actor: User | None, administration: Administration, apply: bool) -> list[CounterRepair]:
    """Set every register counter of ``administration`` to its register's highest number (a
    counter ahead would leave a gap, one behind refuses every registration); create a missing
    one. With ``apply`` false, only say what would change. Takes the counters' locks; audited."""
    from django.db.models import Max

    repairs: list[CounterRepair] = []
    with transaction.atomic():
        counters = {
            (c.direction, c.year): c
            for c in RegisterCounter.objects.select_for_update().filter(administration=administration)
        }
        highest = {
            (row["direction"], row["year"]): row["top"]
            for row in Correspondence.objects.filter(administration=administration)
            .values("direction", "year")
            .annotate(top=Max("sequence"))
        }
        for key in sorted(set(counters) | set(highest)):
            counter, top = counters.get(key), highest.get(key, 0)
            if counter is not None and counter.last_number == top:
                continue
            repairs.append(CounterRepair(key[0], key[1], counter.last_number if counter else None, top))
            if not apply:
                continue
            if counter is None:
                RegisterCounter.objects.create(
                    administration=administration, direction=key[0], year=key[1], last_number=top
                )
            else:
                RegisterCounter.objects.filter(pk=counter.pk).update(last_number=top)
        if apply and repairs:
            audit_record(
                actor=actor,
                action=AuditAction.REGISTER_COUNTERS_REPAIRED,
                administration=administration,
                data={"repairs": [[r.direction, r.year, r.was, r.becomes] for r in repairs]},
            )
    return repairs


def correspondence_register(
    *,
    actor: User | None,
    administration: Administration | None,
    direction: str = Direction.INCOMING,
    channel: str,
    sender: Party | None = None,
    addressee: Party | None = None,
    subject: str,
    body: str = "",
    files: Sequence[CheckedFile] = (),
    recipient_service: Service | None = None,
    confidential: bool = False,
    idempotency: Idempotency | None = None,
    in_reply_to: Correspondence | None = None,
    terms_for: Callable[[datetime], dict[str, Any]] | None = None,
    letter_follows: bool = False,
    follows: Follows | None = None,
) -> Registration:
    """Register one correspondence and its attachments; return it with its pending receipt.

    An incoming letter names its ``sender`` and gets a deposit receipt (pending, issued after
    commit); an outgoing letter names its ``addressee`` and gets none: its sender is the
    administration, and its own seal and QR code are its proof.

    Takes the register counter lock and the register-log head lock of the administration,
    in that order. Writes a ``correspondence.registered`` audit event and a log entry in
    the same transaction. With ``idempotency`` (the claim of an API request's key, see
    :mod:`registry.idempotency`), the key is bound to the correspondence in the transaction.

    Hooks for the apps built on the register, both called under the lock:
    ``terms_for(registered_at)`` returns the terms the receipt states (procedure, due date…);
    ``follows`` builds the rows that follow from the registration (the case of a request). If
    any of them fails, nothing is registered. Nothing slow runs under the lock: ``letter_follows``
    says that the letter itself, which carries the number, is made after commit
    (:mod:`registry.sealed`) and attached first; ``files`` (its annexes) come after it.

    What needs no number is done before the lock (files stored, their rows, primary keys
    taken, the idempotency key bound, every row built); under it: the number and the log head
    (one statement on PostgreSQL), then every row and the head's move in one round trip
    (:mod:`core.rows`), and the commit. ``workflow/tests/test_register_lock.py`` pins them.
    """
    subject = one_line(subject)
    body = plain_text(body).strip()
    _check(
        administration=administration,
        direction=direction,
        subject=subject,
        body=body,
        has_files=bool(files) or letter_follows,
        sender=sender,
        addressee=addressee,
        recipient_service=recipient_service,
    )
    assert administration is not None
    if in_reply_to is not None and in_reply_to.administration_id != administration.pk:
        raise RegistrationRefused("unknown_correspondence", _("This correspondence does not exist."), status=404)
    new_files = store_checked(files)
    incoming = direction == Direction.INCOMING
    # Made before the transaction: none of it needs the number, and the register's lock is held
    # only for what does.
    tracking_code, receipt_token = (new_tracking_code(), new_verification_token()) if incoming else ("", "")
    blobs = [Blob(sha256=f.sha256, size=f.size, content_type=f.content_type, pages=f.pages) for f in files]
    correspondence = Correspondence(
        administration=administration,
        direction=direction,
        channel=channel,
        registered_by=actor if channel == Channel.COUNTER else None,
        **_party_fields("sender", sender),
        **_party_fields("addressee", addressee),
        recipient_service=recipient_service,
        subject=subject,
        body=body,
        confidential=confidential,
        in_reply_to=in_reply_to,
        tracking_code=tracking_code,
    )
    first_position = 2 if letter_follows else 1
    attachments = [
        Attachment(correspondence=correspondence, position=i, blob=blob, filename=f.filename)
        for i, (f, blob) in enumerate(zip(files, blobs, strict=True), start=first_position)
    ]
    receipt = Receipt(correspondence=correspondence, token=receipt_token) if incoming else None
    try:
        while True:
            try:
                registration = _register_in_transaction(
                    actor=actor,
                    administration=administration,
                    correspondence=correspondence,
                    attachments=attachments,
                    blobs=blobs,
                    receipt=receipt,
                    idempotency=idempotency,
                    terms_for=terms_for,
                    follows=follows,
                )
                break
            except _YearTurned:
                continue  # rolled back, its number given back: again, in the new year's register
    except IntegrityError:
        for sha256 in new_files:
            storage.discard(sha256)
        if _counter_behind(administration, direction):
            raise RegistrationRefused(
                "register_needs_repair",
                _(
                    "The register cannot give a new number until its administration repairs it. "
                    "Nothing was registered; please try again later."
                ),
                status=503,
            ) from None
        raise
    except BaseException:
        for sha256 in new_files:
            storage.discard(sha256)
        raise
    return registration


def _register_in_transaction(
    *,
    actor: User | None,
    administration: Administration,
    correspondence: Correspondence,
    attachments: list[Attachment],
    blobs: list[Blob],
    receipt: Receipt | None,
    idempotency: Idempotency | None,
    terms_for: Callable[[datetime], dict[str, Any]] | None,
    follows: Follows | None,
) -> Registration:
    """The transaction of a registration: the files' rows and the primary keys (no lock of the
    register needed), then what runs under the register's lock (:func:`_register_locked`)."""
    with transaction.atomic():
        if blobs:  # before the number: the files' rows need no lock of the register
            Blob.objects.bulk_create(blobs, ignore_conflicts=True)
        ids = ids_allocate(
            [
                (Correspondence, 1),
                (Attachment, len(attachments)),
                (Receipt, 1 if receipt is not None else 0),
                (RegisterLogEntry, 1),
                (AuditEvent, 1),
                *(follows.keys if follows is not None else ()),
            ]
        )
        correspondence.pk = ids.take(Correspondence)
        for attachment in attachments:
            attachment.pk = ids.take(Attachment)
        if receipt is not None:
            receipt.pk = ids.take(Receipt)
            correspondence.receipt = receipt
        idempotency_bind(idempotency, correspondence.pk)  # before any work: a lost claim makes nothing
        return _register_locked(
            actor=actor,
            administration=administration,
            correspondence=correspondence,
            attachments=attachments,
            receipt=receipt,
            ids=ids,
            terms_for=terms_for,
            follows=follows,
        )


def _register_locked(
    *,
    actor: User | None,
    administration: Administration,
    correspondence: Correspondence,
    attachments: list[Attachment],
    receipt: Receipt | None,
    ids: Ids,
    terms_for: Callable[[datetime], dict[str, Any]] | None,
    follows: Follows | None,
) -> Registration:
    """From the number to the rows written: what runs under the register counter's lock."""
    year, sequence, registered_at, head = _next_number(administration, correspondence.direction)
    correspondence.year, correspondence.sequence, correspondence.registered_at = year, sequence, registered_at
    correspondence.number = format_number(correspondence.direction, year, sequence)
    correspondence.terms = terms_for(registered_at) if terms_for is not None else {}
    (log_entry,), move_head = log_append_prepared(
        administration=administration,
        action="registered",
        entries=[(correspondence.pk, registration_facts(correspondence, attachments))],
        recorded_at=registered_at,
        ids=[ids.take(RegisterLogEntry)],
        head=head,
    )
    event = audit_event(
        actor=actor,
        action=AuditAction.CORRESPONDENCE_REGISTERED,
        obj=correspondence,
        administration=administration,
        subject_user=correspondence.correspondent_account,
        data={"number": correspondence.number, "channel": correspondence.channel},
    )
    event.pk = ids.take(AuditEvent)
    registration = Registration(
        correspondence=correspondence, receipt=receipt, attachments=attachments, log_entry=log_entry
    )
    registered: list[models.Model] = [correspondence, *attachments, *([receipt] if receipt else []), log_entry]
    following: list[models.Model] = [event, *(follows.rows(registration, ids) if follows is not None else [])]
    statements_run([*insert_statements(registered), move_head, *insert_statements(following)])
    rows_saved([*registered, *following])
    return registration


def _party_fields(role: str, party: Party | None) -> dict[str, Any]:
    """The ``sender_*`` or ``addressee_*`` fields of a correspondence naming ``party`` (empty for None)."""
    if party is None:
        return {f"{role}_account": None, **{f"{role}_{f}": "" for f in PARTY_TEXT_FIELDS}}
    return {
        f"{role}_account": party.account,
        f"{role}_kind": party.kind,
        f"{role}_name": party.name.strip(),
        f"{role}_identifier": party.identifier.strip().upper(),
        f"{role}_email": party.email.strip().lower(),
        f"{role}_address": party.address.strip(),
    }
