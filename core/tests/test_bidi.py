"""Directional controls in what people type: closed and isolated wherever it is shown."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from core.bidi import FSI, LRE, LRI, PDF, PDI, RLI, RLO, closed, has_directional_controls, isolated

RLM = "\u200f"


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("Demande de permis", "Demande de permis"),
        (RLO + "gnp.exe", RLO + "gnp.exe" + PDF),
        # Closers come innermost first; a PDI closes whatever was opened inside its isolate.
        (RLI + "a" + RLO + "b", RLI + "a" + RLO + "b" + PDF + PDI),
        (RLI + "a" + RLO + "b" + PDI + "c", RLI + "a" + RLO + "b" + PDI + "c"),
        (LRE + RLO + "x" + PDF, LRE + RLO + "x" + PDF + PDF),
        # Closing controls that match nothing typed would close the page's own isolate or embedding.
        ("a" + PDI + "b" + PDF + "c", "abc"),
        (RLI + "a" + PDI + PDI, RLI + "a" + PDI),
        (RLO + "a" + LRI + "b" + PDF + "c", RLO + "a" + LRI + "bc" + PDI + PDF),
        # Each paragraph owes its own closers: a newline ends the controls opened before it.
        (RLO + "one\ntwo" + PDI + "\r\n" + RLI + "three", RLO + "one" + PDF + "\ntwo\r\n" + RLI + "three" + PDI),
    ],
)
def test_controls_are_closed_where_their_paragraph_ends(typed: str, shown: str) -> None:
    assert closed(typed) == shown
    assert closed(shown) == shown


def test_isolated_text_is_wrapped_per_paragraph_only_when_it_has_controls() -> None:
    assert isolated("فاطمة الزهراء — 2026") == "فاطمة الزهراء — 2026"
    assert isolated(RLO + "gnp.exe") == FSI + RLO + "gnp.exe" + PDF + PDI
    assert isolated("a" + RLM) == FSI + "a" + RLM + PDI
    assert isolated(RLO + "a\n\nb") == FSI + RLO + "a" + PDF + PDI + "\n\n" + FSI + "b" + PDI
    assert has_directional_controls("x" + RLM) and not has_directional_controls("x")


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


def test_the_bdi_filter_escapes_closes_and_isolates() -> None:
    html = render("<td>{{ s|bdi }} · 2026</td>", s="<b>" + RLO + "gnp.exe" + PDI)
    assert html == "<td><bdi>&lt;b&gt;" + RLO + "gnp.exe" + PDF + "</bdi> · 2026</td>"
    assert render("{{ s|bdi }}", s="") == ""
    assert render("{{ s|bdi }}", s="Ahmed") == "<bdi>Ahmed</bdi>"


def test_the_bdi_filter_closes_each_line_of_a_text_with_line_breaks() -> None:
    html = render("{{ s|linebreaksbr|bdi }}", s=RLO + "one & two\n" + RLI + "three")
    assert html == "<bdi>" + RLO + "one &amp; two" + PDF + "<br>" + RLI + "three" + PDI + "</bdi>"
    assert render("{{ s|truncatechars:5|bdi }}", s=RLO + "abcdefgh") == "<bdi>" + RLO + "abc…" + PDF + "</bdi>"


def test_the_isolate_filter_suits_titles_and_attributes() -> None:
    html = render('<title>{{ s|isolate }} · Wasl</title><input aria-label="{{ s|isolate }}">', s=RLO + '"x"')
    isolated_value = FSI + RLO + "&quot;x&quot;" + PDF + PDI
    assert html == f'<title>{isolated_value} · Wasl</title><input aria-label="{isolated_value}">'
    assert render("{{ s|isolate }}", s="plain") == "plain"


def test_the_bdi_filter_may_set_the_direction_of_the_run() -> None:
    assert render('{{ s|bdi:"ltr" }}', s="a@b.ma" + PDI) == '<bdi dir="ltr">a@b.ma</bdi>'
    assert render('{{ s|bdi:"sideways" }}', s="x") == "<bdi>x</bdi>"
