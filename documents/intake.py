"""Preflight of uploaded files: count, size, type sniffed from the content, work limits, pages.

Nothing here writes anything: a file that fails preflight is never stored. The content
type comes from the bytes, never from the file name or the browser's declared type.

What a file costs to read is bounded before it is read: a picture's pixels and frames come
from its header (:mod:`documents.headers`), and the file is then opened in a child process
with a memory and a time limit (:mod:`documents.sandbox`, :mod:`documents.decoding`), which
also counts a PDF's pages and how far its streams inflate. A PDF is refused, with the reason,
when it asks for a password, carries active content (JavaScript, forms with scripts, launch
actions), carries other files, or has data appended after its end: Wasl keeps every original
byte for byte under its seal, so it cannot strip them, and the people who open attachments
at the administration should never meet them (see docs/uploads.md).
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Protocol

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.uploads import UNNAMED_FILE
from documents import storage
from documents.headers import HeaderUnreadable, picture_header
from documents.models import Blob
from documents.sandbox import LimitExceeded, Limits, Refused, WorkFailed, run_limited

logger = logging.getLogger(__name__)

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
ALLOWED_TYPES = (PDF, JPEG, PNG, TIFF)


class Upload(Protocol):
    """What Django's UploadedFile offers and what preflight needs."""

    name: str | None
    size: int | None

    def open(self, mode: str = ...) -> object: ...
    def chunks(self, chunk_size: int | None = ...) -> Iterable[bytes]: ...
    def read(self, num_bytes: int | None = ...) -> bytes: ...
    def seek(self, offset: int, whence: int = ...) -> int: ...


