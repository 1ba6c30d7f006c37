"""A service's names and location, typed on one line: a hostile POST (line breaks, controls, a
name of nothing visible) neither stores a line break in a name that e-mails and pages show on
one line, nor leaves a service without a name."""

from __future__ import annotations

from django.forms import ModelChoiceField
from django.test import Client

from tenancy.models import Administration, Service, User
from tenancy.testing import make_service


def _admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_renamed_service_keeps_its_names_on_one_line(commune: Administration, commune_admin: User) -> None:
    service = make_service(commune, "URB")
    response = _admin_client(commune_admin).post(
        f"/desk/{commune.code}/services/{service.pk}/",
        {
            "name_ar": "قسم\r\nالتعمير\x07",
            "name_fr": "Urbanisme\r\nBcc: x@example.ma\x1b",
            "name_zgh": "\u202eⵜⴰⵙⵏⵓⵔⴰⵢⵜ",
            "location": "Bureau\t12\n",
        },
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.name_ar == "قسم التعمير"
    assert service.name_fr == "Urbanisme Bcc: x@example.ma"
    assert service.name_zgh == "\u202eⵜⴰⵙⵏⵓⵔⴰⵢⵜ"  # kept as typed; pages isolate it
    assert service.location == "Bureau 12"


def test_a_service_name_of_nothing_visible_is_refused(commune: Administration, commune_admin: User) -> None:
    service = make_service(commune, "URB")
    before = (service.name_ar, service.name_fr)
    client = _admin_client(commune_admin)
    for invisible in ("\u200f", "\u202e\u202c", "\r\n\x07", "\u200b\u2066\u2069"):
        response = client.post(
            f"/desk/{commune.code}/services/{service.pk}/", {"name_ar": invisible, "name_fr": invisible}
        )
        assert response.status_code == 400, repr(invisible)
        response = client.post(
            f"/desk/{commune.code}/services/",
            {"code": "NEW", "name_ar": invisible, "name_fr": invisible, "kind": "central"},
        )
        assert response.status_code == 400, repr(invisible)
    service.refresh_from_db()
    assert (service.name_ar, service.name_fr) == before
    assert not Service.objects.filter(administration=commune, code="NEW").exists()


def test_a_new_service_keeps_its_names_on_one_line(commune: Administration, commune_admin: User) -> None:
    response = _admin_client(commune_admin).post(
        f"/desk/{commune.code}/services/",
        {"code": "NEW", "name_ar": "مصلحة\r\nجديدة", "name_fr": "Nouveau\nservice", "kind": "central"},
    )
    assert response.status_code == 302
    service = Service.objects.get(administration=commune, code="NEW")
    assert (service.name_ar, service.name_fr) == ("مصلحة جديدة", "Nouveau service")


def test_the_new_service_form_asks_the_code_first_and_the_place_in_the_tree_last(commune: Administration) -> None:
    from desk.forms import ServiceForm

    form = ServiceForm(administration=commune)
    assert list(form.fields) == ["code", "name_ar", "name_fr", "name_zgh", "kind", "location", "parent"]
    parent = form.fields["parent"]
    assert isinstance(parent, ModelChoiceField) and parent.queryset is not None
    assert [service.code for service in parent.queryset] == ["SG"]  # this administration's only
