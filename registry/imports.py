"""Importing a former register (a CSV or XLSX file) into an administration's register.

An administration coming to Wasl brings years of registers kept in a spreadsheet or an older
application. Each row is a letter: its number, its date, its sender (its addressee, in an
outgoing register), its subject, and optionally the service that handled it and the paths of
its scanned files (under the administration's own folder ``WASL_IMPORT_DIR/<CODE>/``). The
import:

- reads CSV (UTF-8, or Windows Arabic cp1256; comma or semicolon) or XLSX, the columns named
  in English, French or Arabic;
- checks every row and reports every rejected one with its line and the reason (number or
  date missing or unreadable, the number's year not the date's, a number twice in the file or
  already in the register, a date in the future, sender or subject missing or too long, a
  service or a file not found, a file that is not a PDF or a picture);
- imports nothing while any row is rejected (a dry run only checks), so the register never
  holds half a file;
- keeps the letters' own numbers: ``2019/123`` (or ``123/2019``, or ``A-2019-000123``, or
  ``123`` with the date's year) is number 123 of 2019's register, written ``A-2019-000123``,
  and the register's numbering then continues after the highest imported number of each year;
- logs every imported letter in the register log, chained like any registration, so the
  verification of the log covers them; writes no receipt and opens no case (the letters were
  handled on paper).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from documents import storage
from documents.intake import CheckedFile, FileRejected, blob_of, bytes_upload, check_file
from documents.models import Blob
from registry.facts import registration_facts
from registry.import_reasons import FILE_LIMITS, reason_text
from registry.log import log_append_many
from registry.models import (
    NUMBER_PREFIX,
    Attachment,
    Channel,
    Correspondence,
    Direction,
    RegisterCounter,
    RegisterImport,
    SenderKind,
)
from registry.services import LOCAL_ZONE, format_number
from registry.tasks import register_import_task
from tenancy.models import Administration, Service, User

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 100_000
BATCH = 1000
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("number", "numero", "n", "no", "num", "رقم", "الرقم", "رقم التسجيل"),
    "date": ("date", "registered", "date d'enregistrement", "التاريخ", "تاريخ التسجيل"),
    # The sender of an incoming letter; in an outgoing register, its addressee.
    "sender": (
        "sender",
        "expediteur",
        "from",
        "المرسل",
        "الجهة المرسلة",
        "addressee",
        "destinataire",
        "to",
        "المرسل إليه",
        "الجهة المرسل إليها",
    ),
    "subject": ("subject", "objet", "الموضوع"),
    "service": ("service", "المصلحة"),
    "files": ("files", "fichiers", "file", "fichier", "المرفقات", "الملفات"),
}
REQUIRED = ("number", "date", "sender", "subject")
_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")


class ImportRefused(Exception):
    """The file as a whole cannot be read: ``code`` and ``params`` say why (``message``, in
    the active language)."""

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def message(self) -> str:
        return reason_text(self.code, self.params)


class RowRejected(ValueError):
    """One row cannot be imported: ``code`` and ``params`` say why."""

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class Rejected:
    line: int
    number: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return reason_text(self.code, self.params)


@dataclass
class _Letter:
    line: int
    year: int
    sequence: int
    registered_on: date
    sender: str
    subject: str
    service: Service | None
    files: list[CheckedFile]


@dataclass
class ImportReport:
    rows: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    imported: int = 0
    dry_run: bool = True
    # Per year: numbers the imported register skips (reported, not refused: it was kept so).
    gaps: dict[int, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.rows - len(self.rejected)


def _key(header: Any) -> str:
    text = unicodedata.normalize("NFKD", str(header or "")).encode("ascii", "ignore").decode() or str(header or "")
    return re.sub(r"[\s_.°:]+", " ", text.strip().casefold()).strip()


def _columns(headers: list[Any]) -> dict[str, int]:
    aliases = {_key(alias): name for name, names in COLUMNS.items() for alias in names}
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = aliases.get(_key(header)) or aliases.get(str(header or "").strip())
        if name and name not in found:
            found[name] = index
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        raise ImportRefused("columns_missing", columns=", ".join(missing))
    return found


def rows_read(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of a CSV or XLSX file as (line number, {column: value}), after its header."""
    table = _xlsx_rows(data) if data[:4] == b"PK\x03\x04" else _csv_rows(data)
    try:
        header = next(table)
    except StopIteration:
        raise ImportRefused("empty") from None
    columns = _columns(list(header))
    for line, row in enumerate(table, start=2):
        if not any(str(cell or "").strip() for cell in row):
            continue
        values = {name: row[index] if index < len(row) else "" for name, index in columns.items()}
        yield line, values


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    for encoding in ("utf-8-sig", "cp1256"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover (cp1256 decodes almost anything)
        raise ImportRefused("encoding")
    if "\x00" in text:
        raise ImportRefused("not_a_table")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    yield from csv.reader(io.StringIO(text), delimiter=delimiter)


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportRefused("xlsx_unreadable") from exc
    try:
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip().split(" ")[0]
    for pattern in _FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _number(value: Any, direction: str) -> tuple[int | None, int | None]:
    """(year or None, sequence) of a former register's number; (None, None) if unreadable."""
    text = str(value or "").strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    prefix = NUMBER_PREFIX[Direction(direction)]
    patterns = (
        (rf"^{prefix}-(\d{{4}})-(\d{{1,9}})$", 1, 2),
        (r"^(\d{4})\s*[/-]\s*(\d{1,9})$", 1, 2),
        (r"^(\d{1,9})\s*[/-]\s*(\d{4})$", 2, 1),
    )
    for pattern, year_group, sequence_group in patterns:
        match = re.match(pattern, text, re.IGNORECASE)
        if match:
            return int(match.group(year_group)), int(match.group(sequence_group))
    if text.isdigit() and len(text) <= 9:
        return None, int(text)
    return None, None


class _Checker:
    def __init__(self, administration: Administration, direction: str) -> None:
        self.administration = administration
        self.direction = direction
        self.services = {s.code.upper(): s for s in Service.objects.filter(administration=administration)}
        self.used: dict[int, set[int]] = {}
        self.seen: set[tuple[int, int]] = set()
        self.today = now().astimezone(LOCAL_ZONE).date()
        # Each administration reads only its own folder, WASL_IMPORT_DIR/<CODE>/: a path naming
        # another administration's scans (or anything else) is outside it and refused.
        self.root = (settings.IMPORT_DIR / administration.code).resolve()

    def used_in(self, year: int) -> set[int]:
        if year not in self.used:
            self.used[year] = set(
                Correspondence.objects.filter(
                    administration=self.administration, direction=self.direction, year=year
                ).values_list("sequence", flat=True)
            )
        return self.used[year]

    def letter(self, line: int, values: dict[str, Any]) -> _Letter:
        """The letter of one row, or :class:`RowRejected` with the reason it is rejected."""
        raw_number = str(values.get("number") or "").strip()
        if not raw_number:
            raise RowRejected("number_missing")
        year, sequence = _number(values.get("number"), self.direction)
        if sequence is None or sequence < 1:
            raise RowRejected("number_unreadable")
        registered_on = _date(values.get("date"))
        if registered_on is None:
            raise RowRejected("date_unreadable")
        if registered_on > self.today:
            raise RowRejected("date_future")
        if year is not None and year != registered_on.year:
            raise RowRejected("year_mismatch")
        year = registered_on.year
        if (year, sequence) in self.seen:
            raise RowRejected("number_twice")
        if sequence in self.used_in(year):
            raise RowRejected("number_taken")
        sender = str(values.get("sender") or "").strip()
        subject = str(values.get("subject") or "").strip()
        if not sender:
            raise RowRejected("sender_missing")
        if not subject:
            raise RowRejected("subject_missing")
        if len(sender) > 200 or len(subject) > 300:
            raise RowRejected("too_long")
        service = None
        code = str(values.get("service") or "").strip().upper()
        if code:
            service = self.services.get(code)
            if service is None:
                raise RowRejected("service_unknown", code=code)
        files = [self.file(path) for path in re.split(r"[|;\n]", str(values.get("files") or "")) if path.strip()]
        self.seen.add((year, sequence))
        return _Letter(line, year, sequence, registered_on, sender, subject, service, files)

    def file(self, name: str) -> CheckedFile:
        path = (self.root / name.strip()).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise RowRejected("file_outside", name=name.strip())
        if path.stat().st_size > settings.MAX_FILE_SIZE:
            raise RowRejected("file_too_large", name=name.strip())
        try:
            return check_file(bytes_upload(path.read_bytes(), path.name))
        except FileRejected as rejected:
            params: dict[str, Any] = {"name": rejected.filename or name.strip(), "file_code": rejected.code}
            if rejected.code in FILE_LIMITS:
                params["limit"] = getattr(settings, FILE_LIMITS[rejected.code])
            raise RowRejected("file_rejected", **params) from None


def register_import(
    *,
    actor: User | None,
    administration: Administration,
    direction: str,
    data: bytes,
    dry_run: bool,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check (and unless ``dry_run``, import) a former register; see the module's text.
    ``progress(done, total)`` is called as rows are checked, then imported. Raises
    :class:`ImportRefused` when the file cannot be read at all."""
    rows = list(rows_read(data))
    if len(rows) > MAX_ROWS:
        raise ImportRefused("too_many_rows", limit=MAX_ROWS)
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    checker = _Checker(administration, direction)
    letters: list[_Letter] = []
    total = len(rows) * (1 if dry_run else 2)
    for done, (line, values) in enumerate(rows, start=1):
        try:
            letters.append(checker.letter(line, values))
        except RowRejected as reason:
            report.rejected.append(Rejected(line, str(values.get("number") or ""), reason.code, reason.params))
        if progress is not None and done % 200 == 0:
            progress(done, total)
    report.gaps = _gaps(letters, checker)
    if dry_run or report.rejected or not letters:
        return report
    try:
        with transaction.atomic():
            # The counters first: their locks keep registrations out of the imported years
            # while the letters are written (a number taken meanwhile fails the import whole).
            _counters_raise(administration, direction, letters)
            for start in range(0, len(letters), BATCH):
                _write(actor, administration, direction, letters[start : start + BATCH])
                if progress is not None:
                    progress(len(rows) + min(start + BATCH, len(letters)), total)
            _audit(actor, administration, direction, letters)
    except IntegrityError:
        raise ImportRefused("register_changed") from None
    report.imported = len(letters)
    return report


def _audit(actor: User | None, administration: Administration, direction: str, letters: list[_Letter]) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.REGISTER_IMPORTED,
        administration=administration,
        data={"direction": direction, "letters": len(letters), "years": sorted({x.year for x in letters})},
    )


def _gaps(letters: list[_Letter], checker: _Checker) -> dict[int, int]:
    gaps: dict[int, int] = {}
    by_year: dict[int, set[int]] = {}
    for letter in letters:
        by_year.setdefault(letter.year, set()).add(letter.sequence)
    for year, sequences in by_year.items():
        numbers = sequences | checker.used_in(year)
        missing = max(numbers) - len(numbers)
        if missing:
            gaps[year] = missing
    return gaps


def _party(direction: str, name: str) -> dict[str, str]:
    """A former register's sender column: who sent an incoming letter, whom an outgoing one went to."""
    role = "addressee" if direction == Direction.OUTGOING else "sender"
    return {f"{role}_kind": SenderKind.PERSON, f"{role}_name": name}


def _write(actor: User | None, administration: Administration, direction: str, letters: list[_Letter]) -> None:
    rows = [
        Correspondence(
            administration=administration,
            direction=direction,
            year=letter.year,
            sequence=letter.sequence,
            number=format_number(direction, letter.year, letter.sequence),
            channel=Channel.IMPORT,
            registered_at=datetime.combine(letter.registered_on, time(), LOCAL_ZONE).astimezone(UTC),
            registered_by=actor,
            **_party(direction, letter.sender),
            recipient_service=letter.service,
            subject=letter.subject,
        )
        for letter in letters
    ]
    created = Correspondence.objects.bulk_create(rows)
    attachments: dict[int, list[Attachment]] = {}
    new_attachments = []
    for correspondence, letter in zip(created, letters, strict=True):
        for position, checked in enumerate(letter.files, start=1):
            blob = blob_of(checked)
            item = Attachment(correspondence=correspondence, position=position, blob=blob, filename=checked.filename)
            attachments.setdefault(correspondence.pk, []).append(item)
            new_attachments.append(item)
    Attachment.objects.bulk_create(new_attachments)
    log_append_many(
        administration=administration,
        action="registered",
        entries=[
            (correspondence.pk, registration_facts(correspondence, attachments.get(correspondence.pk, [])))
            for correspondence in created
        ],
        recorded_at=now(),
    )


def _counters_raise(administration: Administration, direction: str, letters: list[_Letter]) -> None:
    """Make each year's numbering continue after its highest imported number."""
    highest: dict[int, int] = {}
    for letter in letters:
        highest[letter.year] = max(highest.get(letter.year, 0), letter.sequence)
    for year, sequence in highest.items():
        counter, _created = RegisterCounter.objects.select_for_update().get_or_create(
            administration=administration, direction=direction, year=year
        )
        if counter.last_number < sequence:
            counter.last_number = sequence
            counter.save(update_fields=["last_number"])


def register_import_request(
    *, actor: User, administration: Administration, direction: str, data: bytes, filename: str, dry_run: bool
) -> RegisterImport:
    """Keep the uploaded file and queue its check (or import) on the worker."""
    sha256 = storage.store_bytes(data)
    with transaction.atomic():
        Blob.objects.bulk_create(
            [Blob(sha256=sha256, size=len(data), content_type=_table_type(data))], ignore_conflicts=True
        )
        job = RegisterImport.objects.create(
            administration=administration,
            direction=direction,
            dry_run=dry_run,
            filename=filename[:160],
            blob_id=sha256,
            requested_by=actor,
            created_at=now(),
        )
        audit_record(
            actor=actor,
            action=AuditAction.REGISTER_IMPORT_REQUESTED,
            obj=job,
            administration=administration,
            data={"file": job.filename, "dry_run": dry_run, "direction": direction},
        )
        transaction.on_commit(lambda: register_import_task.enqueue(import_id=job.pk))
    return job


def register_import_confirmed(*, actor: User, checked: RegisterImport) -> RegisterImport:
    """Queue the import, for real, of the file a dry run ``checked`` without a rejected row."""
    return register_import_request(
        actor=actor,
        administration=checked.administration,
        direction=checked.direction,
        data=storage.read_bytes(checked.blob_id),
        filename=checked.filename,
        dry_run=False,
    )


def _table_type(data: bytes) -> str:
    return XLSX if data[:4] == b"PK\x03\x04" else "text/csv"


def register_import_run(import_id: int) -> RegisterImport:
    """Run a queued import (the worker's task); its report is recorded on it."""
    claimed = RegisterImport.objects.filter(pk=import_id, status=RegisterImport.Status.QUEUED).update(
        status=RegisterImport.Status.RUNNING, started_at=now()
    )
    job = RegisterImport.objects.select_related("administration", "requested_by").get(pk=import_id)
    if not claimed:
        return job  # run already, or running elsewhere

    def progress(done: int, total: int) -> None:
        RegisterImport.objects.filter(pk=import_id).update(rows_done=done, rows_total=total)

    try:
        report = register_import(
            actor=job.requested_by,
            administration=job.administration,
            direction=job.direction,
            data=storage.read_bytes(job.blob_id),
            dry_run=job.dry_run,
            progress=progress,
        )
    except ImportRefused as refused:
        job.status, job.error_code, job.error_params = RegisterImport.Status.FAILED, refused.code, refused.params
    else:
        job.rows_total = job.rows_done = report.rows
        job.rejected = [
            {"line": r.line, "number": r.number, "code": r.code, "params": r.params} for r in report.rejected
        ]
        job.gaps = {str(year): missing for year, missing in report.gaps.items()}
        job.imported = report.imported
        if report.rejected:
            job.status = RegisterImport.Status.REJECTED
        else:
            job.status = RegisterImport.Status.CHECKED if job.dry_run else RegisterImport.Status.IMPORTED
    job.finished_at = now()
    job.save()
    return job
