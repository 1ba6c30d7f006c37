"""The exchanges page: a clerk sends a letter to another administration; both sides see it with
both numbers once delivered; outsiders are denied."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from documents.samples import pdf_bytes
from exchange import services
from exchange.models import Envelope
from tenancy.models import Membership
from tenancy.testing import make_administration, make_staff

Role = Membership.Role


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def signed_in(user) -> Client:
    client = Client(headers={"Accept-Language": "fr"})
    client.force_login(user)
    return client


def test_a_letter_to_another_administration_from_the_page_to_both_registers(commune, clerk, citizen):
    province = make_administration("PROVINCE-TEST", name_fr="Province de Test")
    province_clerk = make_staff(province, Role.CLERK, "clerk@province.ma")
    page = signed_in(clerk)
    response = page.post(
        f"/desk/{commune.code}/exchanges/",
        {
            "recipient": province.pk,
            "subject": "Demande d'avis",
            "documents": [SimpleUploadedFile("lettre.pdf", pdf_bytes(), content_type="application/pdf")],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    envelope = Envelope.objects.get()
    services.envelopes_deliver()
    envelope.refresh_from_db()
    ours = page.get(f"/desk/{commune.code}/exchanges/").content.decode()
    theirs = signed_in(province_clerk).get(f"/desk/{province.code}/exchanges/").content.decode()
    for html in (ours, theirs):
        assert envelope.outgoing.number in html and envelope.incoming.number in html and "Remis" in html
    # Someone with no role there, or a citizen, sees nothing and sends nothing.
    for user in (make_staff(province, Role.CLERK, "other@province.ma"), citizen):
        assert signed_in(user).get(f"/desk/{commune.code}/exchanges/").status_code == 404
        assert (
            signed_in(user)
            .post(f"/desk/{commune.code}/exchanges/", {"recipient": province.pk, "subject": "x"})
            .status_code
            == 404
        )
    assert Envelope.objects.count() == 1


def test_an_auditor_reads_the_exchanges_but_cannot_send(commune, auditor):
    province = make_administration("PROVINCE-TEST", name_fr="Province de Test")
    client = signed_in(auditor)
    assert client.get(f"/desk/{commune.code}/exchanges/").status_code == 200
    assert (
        client.post(f"/desk/{commune.code}/exchanges/", {"recipient": province.pk, "subject": "x"}).status_code == 404
    )
    assert not Envelope.objects.exists()
