"""A form field for uploaded documents, preflighted like every intake (documents.intake)."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import MultipleFileField
from documents.intake import ALLOWED_TYPES, FileRejected, check_files

ACCEPT = ",".join([*ALLOWED_TYPES, ".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff"])


class CheckedFilesField(MultipleFileField):
    """Several files; cleans to a list of :class:`documents.intake.CheckedFile`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.widget.attrs["accept"] = ACCEPT

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        try:
            return check_files(super().clean(data, initial))
        except FileRejected as rejected:
            raise forms.ValidationError(rejected.message, code=rejected.code) from None
