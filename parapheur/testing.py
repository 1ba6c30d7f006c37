"""Test helpers for the parapheur: people who act, a document, a circuit."""

from __future__ import annotations

from tenancy.models import Administration, Membership, Service, User
from tenancy.testing import make_staff
from trust.testing import sample_pdf

PASSPHRASE = "passphrase-for-tests"  # noqa: S105 - a test value


def person(
    administration: Administration, role: str, email: str, *, service: Service | None = None, name: str = ""
) -> User:
    user = make_staff(administration, role, email, **({"full_name": name} if name else {}))
    if service is not None:
        Membership.objects.filter(user=user, administration=administration).update(service=service)
    return user


def enrolled(user: User, administration: Administration, *, title_fr: str = "", title_ar: str = "") -> User:
    from parapheur.certificates import certificate_enrol

    certificate_enrol(
        user=user, administration=administration, passphrase=PASSPHRASE, title_fr=title_fr, title_ar=title_ar
    )
    return user


def document(text: str = "Décision portant autorisation") -> bytes:
    return sample_pdf(text)
