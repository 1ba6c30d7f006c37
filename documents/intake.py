"""Preflight of uploaded files: count, size, type sniffed from the content, page count.

Nothing here writes anything: a file that fails preflight is never stored. The content
type comes from the bytes, never from the file name or the browser's declared type.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Protocol

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from documents import storage
from documents.models import Blob

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


def _pdf_pages(stream: IO[bytes], size: int) -> int:
    """Open the PDF strictly enough to notice truncation; return its page count."""
    from pypdf import PdfReader

    stream.seek(max(0, size - 2048))
    if b"%%EOF" not in stream.read():
        raise ValueError("no end-of-file marker")
    stream.seek(0)
    reader = PdfReader(stream, strict=False)
    if reader.is_encrypted:
        # Encrypted PDFs are accepted as they are (originals are never altered) but their
        # page count may be unreadable without the password.
        try:
            reader.decrypt("")
        except Exception:
            return 0
    pages = len(reader.pages)
    if pages < 1:
        raise ValueError("no pages")
    return pages


def _image_pages(stream: IO[bytes]) -> int:
    from PIL import Image

    with Image.open(stream) as image:
        image.verify()
    stream.seek(0)
    with Image.open(stream) as image:
        frames = getattr(image, "n_frames", 1)
        image.load()  # decodes the first frame: catches truncated image data
    return int(frames)


def check_file(upload: Upload) -> CheckedFile:
    filename = clean_filename(upload.name)
    size = int(upload.size or 0)
    if size == 0:
        raise FileRejected("empty_file", _("The file “%(name)s” is empty.") % {"name": filename}, filename=filename)
    if size > settings.MAX_FILE_SIZE:
        raise FileRejected(
            "file_too_large",
            _("The file “%(name)s” is larger than %(limit)s.")
            % {"name": filename, "limit": filesizeformat(settings.MAX_FILE_SIZE)},
            filename=filename,
        )
    upload.seek(0)
    head = upload.read(16)
    content_type = sniff(head)
    if content_type is None:
        raise FileRejected(
            "file_type_not_allowed",
            _("The file “%(name)s” is not a PDF, JPEG, PNG or TIFF document.") % {"name": filename},
            filename=filename,
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    stream: IO[bytes] = upload  # type: ignore[assignment]
    try:
        pages = _pdf_pages(stream, size) if content_type == PDF else _image_pages(stream)
    except Exception as exc:
        logger.info("rejected unreadable %s upload %r: %s", content_type, filename, exc)
        raise FileRejected(
            "file_unreadable",
            _("The file “%(name)s” is damaged or incomplete and cannot be read.") % {"name": filename},
            filename=filename,
        ) from None
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
