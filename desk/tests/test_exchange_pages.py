"""The exchanges page: a clerk sends a letter to another administration; both sides see it with
both numbers once delivered; outsiders are denied."""

from __future__ import annotations

from collections.abc import Callable

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.clock import now
from documents.samples import pdf_bytes
from exchange import services
from exchange.models import Envelope, Peer, RemoteAdministration
from tenancy.models import Administration, Membership, Region, User
from tenancy.testing import make_administration, make_staff

Role = Membership.Role


def test_a_letter_to_another_administration_from_the_page_to_both_registers(
    commune: Administration, clerk: User, citizen: User, signed_in: Callable[..., Client]
) -> None:
    province = make_administration("PROVINCE-TEST", name_fr="Province de Test")
    province_clerk = make_staff(province, Role.CLERK, "clerk@province.ma")
    page = signed_in(clerk, "fr")
    response = page.post(
        f"/desk/{commune.code}/exchanges/",
        {
            "recipient": province.code,
            "subject": "Demande d'avis",
            "documents": [SimpleUploadedFile("lettre.pdf", pdf_bytes(), content_type="application/pdf")],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    envelope = Envelope.objects.get()
    services.envelopes_deliver()
    envelope.refresh_from_db()
    ours = page.get(f"/desk/{commune.code}/exchanges/").content.decode()
    theirs = signed_in(province_clerk, "fr").get(f"/desk/{province.code}/exchanges/").content.decode()
    assert envelope.outgoing is not None and envelope.incoming is not None
    for html in (ours, theirs):
        assert envelope.outgoing.number in html and envelope.incoming.number in html and "Remis" in html
    # Someone with no role there, or a citizen, sees nothing and sends nothing.
    for user in (make_staff(province, Role.CLERK, "other@province.ma"), citizen):
        assert signed_in(user, "fr").get(f"/desk/{commune.code}/exchanges/").status_code == 404
        assert (
            signed_in(user, "fr")
            .post(f"/desk/{commune.code}/exchanges/", {"recipient": province.code, "subject": "x", "body": "y"})
            .status_code
            == 404
        )
    assert Envelope.objects.count() == 1


def test_an_auditor_reads_the_exchanges_but_cannot_send(
    commune: Administration, auditor: User, signed_in: Callable[..., Client]
) -> None:
    province = make_administration("PROVINCE-TEST", name_fr="Province de Test")
    client = signed_in(auditor, "fr")
    assert client.get(f"/desk/{commune.code}/exchanges/").status_code == 200
    assert (
        client.post(
            f"/desk/{commune.code}/exchanges/", {"recipient": province.code, "subject": "x", "body": "y"}
        ).status_code
        == 404
    )
    assert not Envelope.objects.exists()


def _peer_with(code: str, **fields: str) -> RemoteAdministration:
    peer = Peer.objects.create(
        name="rsk",
        label="Wasl Rabat-Salé-Kénitra",
        base_url="https://wasl.rsk.example",
        ca_certificate="-",
        fingerprint="ab" * 32,
        created_at=now(),
    )
    return RemoteAdministration.objects.create(peer=peer, code=code, **fields)


def test_the_directory_lists_ours_and_the_peers_by_name_kind_and_region(
    commune: Administration, clerk: User, outsider: User, signed_in: Callable[..., Client]
) -> None:
    make_administration("PROVINCE-TIZ", name_fr="Province de Tiznit", kind="province", region=Region.SOUSS)
    make_administration("REGION-RSK", name_fr="Région de Rabat", kind="region", region=Region.RABAT)
    _peer_with("COMMUNE-SALE", kind="commune", region=Region.RABAT, name_ar="جماعة سلا", name_fr="Commune de Salé")
    page = signed_in(clerk, "fr")
    html = page.get(f"/desk/{commune.code}/directory/").content.decode()
    for text in (
        "Province de Tiznit",
        "Région de Rabat",
        "Commune de Salé",
        "COMMUNE-SALE@rsk",
        "Wasl Rabat-Salé-Kénitra",
    ):
        assert text in html
    assert f'<td><bdi dir="ltr">{commune.code}</bdi></td>' not in html  # not itself (its address is not listed)
    in_rabat = page.get(f"/desk/{commune.code}/directory/", {"region": Region.RABAT}).content.decode()
    assert "Région de Rabat" in in_rabat and "Commune de Salé" in in_rabat and "Tiznit" not in in_rabat
    communes = page.get(f"/desk/{commune.code}/directory/", {"kind": "commune", "q": "salé"}).content.decode()
    assert "Commune de Salé" in communes and "Région de Rabat" not in communes
    assert "?to=COMMUNE-SALE%40rsk#letter" in communes
    assert signed_in(outsider, "fr").get(f"/desk/{commune.code}/directory/").status_code == 404
    found = Client().get("/api/v1/directory", {"region": Region.RABAT}).json()
    assert [(e["address"], e["installation"]) for e in found] == [
        ("REGION-RSK", ""),
        ("COMMUNE-SALE@rsk", "Wasl Rabat-Salé-Kénitra"),
    ]


def test_a_letter_to_a_peers_administration_waits_in_the_outbox_for_the_worker(
    commune: Administration, clerk: User, signed_in: Callable[..., Client]
) -> None:
    _peer_with("COMMUNE-SALE", kind="commune", name_ar="جماعة سلا", name_fr="Commune de Salé")
    page = signed_in(clerk, "fr")
    form = page.get(f"/desk/{commune.code}/exchanges/?to=COMMUNE-SALE@rsk").content.decode()
    assert 'value="COMMUNE-SALE@rsk" selected' in form
    response = page.post(
        f"/desk/{commune.code}/exchanges/", {"recipient": "COMMUNE-SALE@rsk", "subject": "Avis", "body": "Texte"}
    )
    assert response.status_code == 302
    envelope = Envelope.objects.get()
    assert envelope.peer is not None and envelope.outgoing is not None
    assert (envelope.peer.name, envelope.remote_code, envelope.recipient) == ("rsk", "COMMUNE-SALE", None)
    assert envelope.outgoing.addressee_identifier == "COMMUNE-SALE@RSK" and envelope.outgoing.sender_name == ""
    listed = page.get(f"/desk/{commune.code}/exchanges/").content.decode()
    assert "Commune de Salé (Wasl Rabat-Salé-Kénitra)" in listed and "En cours d&#x27;acheminement" in listed, listed
