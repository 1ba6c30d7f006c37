"""The shared form pieces: a select written in Python must read exactly like Django's own, and
a choice among loaded objects must refuse anything else."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django import forms

from core.forms import ObjectChoiceField, QuickSelect


def _tags(html: str) -> str:
    """The markup without the whitespace Django's templates put between tags."""
    return re.sub(r">\s+<", "><", html.strip())


CHOICES = [
    ("", "---------"),
    ("1", 'Urbanisme & "travaux"'),
    ("2", "مصلحة <التعمير>"),
    ("Annexes", [("3", "Annexe Nord"), ("4", "Annexe Sud")]),
]


@pytest.mark.parametrize("value", [None, "", "2", "4", "99"])
@pytest.mark.parametrize(
    "attrs", [None, {"id": "id_service", "class": "wide", "aria-invalid": "true", "required": True}]
)
def test_the_quick_select_renders_what_djangos_select_renders(
    value: str | None, attrs: dict[str, str | bool] | None
) -> None:
    theirs = forms.Select(choices=CHOICES).render("service", value, attrs=attrs)
    ours = QuickSelect(choices=CHOICES).render("service", value, attrs=attrs)
    assert _tags(ours) == _tags(theirs)
    assert "&amp; &quot;travaux&quot;" in ours and "&lt;التعمير&gt;" in ours


@dataclass
class Thing:
    pk: int
    name: str


THINGS = [Thing(1, "un"), Thing(2, "deux")]


class ThingForm(forms.Form):
    thing = ObjectChoiceField(required=False)
    needed = ObjectChoiceField()

    def __init__(self, data: dict[str, str] | None = None, initial: dict[str, object] | None = None) -> None:
        super().__init__(data, initial=initial)
        thing, needed = self.fields["thing"], self.fields["needed"]
        assert isinstance(thing, ObjectChoiceField) and isinstance(needed, ObjectChoiceField)
        thing.set_objects(THINGS, lambda t: t.name.upper())
        needed.set_objects(THINGS)


def test_an_object_choice_cleans_to_the_object_and_refuses_others() -> None:
    form = ThingForm({"thing": "2", "needed": "1"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"thing": THINGS[1], "needed": THINGS[0]}
    empty = ThingForm({"thing": "", "needed": "2"})
    assert empty.is_valid() and empty.cleaned_data["thing"] is None
    for bad in ({"thing": "3", "needed": "1"}, {"thing": "1"}, {"thing": "x", "needed": "1; drop"}):
        form = ThingForm(bad)
        assert not form.is_valid()
    assert "needed" in ThingForm({"thing": "1"}).errors


def test_an_object_choice_shows_its_labels_and_keeps_the_choice() -> None:
    html = str(ThingForm({"thing": "2", "needed": "1"})["thing"])
    assert '<option value="2" selected>DEUX</option>' in html and '<option value="">---------</option>' in html
    initial = str(ThingForm(initial={"thing": THINGS[0]})["thing"])
    assert '<option value="1" selected>UN</option>' in initial