class FileRejected(Exception):
    """A file (or the set of files) that cannot be accepted; ``message`` is translated."""

    def __init__(self, code: str, message: str, *, filename: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.filename = filename


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    pages: int | None
    upload: Upload


def isolated(name: str) -> str:
    """A file name as a message shows it: isolated (U+2068…U+2069) so that a Latin name inside
    an Arabic sentence, or an Arabic name inside a French one, keeps its place and its order."""
    return f"\u2068{name}\u2069"


def clean_filename(name: str | None, *, fallback: str = "document") -> str:
    """Keep the base name, drop control and path characters, cap the length."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not base:
        return fallback
    if len(base) > 150:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:140] + dot + ext[:9]) if dot else base[:150]
    return base


def sniff(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    return None


EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", TIFF: ".tif"}
# Refusals of files too large, in bytes or in the work they ask for (the API answers 413).
TOO_LARGE = frozenset(
    {"file_too_large", "deposit_too_large", "too_many_pixels", "too_many_pages", "pdf_inflated", "file_too_costly"}
)


def file_work_limits() -> Limits:
    """The memory and time of the child process that reads one file."""
    return Limits(memory=settings.FILE_WORK_MEMORY, seconds=settings.FILE_WORK_SECONDS)


def upload_source(upload: Upload) -> bytes | str:
    """What a child process reads an upload from: the path of its temporary file (a large
    upload is on disk), else its bytes."""
    path = getattr(upload, "temporary_file_path", None)
    if callable(path):
        return str(path())
    upload.seek(0)
    try:
        return upload.read()
    finally:
        upload.seek(0)


def _inspected_pages(upload: Upload, content_type: str) -> int:
    """Check a file's work limits and readability; return its pages (frames of a picture).

    A picture's pixels and frames are read from its header here, before anything decodes it;
    then the file is opened (a PDF parsed, a picture's first frame decoded, which shows a
    truncated file) in a child process within :func:`file_work_limits`."""
    if content_type == PDF:
        return int(
            run_limited(
                "pdf_inspect",
                upload_source(upload),
                max_pages=settings.MAX_PAGES,
                max_pixels=settings.MAX_PIXELS,
                max_inflated=settings.MAX_PDF_INFLATED,
                limits=file_work_limits(),
            )
        )
    stream: IO[bytes] = upload  # type: ignore[assignment]
    header = picture_header(stream, content_type, max_frames=settings.MAX_PAGES)
    if header.largest > settings.MAX_PIXELS:
        raise Refused("too_many_pixels", {"limit": settings.MAX_PIXELS})
    if header.frames > settings.MAX_PAGES:
        raise Refused("too_many_pages", {"limit": settings.MAX_PAGES})
    return int(
        run_limited(
            "picture_inspect",
            upload_source(upload),
            max_pixels=settings.MAX_PIXELS,
            max_frames=settings.MAX_PAGES,
            limits=file_work_limits(),
        )
    )


def refusal_message(code: str, filename: str, params: dict[str, int]) -> str:
    """The translated message of a refusal named by ``code`` (see documents.decoding)."""
    name = {"name": isolated(filename)}
    limit = params.get("limit", 0)
    if code == "too_many_pixels":
        return _("The picture “%(name)s” (or a picture in it) is larger than %(limit)d megapixels.") % {
            **name,
            "limit": limit // 1_000_000,
        }
    if code == "too_many_pages":
        return ngettext(
            "The file “%(name)s” has more than %(limit)d page.",
            "The file “%(name)s” has more than %(limit)d pages.",
            limit,
        ) % {**name, "limit": limit}
    if code == "pdf_inflated":
        return _("The PDF “%(name)s” expands to more than %(limit)s once its contents are unpacked.") % {
            **name,
            "limit": filesizeformat(limit),
        }
    if code == "pdf_password":
        return _("The PDF “%(name)s” is protected by a password. Send it without the password.") % name
    if code == "pdf_active_content":
        return (
            _(
                "The PDF “%(name)s” contains scripts or actions that run by themselves (JavaScript, "
                "a form with scripts, a command). Print it to a new PDF and send that one."
            )
            % name
        )
    if code == "pdf_embedded_files":
        return _("The PDF “%(name)s” carries other files inside it. Send each document as a file of its own.") % name
    if code == "pdf_appended_data":
        return _("The PDF “%(name)s” has other data after its end. Save it again as a PDF and send that one.") % name
    return _("The file “%(name)s” is damaged or incomplete and cannot be read.") % name


@contextmanager
def reading(filename: str, content_type: str) -> Iterator[None]:
    """Turn what reading a file in a child process may end with into a :class:`FileRejected`
    with the translated reason (a refusal, a limit of the child, a damaged file)."""
    try:
        yield
    except Refused as refused:
        logger.info("refused %s file %r: %s %s", content_type, filename, refused.code, refused.params)
        raise FileRejected(
            refused.code, refusal_message(refused.code, filename, refused.params), filename=filename
        ) from None
    except LimitExceeded as exceeded:
        logger.warning("reading %s file %r exceeded its limits: %s", content_type, filename, exceeded)
        raise FileRejected(
            "file_too_costly",
            _(
                "Reading the file “%(name)s” needs more than %(memory)s of memory or %(seconds)d seconds, "
                "the limits of this installation."
            )
            % {
                "name": isolated(filename),
                "memory": filesizeformat(settings.FILE_WORK_MEMORY),
                "seconds": settings.FILE_WORK_SECONDS,
            },
            filename=filename,
        ) from None
    except (WorkFailed, HeaderUnreadable) as exc:
        logger.info("rejected unreadable %s file %r: %s", content_type, filename, exc)
        raise FileRejected("file_unreadable", refusal_message("", filename, {}), filename=filename) from None


def check_file(upload: Upload) -> CheckedFile:
    filename = clean_filename(upload.name, fallback="")
    size = int(upload.size or 0)
    shown = filename or UNNAMED_FILE
    if size == 0:
        raise FileRejected("empty_file", _("The file “%(name)s” is empty.") % {"name": isolated(shown)}, filename=shown)
    if size > settings.MAX_FILE_SIZE:
        raise FileRejected(
            "file_too_large",
            _("The file “%(name)s” is larger than %(limit)s.")
            % {"name": isolated(shown), "limit": filesizeformat(settings.MAX_FILE_SIZE)},
            filename=shown,
        )
    upload.seek(0)
    head = upload.read(16)
    content_type = sniff(head)
    if content_type is None:
        raise FileRejected(
            "file_type_not_allowed",
            _("The file “%(name)s” is not a PDF, JPEG, PNG or TIFF document.") % {"name": isolated(shown)},
            filename=shown,
        )
    # A file sent without a usable name gets one (it is never dropped), and a name without an
    # extension the one of its type, so that it opens when downloaded.
    filename = filename or UNNAMED_FILE
    if "." not in filename:
        filename += EXTENSIONS[content_type]
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    try:
        with reading(filename, content_type):
            pages = _inspected_pages(upload, content_type)
    finally:
        upload.seek(0)
    return CheckedFile(
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        pages=pages or None,
        upload=upload,
    )


def check_files(uploads: Sequence[Upload]) -> list[CheckedFile]:
    """Preflight a whole deposit: the number of files, their total size, then each file."""
    if len(uploads) > settings.MAX_FILES:
        raise FileRejected(
            "too_many_files",
            ngettext(
                "A deposit may carry at most %(limit)d file.",
                "A deposit may carry at most %(limit)d files.",
                settings.MAX_FILES,
            )
            % {"limit": settings.MAX_FILES},
        )
    total = sum(int(u.size or 0) for u in uploads)
    if total > settings.MAX_DEPOSIT_SIZE:
        raise FileRejected(
            "deposit_too_large",
            _("The files together are larger than %(limit)s.") % {"limit": filesizeformat(settings.MAX_DEPOSIT_SIZE)},
        )
    return [check_file(upload) for upload in uploads]


def store_checked(files: Sequence[CheckedFile]) -> list[str]:
    """Write checked files to storage; return the hashes of files that were new."""
    new: list[str] = []
    for checked in files:
        if storage.exists(checked.sha256):
            continue
        checked.upload.seek(0)
        written = storage.store_chunks(checked.upload.chunks())
        if written != checked.sha256:  # the upload changed under us: never trust it
            storage.discard(written)
            raise FileRejected("file_changed", _("The file changed while it was being received."))
        new.append(written)
    return new


def blob_of(checked: CheckedFile) -> Blob:
    """Store a checked file (if new) and its record; call inside the transaction that uses it
    (a file stored for a transaction that fails is removed by the orphan sweep)."""
    store_checked([checked])
    blob = Blob(sha256=checked.sha256, size=checked.size, content_type=checked.content_type, pages=checked.pages)
    Blob.objects.bulk_create([blob], ignore_conflicts=True)
    return blob


def pdf_blob(pdf: bytes, *, pages: int | None = None) -> Blob:
    """Store a PDF Wasl made (a sealed copy, a letter) and its record; as :func:`blob_of`."""
    blob = Blob(sha256=storage.store_bytes(pdf), size=len(pdf), content_type="application/pdf", pages=pages)
    Blob.objects.bulk_create([blob], ignore_conflicts=True)
    return blob


def stored_file(blob: Blob, filename: str) -> CheckedFile:
    """A file already checked and stored (another register's attachment), to attach again
    without reading it: its bytes are in storage under its hash."""
    if not storage.exists(blob.sha256):
        raise FileRejected("file_missing", _("The file “%(name)s” is missing from storage.") % {"name": filename})
    return CheckedFile(
        filename=filename,
        content_type=blob.content_type,
        size=blob.size,
        sha256=blob.sha256,
        pages=blob.pages,
        upload=bytes_upload(b"", filename),  # never read: the bytes are stored already
    )


def bytes_upload(data: bytes, name: str) -> Upload:
    """Wrap bytes as an upload (for files Wasl makes itself, and for tests)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)  # type: ignore[return-value]


__all__ = [
    "ALLOWED_TYPES",
    "CheckedFile",
    "FileRejected",
    "bytes_upload",
    "check_file",
    "check_files",
    "clean_filename",
    "sniff",
    "store_checked",
]
