"""Form helpers shared by the pages: accessible error wiring, multiple file uploads, and
choices among objects already loaded."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from core.text import plain_text


class AccessibleForm(forms.Form):
    """Ties each field's error text to its input (aria-describedby, aria-invalid), and gives
    the text of every text area with LF line breaks and no controls (core.text.plain_text):
    browsers send CR LF."""

    def full_clean(self) -> None:
        super().full_clean()
        cleaned = getattr(self, "cleaned_data", None)
        if cleaned is not None:
            for name, field in self.fields.items():
                value = cleaned.get(name)
                if isinstance(value, str) and isinstance(field.widget, forms.Textarea):
                    cleaned[name] = plain_text(value)
        for name in self.errors:
            if name in self.fields:
                field = self.fields[name]
                attrs = field.widget.attrs
                described = f"{self[name].auto_id}-error"
                existing = attrs.get("aria-describedby", "")
                attrs["aria-describedby"] = f"{existing} {described}".strip()
                attrs["aria-invalid"] = "true"


# Dates a person may type in a filter or a form: far enough back for former registers, far
# enough ahead for any deadline. Outside, date arithmetic would overflow and nothing can match.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


class BoundedDateField(forms.DateField):
    """A date between :data:`EARLIEST_DATE` and :data:`LATEST_DATE`, or a translated error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date", "min": "1900-01-01", "max": "2199-12-31"}))
        super().__init__(*args, **kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise forms.ValidationError(
                _("Give a date between %(earliest)s and %(latest)s.")
                % {"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
                code="date_out_of_range",
            )


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

    def has_changed(self, initial: Any, data: Any) -> bool:
        # No file chosen is no change (an empty row of a formset stays empty).
        return not self.disabled and bool(data)


def named_with_code(obj: Any) -> str:
    """How a choice of administration or service reads: its name in the current language, and its code."""
    return f"{obj.name} ({obj.code})"


class QuickSelect(forms.Select):
    """A ``<select>`` written in Python: the same HTML as Django's template-rendered one, without
    rendering a template for every option (pages with several selects render many times faster)."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts: list[str] = [format_html('<select name="{}"{}>', widget["name"], _attributes(widget["attrs"]))]
        for group, options, _index in widget["optgroups"]:
            if group:
                parts.append(format_html('<optgroup label="{}">', group))
            for option in options:
                parts.append(
                    format_html(
                        '<option value="{}"{}>{}</option>',
                        option["value"],
                        _attributes(option["attrs"]),
                        option["label"],
                    )
                )
            if group:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every part above is escaped by format_html


def _attributes(attrs: dict[str, Any]) -> SafeString:
    """HTML attributes in their given order, as Django's ``attrs.html`` writes them: a True value
    is the bare name, a False one is left out."""
    return mark_safe(  # noqa: S308 - names and values escaped by format_html
        "".join(
            format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
            for name, value in attrs.items()
            if value is not False
        )
    )


class ObjectChoiceField(forms.ChoiceField):
    """A choice among objects the page has already loaded: no query to list or to check them.
    Cleans to the chosen object (or ``None`` when left empty)."""

    widget = QuickSelect

    def __init__(
        self,
        *,
        objects: Iterable[Any] = (),
        label_from: Callable[[Any], str] = str,
        empty_label: str | Promise = "---------",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.empty_label = empty_label
        self.set_objects(objects, label_from)

    def set_objects(self, objects: Iterable[Any], label_from: Callable[[Any], str] = str) -> None:
        self.objects = {str(obj.pk): obj for obj in objects}
        self.choices = [("", self.empty_label), *((key, label_from(obj)) for key, obj in self.objects.items())]

    def clean(self, value: Any) -> Any:
        key = super().clean(value)
        return self.objects.get(key) if key else None

    def prepare_value(self, value: Any) -> Any:
        return getattr(value, "pk", value)


def report_form_errors(request: HttpRequest, form: forms.Form) -> None:
    """Every error of ``form`` as a message, for pages that answer a small form with a redirect
    (a valid form has none). The page it goes back to shows the form afresh, so each message
    starts with the label of its field ("Reason: This field is required."); a hidden field's
    (which the person never filled in) and the form's own errors stand alone."""
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = field.label if field is not None and not field.widget.is_hidden else None
        for error in errors:
            if label:
                messages.error(request, _("%(field)s: %(error)s") % {"field": label, "error": error})
            else:
                messages.error(request, str(error))
