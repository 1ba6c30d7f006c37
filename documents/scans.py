"""Scans brought to the counter: pictures put together into one PDF, in order.

A scanner gives one picture a page (JPEG, PNG or TIFF, a multi-page TIFF for a whole letter);
a letter is one document. :func:`pictures_assembled` is the intake step that makes one PDF of
the pictures of an upload, before registration: the JPEG bytes go in as they are, other
pictures losslessly, so nothing of the scan is lost; the PDF is then checked like any upload.

The pictures were checked already (their pixels and frames within the limits); the work of
putting them together (decoding every frame) runs in a child process with the memory and time
limits of any file (:mod:`documents.sandbox`), and the pages it would make are counted first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile

from documents.intake import (
    PDF,
    CheckedFile,
    FileRejected,
    check_file,
    file_work_limits,
    reading,
    refusal_message,
    upload_source,
)
from documents.sandbox import run_limited


def pictures_assembled(files: Sequence[CheckedFile]) -> list[CheckedFile]:
    """``files`` with their pictures (if any) replaced by one PDF of them, a page a frame, in
    the order given, where the first picture was; PDFs are left as they are."""
    pictures = [checked for checked in files if checked.content_type != PDF]
    if not pictures:
        return list(files)
    stem = pictures[0].filename.rsplit(".", 1)[0] or "scan"
    name = f"{stem}.pdf"
    pages = sum(checked.pages or 1 for checked in pictures)
    if pages > settings.MAX_PAGES:
        raise FileRejected(
            "too_many_pages", refusal_message("too_many_pages", name, {"limit": settings.MAX_PAGES}), filename=name
        )
    # The child writes the PDF into a temporary file: the web worker never holds it whole.
    output = TemporaryUploadedFile(name, PDF, 0, None)
    with reading(name, PDF):
        run_limited(
            "pictures_to_pdf",
            [upload_source(checked.upload) for checked in pictures],
            output.temporary_file_path(),
            max_pixels=settings.MAX_PIXELS,
            limits=file_work_limits(),
        )
    output.size = os.path.getsize(output.temporary_file_path())
    assembled = check_file(output)  # type: ignore[arg-type]
    result: list[CheckedFile] = []
    for checked in files:
        if checked.content_type == PDF:
            result.append(checked)
        elif checked is pictures[0]:
            result.append(assembled)
    return result
