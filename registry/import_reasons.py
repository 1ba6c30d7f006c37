"""Why an import of a former register refused its file or one of its rows.

A refusal is kept as a code and its parameters (:class:`registry.models.RegisterImport`), and its
message is translated when a page shows it, in its reader's language: the worker that checked
the file has no reader, and its language is not theirs.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from documents.intake import isolated, refusal_message

# Why a file or a row is refused: a code and its parameters are kept with the import, and the
# message is translated when a page shows it, in its reader's language (never in the worker's).
REASONS: dict[str, str] = {
    # the file as a whole
    "columns_missing": gettext_noop("The file has no column for: %(columns)s. Its first line must name the columns."),
    "empty": gettext_noop("The file is empty."),
    "encoding": gettext_noop("The file is neither UTF-8 nor Windows Arabic text."),
    "not_a_table": gettext_noop("The file is not a CSV or XLSX table."),
    "xlsx_unreadable": gettext_noop("The XLSX file cannot be read."),
    "too_many_rows": gettext_noop("The file has more than %(limit)d rows: split it."),
    "register_changed": gettext_noop("The register changed during the import: nothing was imported. Run it again."),
    # one row
    "number_missing": gettext_noop("The number is missing."),
    "number_unreadable": gettext_noop("The number cannot be read (expected 2019/123, 123/2019 or 123)."),
    "date_unreadable": gettext_noop("The date is missing or cannot be read (expected 2019-03-31 or 31/03/2019)."),
    "date_future": gettext_noop("The date is in the future."),
    "year_mismatch": gettext_noop("The number's year is not the year of the date."),
    "number_twice": gettext_noop("This number appears twice in the file."),
    "number_taken": gettext_noop("This number is already in the register."),
    "sender_missing": gettext_noop("The sender is missing."),
    "subject_missing": gettext_noop("The subject is missing."),
    "too_long": gettext_noop("The sender (200 characters) or the subject (300 characters) is too long."),
    "service_unknown": gettext_noop("The service %(code)s does not exist here."),
    "file_outside": gettext_noop("The file %(name)s is not in the import folder."),
    "file_too_large": gettext_noop("The file %(name)s is too large."),
    # "file_rejected": a scan the intake refuses, told by documents.intake (see reason_text)
}
# The limit a refusal of the intake names, kept with it (it is the setting the file was read with).
FILE_LIMITS = {"too_many_pixels": "MAX_PIXELS", "too_many_pages": "MAX_PAGES", "pdf_inflated": "MAX_PDF_INFLATED"}


def reason_text(code: str, params: dict[str, Any]) -> str:
    """The message of a refusal kept as ``code`` and ``params``, in the active language."""
    if code == "file_rejected":
        return _file_refusal_text(str(params.get("file_code", "")), str(params.get("name", "")), params)
    template = REASONS.get(code)
    if template is None:  # kept as text by an older version, and not recognised
        return str(params.get("text", ""))
    shown = {k: isolated(v) if k in ("name", "code") and isinstance(v, str) else v for k, v in params.items()}
    return _(template) % shown if shown else _(template)


def _file_refusal_text(file_code: str, name: str, params: dict[str, Any]) -> str:
    if file_code == "empty_file":
        return _("The file “%(name)s” is empty.") % {"name": isolated(name)}
    if file_code == "file_type_not_allowed":
        return _("The file “%(name)s” is not a PDF, JPEG, PNG or TIFF document.") % {"name": isolated(name)}
    if file_code == "file_too_costly":
        return _(
            "Reading the file “%(name)s” needs more than %(memory)s of memory or %(seconds)d seconds, "
            "the limits of this installation."
        ) % {
            "name": isolated(name),
            "memory": filesizeformat(settings.FILE_WORK_MEMORY),
            "seconds": settings.FILE_WORK_SECONDS,
        }
    return refusal_message(file_code, name, {"limit": int(params.get("limit") or 0)})
