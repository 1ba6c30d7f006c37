"""The register in /admin/ shows what a receipt promised as the receipt states it, in the reader's
language: the procedure, the delay, the due date, the silence rule; not the stored JSON."""

from __future__ import annotations

import pytest
from django.test import Client

from tenancy.models import Administration, User
from tenancy.testing import PASSWORD
from workflow.testing import deposit, make_procedure


@pytest.mark.parametrize(
    ("language", "procedure", "delay", "silence"),
    [
        ("ar", "المسطرة", "30 يوما", "أثر السكوت"),
        ("fr", "Procédure", "30 jours", "Règle du silence"),
    ],
)
def test_the_terms_read_as_the_receipt_states_them(
    commune: Administration, citizen: User, language: str, procedure: str, delay: str, silence: str
) -> None:
    make_procedure(commune)
    request = deposit(commune, citizen, procedure="URB-PC").correspondence
    platform_admin = User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")
    client = Client()
    client.force_login(platform_admin)
    client.cookies["django_language"] = language
    page = client.get(f"/admin/registry/correspondence/{request.pk}/change/").content.decode()
    assert '"delay_kind"' not in page and "calendar" not in page  # no stored JSON
    assert f"<dt>{procedure}</dt>" in page and '(<bdi dir="ltr">URB-PC</bdi>)' in page
    assert delay in page and f"<dt>{silence}</dt>" in page
    assert f'<bdi dir="ltr">{request.terms["due_on"]}</bdi>' in page
    assert page.count(f"<dt>{procedure}</dt>") == 1  # shown once, where the field was
