"""Choosing among names kept in several languages."""

from __future__ import annotations

from django.utils.translation import get_language


def in_language(name_ar: str, name_fr: str, name_zgh: str = "") -> str:
    """The name in the current language: French in the French interface, the Amazigh name in
    the Amazigh one when there is one, Arabic otherwise."""
    language = (get_language() or "ar").split("-")[0]
    if language == "fr":
        return name_fr or name_ar
    if language == "zgh" and name_zgh:
        return name_zgh
    return name_ar or name_fr
