"""Verifying an administration's registers against everything that witnesses them.

:func:`register_verify` reads the whole register of one administration and reports every break
it finds, not only the first:

1. **the chain**: positions, links, hashes, and each registration's facts against its live row
   (:func:`registry.log.walk_chain`);
2. **checkpoints**: each statement and seal, the chain of checkpoints (a deleted one breaks the
   link of the next), and that the log still has, at each checkpoint's position, the sealed hash;
3. **anchors**: every checkpoint kept by the anchor file or by a pinned peer is in the database
   and matches the log (:mod:`registry.anchors`);
4. **numbering**: numbers unique and gapless in each register and year (gaps are allowed only
   where a former register was imported), each number written as its sequence says, and each
   register counter equal to the highest number;
5. **sealed documents**: every incoming registration has its receipt (an outgoing letter gets
   none: it is sealed itself; one issued before that rule is still checked); every receipt, letter and
   attestation is the file its fingerprint names, sealed by its administration (with
   ``seals``), and states a log entry that the log still holds (a receipt: its own registration).

:func:`files_verify` re-reads every stored file against its SHA-256, and compares the anchor of
every sealed PDF in storage (orphans included) with the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from pathlib import Path

from django.utils.translation import gettext as _

from core.canonical import sha256_hex
from documents import storage
from documents.models import Blob
from registry.anchors import (
    HOLDS,
    WITNESSES,
    Anchor,
    AnchoredCheckpoint,
    WitnessUnavailable,
    anchor_file_read,
    anchor_in_pdf,
    anchor_problem,
)
from registry.checkpoints import seal_verifies
from registry.facts import facts_from_database
from registry.log import Break, ChainWalk, checkpoint_statement, walk_chain
from registry.models import (
    Channel,
    Correspondence,
    Direction,
    Receipt,
    RegisterCheckpoint,
    RegisterCounter,
    SealedDocument,
)
from registry.services import LOCAL_ZONE, format_number
from tenancy.models import Administration

MAX_BREAKS = 50  # per administration: past it, the report says how many more


@dataclass
class Report:
    administration: str
    entries: int = 0
    breaks: list[Break] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    more: int = 0  # breaks found past MAX_BREAKS

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        return self.breaks[0] if self.breaks else None

    def broken(self, position: int | None, problem: str) -> None:
        if len(self.breaks) < MAX_BREAKS:
            self.breaks.append(Break(self.administration, position, problem))
        else:
            self.more += 1


def register_verify(
    administration: Administration, *, seals: bool = True, witnesses: bool = True, documents_after: int = 0
) -> Report:
    """Verify one administration's registers; see the module's docstring for what is checked.

    ``seals``: also validate the seal of every checkpoint, receipt and sealed document (slow:
    milliseconds each); without it, only checkpoints found nowhere outside the database are.
    ``witnesses``: also ask the pinned peers. ``documents_after``: only the receipts and
    documents of entries after this position (the log's tail, which no checkpoint anchors yet).
    """
    report = Report(administration.code)
    walk = walk_chain(administration, facts_of=facts_from_database)
    report.entries = walk.last_position
    if walk.broken is not None:
        report.breaks.append(walk.broken)
    _checkpoints(administration, walk, report, seals=seals, witnesses=witnesses)
    _numbering(administration, report)
    _receipts(administration, walk, report, seals=seals, after=documents_after)
    _sealed_documents(administration, walk, report, seals=seals, after=documents_after)
    return report


def verify_administration_log(administration: Administration) -> Break | None:
    """The first break of a quick verification (seals of documents not validated), or None."""
    return register_verify(administration, seals=False).first_break


def anchored_position(administration: Administration) -> int:
    """The position of the last checkpoint written to the anchor file (0 when none): entries up
    to it are anchored outside the database; those after it by their receipts only."""
    last = (
        RegisterCheckpoint.objects.filter(administration=administration, anchored_at__isnull=False)
        .order_by("-created_at", "-pk")
        .first()
    )
    return int(last.position) if last is not None else 0


# -- checkpoints and their anchors ----------------------------------------------------------------


def _checkpoints(
    administration: Administration, walk: ChainWalk, report: Report, *, seals: bool, witnesses: bool
) -> None:
    code = administration.code
    recorded = list(RegisterCheckpoint.objects.filter(administration=administration).order_by("created_at", "pk"))
    by_statement = {sha256_hex(c.statement): c for c in recorded}
    in_file = list(anchor_file_read(code))
    file_hashes = {k.statement_hash for k in in_file}
    previous: RegisterCheckpoint | None = None
    chained = False
    for checkpoint in recorded:
        position = int(checkpoint.position)
        statement = checkpoint_statement(
            administration, position, checkpoint.head_hash, checkpoint.created_at, checkpoint.previous_hash
        )
        statement_hash = sha256_hex(checkpoint.statement)
        if statement != checkpoint.statement:
            report.broken(position, _("a checkpoint's statement differs from its recorded facts"))
        elif (seals or statement_hash not in file_hashes) and not seal_verifies(
            code, statement.encode(), bytes(checkpoint.seal)
        ):
            report.broken(position, _("a checkpoint's seal does not verify"))
        if checkpoint.previous_hash:
            chained = True
            if previous is None or checkpoint.previous_hash != sha256_hex(previous.statement):
                report.broken(
                    position,
                    _(
                        "the checkpoint of %(when)s does not follow the one before it "
                        "(a checkpoint was deleted or changed)"
                    )
                    % {"when": _when(checkpoint)},
                )
        elif chained:
            report.broken(
                position,
                _("the checkpoint of %(when)s is not chained to the one before it") % {"when": _when(checkpoint)},
            )
        _compare(
            walk,
            report,
            administration,
            position,
            checkpoint.head_hash,
            _("the checkpoint of %(when)s") % {"when": _when(checkpoint)},
        )
        if checkpoint.anchored_at is not None and statement_hash not in file_hashes:
            report.broken(
                position,
                _("the checkpoint of %(when)s is missing from the anchor file") % {"when": _when(checkpoint)},
            )
        previous = checkpoint
    waiting = sum(1 for c in recorded if c.anchored_at is None)
    if waiting:
        report.notes.append(
            _("%(count)d checkpoint(s) not yet written to the anchor file (the worker writes them)")
            % {"count": waiting}
        )

    kept: list[AnchoredCheckpoint] = list(in_file)
    if witnesses:
        for witness in WITNESSES.values():
            for name, answer in witness(administration):
                if isinstance(answer, WitnessUnavailable):
                    report.notes.append(
                        _("%(witness)s could not be asked: %(reason)s") % {"witness": name, "reason": answer}
                    )
                    continue
                report.notes.append(
                    _("%(witness)s keeps %(count)d checkpoint(s)") % {"witness": name, "count": len(answer)}
                )
                kept += answer
    for anchored in kept:
        try:
            facts = anchored.facts
            position, head_hash = int(str(facts["position"])), str(facts["head_hash"])
        except (ValueError, KeyError):
            report.broken(None, _("%(witness)s holds a checkpoint that cannot be read") % {"witness": anchored.source})
            continue
        label = _("the checkpoint of %(when)s kept by %(witness)s") % {
            "when": _local(str(facts.get("created_at", "?"))),
            "witness": anchored.source,
        }
        if facts.get("administration") != code:
            report.broken(position, _("%(what)s is of another administration") % {"what": label})
            continue
        if anchored.statement_hash not in by_statement:
            if not seal_verifies(code, anchored.statement.encode(), anchored.seal):
                report.broken(position, _("%(what)s has a seal that does not verify") % {"what": label})
            else:
                report.broken(
                    position, _("%(what)s is missing from the database (checkpoints were deleted)") % {"what": label}
                )
        _compare(walk, report, administration, position, head_hash, label)


def _compare(
    walk: ChainWalk, report: Report, administration: Administration, position: int, expected: str, what: str
) -> None:
    """The log must still have, at ``position``, the hash ``what`` states."""
    actual = walk.hash_at(administration, position)
    if actual is None:
        if walk.broken is None:  # past a break, the walk knows no hashes: the break is reported
            report.broken(position, _("the log ends before %(what)s (entries were deleted)") % {"what": what})
    elif actual != expected:
        report.broken(position, _("differs from %(what)s (history rewritten)") % {"what": what})


def _when(checkpoint: RegisterCheckpoint) -> str:
    return _local(checkpoint.created_at)


def _local(moment: datetime | str) -> str:
    """A checkpoint's time as people read it: local (Africa/Casablanca), to the second."""
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return moment[:40]
        moment = parsed
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def _register(direction: str, year: int) -> str:
    if direction == Direction.OUTGOING:
        return _("the outgoing register of %(year)d") % {"year": year}
    return _("the incoming register of %(year)d") % {"year": year}


# -- numbering -----------------------------------------------------------------------------------


def _numbering(administration: Administration, report: Report) -> None:
    rows = (
        Correspondence.objects.filter(administration=administration)
        .order_by("direction", "year", "sequence")
        .values_list("direction", "year", "sequence", "number", "channel")
    )
    highest: dict[tuple[str, int], int] = {}
    for (direction, year), group in groupby(rows.iterator(chunk_size=5000), key=lambda r: (r[0], r[1])):
        expected = 1
        for _d, _y, sequence, number, channel in group:
            if number != format_number(direction, year, sequence):
                report.broken(
                    None,
                    _("%(number)s is not the number of sequence %(sequence)d of its register")
                    % {"number": number, "sequence": sequence},
                )
            # A gap is allowed only where a former register was imported with its own numbers.
            if sequence > expected and channel != Channel.IMPORT:
                first, last = format_number(direction, year, expected), format_number(direction, year, sequence - 1)
                missing = (
                    first if sequence - 1 == expected else _("%(first)s to %(last)s") % {"first": first, "last": last}
                )
                report.broken(
                    None,
                    _("numbers are missing before %(number)s: %(missing)s") % {"number": number, "missing": missing},
                )
            expected = sequence + 1
        highest[(direction, year)] = expected - 1
    counters = RegisterCounter.objects.filter(administration=administration).order_by("direction", "year")
    for counter in counters:
        top = highest.pop((counter.direction, counter.year), 0)
        facts = {
            "register": _register(counter.direction, counter.year),
            "counter": counter.last_number,
            "top": top,
            "command": "manage.py repair_register_counters",
        }
        if counter.last_number > top:
            report.broken(
                None,
                _(
                    "the counter of %(register)s is at %(counter)d, above its highest number %(top)d: the next "
                    "registration would leave a gap (%(command)s)"
                )
                % facts,
            )
        elif counter.last_number < top:
            report.broken(
                None,
                _(
                    "the counter of %(register)s is at %(counter)d, below its highest number %(top)d: registrations "
                    "are refused until it is repaired (%(command)s)"
                )
                % facts,
            )
    for (direction, year), top in highest.items():
        report.broken(
            None,
            _("%(register)s has numbers up to %(top)d but no counter")
            % {"register": _register(direction, year), "top": top},
        )


# -- receipts, letters, attestations ------------------------------------------------------------------


@dataclass(frozen=True)
class _Sealed:
    """A sealed file of the register as the verification reads it."""

    label: str
    sha256: str
    correspondence: Correspondence
    receipt: bool


def _read_sealed(
    item: _Sealed, administration: Administration, report: Report, *, seals: bool
) -> tuple[bool, Anchor | None]:
    """(the file is sound, the anchor it states)."""
    try:
        data = storage.read_bytes(item.sha256)
    except (OSError, ValueError):
        report.broken(None, _("%(what)s is missing from storage") % {"what": item.label})
        return False, None
    if sha256_hex(data) != item.sha256:
        report.broken(None, _("%(what)s does not match its fingerprint (the file was changed)") % {"what": item.label})
        return False, None
    if not seals:
        return True, anchor_in_pdf(data)
    from trust.services import installation_pki
    from trust.verification import verify_pdf

    verdict = verify_pdf(data, pki=installation_pki())
    if not verdict.valid or verdict.signer_code != administration.code:
        report.broken(
            None,
            _("the seal of %(what)s does not verify (%(problem)s)")
            % {"what": item.label, "problem": verdict.problem or _("another signer")},
        )
        return False, None
    return True, Anchor.parse(verdict.anchor)


def _check_anchor(
    item: _Sealed, anchor: Anchor | None, administration: Administration, walk: ChainWalk, report: Report
) -> bool:
    """Compare what a sealed file states with the log; False when it states nothing."""
    if anchor is None:
        return False
    number = item.correspondence.number
    if anchor.administration != administration.code or anchor.number != number:
        report.broken(
            anchor.position,
            _("%(what)s names another registration (%(number)s)") % {"what": item.label, "number": anchor.number},
        )
        return True
    if item.receipt:
        registered_at = walk.registrations.get(item.correspondence.pk)
        if registered_at is not None and registered_at != anchor.position:
            report.broken(
                anchor.position,
                _("%(what)s names entry #%(position)d, not its registration")
                % {"what": item.label, "position": anchor.position},
            )
            return True
    _compare(
        walk,
        report,
        administration,
        anchor.position,
        anchor.entry_hash,
        _("what %(what)s states") % {"what": item.label},
    )
    return True


def _receipts(administration: Administration, walk: ChainWalk, report: Report, *, seals: bool, after: int) -> None:
    without = (
        Correspondence.objects.filter(administration=administration, direction=Direction.INCOMING, receipt__isnull=True)
        .exclude(channel=Channel.IMPORT)
        .values_list("number", flat=True)
    )
    for number in without[:MAX_BREAKS]:
        report.broken(None, _("%(number)s has no receipt (it was deleted)") % {"number": number})
    receipts = (
        Receipt.objects.filter(correspondence__administration=administration)
        .select_related("correspondence")
        .order_by("pk")
    )
    pending = legacy = 0
    for receipt in receipts.iterator(chunk_size=500):
        correspondence = receipt.correspondence
        if after and walk.registrations.get(correspondence.pk, after + 1) <= after:
            continue
        if receipt.blob_id is None:
            # An outgoing letter's receipt left pending before outgoing letters stopped getting
            # receipts is never issued: nothing waits.
            if correspondence.direction == Direction.INCOMING:
                pending += 1
            continue
        label = _("the receipt of %(number)s") % {"number": correspondence.number}
        item = _Sealed(label, str(receipt.blob_id), correspondence, True)
        sound, anchor = _read_sealed(item, administration, report, seals=seals)
        if sound and not _check_anchor(item, anchor, administration, walk, report):
            legacy += 1
    if pending:
        report.notes.append(_("%(count)d receipt(s) waiting to be issued") % {"count": pending})
    if legacy:
        report.notes.append(_("%(count)d receipt(s) issued before receipts stated their log entry") % {"count": legacy})


def _sealed_documents(
    administration: Administration, walk: ChainWalk, report: Report, *, seals: bool, after: int
) -> None:
    documents = (
        SealedDocument.objects.filter(correspondence__administration=administration)
        .select_related("correspondence")
        .order_by("pk")
    )
    legacy = pending = 0
    for document in documents.iterator(chunk_size=500):
        correspondence = document.correspondence
        if after and walk.registrations.get(correspondence.pk, after + 1) <= after:
            continue
        if document.blob_id is None:  # made after commit (registry.sealed): still being made
            pending += 1
            continue
        label = (
            _("the letter %(number)s")
            if document.kind == SealedDocument.Kind.LETTER
            else _("the attestation of %(number)s")
        ) % {"number": correspondence.number}
        item = _Sealed(label, str(document.blob_id), correspondence, False)
        if (
            document.kind == SealedDocument.Kind.LETTER
            and not correspondence.attachments.filter(blob_id=document.blob_id).exists()
        ):
            report.broken(None, _("%(what)s is not the letter registered under its number") % {"what": item.label})
        sound, anchor = _read_sealed(item, administration, report, seals=seals)
        if sound and not _check_anchor(item, anchor, administration, walk, report):
            legacy += 1
    if pending:
        report.notes.append(_("%(count)d sealed document(s) waiting to be made") % {"count": pending})
    if legacy:
        report.notes.append(
            _("%(count)d sealed document(s) issued before documents stated the log") % {"count": legacy}
        )


# -- every stored file --------------------------------------------------------------------------------


@dataclass
class FilesReport:
    checked: int = 0
    anchored: int = 0
    problems: list[str] = field(default_factory=list)


def files_verify() -> FilesReport:
    """Re-read every stored file: it exists and hashes to its name; every sealed PDF carrying a
    register-log anchor (also those no row names any more) states what the log still holds."""
    report = FilesReport()
    administrations = {a.code: a for a in Administration.objects.all()}
    named: set[str] = set()
    for blob in Blob.objects.order_by("sha256").iterator(chunk_size=2000):
        named.add(blob.sha256)
        report.checked += 1
        try:
            digest, anchor = _hash_and_anchor(storage.path_for(blob.sha256), blob.content_type == "application/pdf")
        except OSError:
            report.problems.append(_("stored file %(sha256)s is missing") % {"sha256": blob.sha256})
            continue
        if digest != blob.sha256:
            report.problems.append(
                _("stored file %(sha256)s does not hash to its name (it was changed)") % {"sha256": blob.sha256}
            )
            continue
        _file_anchor(anchor, blob.sha256, administrations, report)
    for path in _stored_paths():
        if path.name in named:
            continue
        try:
            _digest, anchor = _hash_and_anchor(path, True)
        except OSError:
            continue
        _file_anchor(anchor, path.name, administrations, report)
    return report


def _file_anchor(
    anchor: Anchor | None, sha256: str, administrations: dict[str, Administration], report: FilesReport
) -> None:
    if anchor is None:
        return
    report.anchored += 1
    administration = administrations.get(anchor.administration)
    if administration is None:
        report.problems.append(
            _("sealed file %(sha256)s names an administration that is gone (%(code)s)")
            % {"sha256": sha256, "code": anchor.administration}
        )
        return
    problem = anchor_problem(anchor, administration)
    if problem != HOLDS:
        report.problems.append(
            _(
                "sealed file %(sha256)s (%(number)s) states entry #%(position)d of %(code)s, which the log no "
                "longer holds: the register log was rewritten"
            )
            % {"sha256": sha256, "number": anchor.number, "position": anchor.position, "code": anchor.administration}
        )


def _hash_and_anchor(path: Path, is_pdf: bool) -> tuple[str, Anchor | None]:
    import hashlib

    digest = hashlib.sha256()
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(storage.CHUNK):
            digest.update(chunk)
            if is_pdf:
                tail = (tail + chunk)[-(2 * storage.CHUNK) :]
    return digest.hexdigest(), anchor_in_pdf(tail) if is_pdf else None


def _stored_paths() -> Iterator[Path]:
    base = storage.root()
    if base.exists():
        yield from base.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*")
