"""Form helpers shared by the pages: accessible error wiring and multiple file uploads."""

from __future__ import annotations

from typing import Any

from django import forms


class AccessibleForm(forms.Form):
    """Ties each field's error text to its input (aria-describedby, aria-invalid)."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                field = self.fields[name]
                attrs = field.widget.attrs
                described = f"{self[name].auto_id}-error"
                existing = attrs.get("aria-describedby", "")
                attrs["aria-describedby"] = f"{existing} {described}".strip()
                attrs["aria-invalid"] = "true"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [item for item in items if item]


def named_with_code(obj: Any) -> str:
    """How a choice of administration or service reads: its name in the current language, and its code."""
    return f"{obj.name} ({obj.code})"
