"""Output schemas shared by several routers of the API."""

from __future__ import annotations

from ninja import Schema

from registry.models import Correspondence


class AdministrationOut(Schema):
    code: str
    name_ar: str
    name_fr: str
    name_zgh: str


def administration_out(correspondence: Correspondence) -> dict[str, str]:
    a = correspondence.administration
    return {"code": a.code, "name_ar": a.name_ar, "name_fr": a.name_fr, "name_zgh": a.name_zgh}
