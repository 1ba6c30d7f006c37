"""Import refusals kept as a code and its parameters, translated when shown.

Imports checked before kept each reason as text in the worker's language (Arabic, usually). Each
text is read back, in whichever language it was written, into its code and parameters; a text
that cannot be read back (a message of a later or earlier version) is kept as it is and shown so.
"""

import re

from django.db import migrations, models

# The messages as they were written then (code: English text), frozen here: the texts to read
# back are those of this version, whatever later versions say.
ROW_REASONS = {
    "number_missing": "The number is missing.",
    "number_unreadable": "The number cannot be read (expected 2019/123, 123/2019 or 123).",
    "date_unreadable": "The date is missing or cannot be read (expected 2019-03-31 or 31/03/2019).",
    "date_future": "The date is in the future.",
    "year_mismatch": "The number's year is not the year of the date.",
    "number_twice": "This number appears twice in the file.",
    "number_taken": "This number is already in the register.",
    "sender_missing": "The sender is missing.",
    "subject_missing": "The subject is missing.",
    "too_long": "The sender (200 characters) or the subject (300 characters) is too long.",
    "service_unknown": "The service %(code)s does not exist here.",
    "file_outside": "The file %(name)s is not in the import folder.",
    "file_too_large": "The file %(name)s is too large.",
}
# Refusals of a scan by the intake: (code of the intake, text).
FILE_REASONS = {
    "empty_file": "The file “%(name)s” is empty.",
    "file_type_not_allowed": "The file “%(name)s” is not a PDF, JPEG, PNG or TIFF document.",
    "pdf_password": "The PDF “%(name)s” is protected by a password. Send it without the password.",
    "pdf_active_content": (
        "The PDF “%(name)s” contains scripts or actions that run by themselves (JavaScript, "
        "a form with scripts, a command). Print it to a new PDF and send that one."
    ),
    "pdf_embedded_files": "The PDF “%(name)s” carries other files inside it. Send each document as a file of its own.",
    "pdf_appended_data": "The PDF “%(name)s” has other data after its end. Save it again as a PDF and send that one.",
    "file_unreadable": "The file “%(name)s” is damaged or incomplete and cannot be read.",
}
FILE_ERRORS = {
    "columns_missing": "The file has no column for: %(columns)s. Its first line must name the columns.",
    "empty": "The file is empty.",
    "encoding": "The file is neither UTF-8 nor Windows Arabic text.",
    "not_a_table": "The file is not a CSV or XLSX table.",
    "xlsx_unreadable": "The XLSX file cannot be read.",
    "too_many_rows": "The file has more than %(limit)d rows: split it.",
    "register_changed": "The register changed during the import: nothing was imported. Run it again.",
}
_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)([sd])")
_ISOLATES = str.maketrans("", "", "\u2066\u2067\u2068\u2069")


def _pattern(text):  # type: ignore[no-untyped-def]
    def group(match):  # type: ignore[no-untyped-def]
        name, kind = match.groups()
        return rf"(?P<{name}>\d+)" if kind == "d" else rf"(?P<{name}>.+?)"

    return re.compile(_PLACEHOLDER.sub(group, re.escape(text.translate(_ISOLATES))), re.DOTALL)


def _readers(table):  # type: ignore[no-untyped-def]
    """(code, pattern) for each text of ``table`` in English and in each language of the site."""
    from django.conf import settings
    from django.utils import translation

    readers = []
    for code, text in table.items():
        texts = {text}
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                texts.add(translation.gettext(text))
        readers.extend((code, _pattern(t)) for t in texts)
    return readers


def _read(text, readers):  # type: ignore[no-untyped-def]
    text = (text or "").translate(_ISOLATES).strip()
    for code, pattern in readers:
        match = pattern.fullmatch(text)
        if match:
            params = {k: int(v) if v.isdigit() and k == "limit" else v for k, v in match.groupdict().items()}
            return code, params
    return None


def reasons_to_codes(apps, schema_editor):  # type: ignore[no-untyped-def]
    RegisterImport = apps.get_model("registry", "RegisterImport")
    rows = _readers(ROW_REASONS)
    files = _readers(FILE_REASONS)
    errors = _readers(FILE_ERRORS)
    for job in RegisterImport.objects.exclude(rejected=[]).iterator(chunk_size=100):
        changed = []
        for row in job.rejected:
            if "code" in row or "reason" not in row:
                changed.append(row)
                continue
            found = _read(row["reason"], rows)
            if found is None:
                file_found = _read(row["reason"], files)
                if file_found is not None:
                    found = ("file_rejected", {"name": file_found[1].get("name", ""), "file_code": file_found[0]})
            if found is None:
                changed.append(row)  # kept as text
            else:
                changed.append({"line": row.get("line"), "number": row.get("number", ""), "code": found[0], "params": found[1]})
        job.rejected = changed
        job.save(update_fields=["rejected"])
    for job in RegisterImport.objects.filter(error_code="").exclude(error=""):
        found = _read(job.error, errors)
        if found is not None:
            job.error_code, job.error_params, job.error = found[0], found[1], ""
            job.save(update_fields=["error_code", "error_params", "error"])


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0010_correspondence_sender_or_addressee"),
    ]

    operations = [
        migrations.AddField(
            model_name="registerimport",
            name="error_code",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="registerimport",
            name="error_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(reasons_to_codes, migrations.RunPython.noop),
    ]
