"""Factories and named personas for tests."""

from __future__ import annotations

import itertools
from typing import Any

from django.utils import timezone

from tenancy.models import Administration, Membership, Service, User

PASSWORD = "correct-horse-battery-9"  # noqa: S105 (test personas)
_counter = itertools.count(1)


def make_administration(code: str | None = None, **fields: Any) -> Administration:
    n = next(_counter)
    defaults: dict[str, Any] = {
        "code": code or f"ADM-{n}",
        "kind": Administration.Kind.COMMUNE,
        "name_ar": f"الجماعة رقم {n}",
        "name_fr": f"Commune n° {n}",
        "name_zgh": "ⵜⴰⵎⵙⵙⵓⵔⵜ",
    }
    defaults.update(fields)
    return Administration.objects.create(**defaults)


def make_service(administration: Administration, code: str = "SG", **fields: Any) -> Service:
    defaults: dict[str, Any] = {"name_ar": "الكتابة العامة", "name_fr": "Secrétariat général"}
    defaults.update(fields)
    return Service.objects.create(administration=administration, code=code, **defaults)


def make_user(email: str | None = None, *, verified: bool = True, **fields: Any) -> User:
    n = next(_counter)
    fields.setdefault("full_name", f"مواطن {n}")
    user = User.objects.create_user(email or f"user{n}@example.ma", PASSWORD, **fields)
    if verified:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


def make_staff(administration: Administration, role: str, email: str | None = None, **fields: Any) -> User:
    user = make_user(email, **fields)
    Membership.objects.create(user=user, administration=administration, role=role)
    return user


def make_commune() -> Administration:
    """The administration under test (the ``commune`` fixture), for fixtures that build it themselves."""
    administration = make_administration(
        "COMMUNE-TEST", name_ar="جماعة الاختبار", name_fr="Commune de Test", name_zgh="ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵓⵔⵎⵉⵙ"
    )
    make_service(administration, "SG")
    return administration


def make_citizen() -> User:
    """The citizen of the tests (the ``citizen`` fixture), for fixtures that build it themselves."""
    return make_user("citizen@example.ma", full_name="فاطمة الزهراء بنعلي", national_id="AB123456")
