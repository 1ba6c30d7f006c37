"""The starter catalogue is offered, never loaded silently: on the platform admin's form to add an
administration (unticked), and in the desk to the administrators of a commune whose catalogue is
empty. Nobody else is offered it or can load it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client

from starter.catalogue import starter_catalogue
from tenancy.models import Administration, Membership, User
from tenancy.testing import PASSWORD, make_staff
from workflow.models import Procedure

Role = Membership.Role


@pytest.fixture
def platform_admin(db: None) -> User:
    return User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")


def add_form(code: str, kind: str = "commune", **extra: str) -> dict[str, str]:
    return {
        "code": code,
        "kind": kind,
        "name_ar": "جماعة تيزنيت",
        "name_fr": "Commune de Tiznit",
        "name_zgh": "ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵜⵉⵣⵏⵉⵜ",
        "is_active": "on",
        **{
            f"{prefix}-{key}": value
            for prefix in ("services", "memberships")
            for key, value in {
                "TOTAL_FORMS": "0",
                "INITIAL_FORMS": "0",
                "MIN_NUM_FORMS": "0",
                "MAX_NUM_FORMS": "1000",
            }.items()
        },
        **extra,
    }


def test_the_add_form_offers_the_starter_catalogue_unticked(
    platform_admin: User, signed_in: Callable[..., Client]
) -> None:
    page = signed_in(platform_admin, "fr").get("/admin/tenancy/administration/add/").content.decode()
    assert 'name="load_starter_catalogue"' in page
    checkbox = page.split('name="load_starter_catalogue"')[1].split(">")[0]
    assert "checked" not in checkbox
    assert f"{len(starter_catalogue().procedures)} procédures avec leur base légale" in page
    # The change form of an existing administration does not offer it.
    client = signed_in(platform_admin, "fr")
    client.post("/admin/tenancy/administration/add/", add_form("COMMUNE-TIZNIT"))
    existing = Administration.objects.get(code="COMMUNE-TIZNIT")
    change = client.get(f"/admin/tenancy/administration/{existing.pk}/change/").content.decode()
    assert "load_starter_catalogue" not in change


def test_an_administration_created_without_the_choice_has_an_empty_catalogue(
    platform_admin: User, signed_in: Callable[..., Client]
) -> None:
    response = signed_in(platform_admin, "fr").post(
        "/admin/tenancy/administration/add/", add_form("COMMUNE-TIZNIT"), follow=True
    )
    assert response.status_code == 200
    created = Administration.objects.get(code="COMMUNE-TIZNIT")
    assert not Procedure.objects.filter(administration=created).exists()
    assert not created.services.exists()
    # The platform admin is told how its administrators or an operator can load it later.
    assert "load_catalogue COMMUNE-TIZNIT" in response.content.decode()


def test_the_way_to_load_it_later_reads_in_order_in_arabic(
    platform_admin: User, signed_in: Callable[..., Client]
) -> None:
    """In an Arabic sentence a bare address loses its order (its parenthesis and slashes move):
    the desk's address is a link and the command code, each isolated left to right."""
    response = signed_in(platform_admin, "ar").post(
        "/admin/tenancy/administration/add/", add_form("COMMUNE-TIZNIT"), follow=True
    )
    page = response.content.decode()
    url = f"{settings.PUBLIC_URL}/desk/COMMUNE-TIZNIT/procedures/starter/"
    assert f'<a href="{url}" dir="ltr">{url}</a>' in page
    assert '<code dir="ltr">manage.py load_catalogue COMMUNE-TIZNIT</code>' in page
    assert '<bdi dir="ltr">COMMUNE-TIZNIT</bdi>' in page


def test_an_administration_created_with_the_choice_gets_the_starter_catalogue(
    platform_admin: User, signed_in: Callable[..., Client]
) -> None:
    response = signed_in(platform_admin, "fr").post(
        "/admin/tenancy/administration/add/",
        add_form("COMMUNE-TIZNIT", load_starter_catalogue="on"),
        follow=True,
    )
    assert response.status_code == 200
    created = Administration.objects.get(code="COMMUNE-TIZNIT")
    assert Procedure.objects.filter(administration=created).count() == len(starter_catalogue().procedures)
    assert set(created.services.values_list("code", flat=True)) == {"BO", "EC", "URB", "ECO"}


def test_services_typed_in_the_add_form_are_kept_by_the_load(
    platform_admin: User, signed_in: Callable[..., Client]
) -> None:
    data = add_form("COMMUNE-TIZNIT", load_starter_catalogue="on")
    data.update(
        {
            "services-TOTAL_FORMS": "1",
            "services-0-code": "URB",
            "services-0-name_ar": "قسم التعمير",
            "services-0-name_fr": "Division de l'urbanisme",
            "services-0-name_zgh": "",
            "services-0-kind": "central",
            "services-0-is_active": "on",
        }
    )
    assert signed_in(platform_admin, "fr").post("/admin/tenancy/administration/add/", data).status_code == 302
    created = Administration.objects.get(code="COMMUNE-TIZNIT")
    urb = created.services.get(code="URB")
    assert urb.name_fr == "Division de l'urbanisme"
    assert Procedure.objects.get(administration=created, code="URB-PH").service == urb


def test_the_choice_for_an_administration_that_is_not_a_commune_is_refused_and_creates_nothing(
    platform_admin: User, signed_in: Callable[..., Client]
) -> None:
    response = signed_in(platform_admin, "fr").post(
        "/admin/tenancy/administration/add/",
        add_form("REGION-SOUSS", kind="region", load_starter_catalogue="on"),
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Le catalogue de départ est celui d&#x27;une commune" in response.content.decode()
    assert not Administration.objects.filter(code="REGION-SOUSS").exists()


# ---------------------------------------------------------------- the desk


def test_the_admin_of_a_commune_with_an_empty_catalogue_is_offered_it_in_the_desk(
    commune: Administration, commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    page = signed_in(commune_admin, "fr").get(f"/desk/{commune.code}/procedures/").content.decode()
    assert f"/desk/{commune.code}/procedures/starter/" in page
    assert "15 procédures avec leur base légale" in page
    arabic = signed_in(commune_admin, "ar").get(f"/desk/{commune.code}/procedures/").content.decode()
    assert "15 مسطرة" in arabic and "دليلكم فارغ" in arabic


def test_readers_other_administrations_and_filled_catalogues_are_not_offered_it(
    commune: Administration,
    commune_admin: User,
    clerk: User,
    elsewhere: Administration,
    signed_in: Callable[..., Client],
) -> None:
    assert (
        "/procedures/starter/" not in signed_in(clerk, "fr").get(f"/desk/{commune.code}/procedures/").content.decode()
    )
    province_admin = make_staff(elsewhere, Role.ADMIN, "admin@province.ma")
    page = signed_in(province_admin, "fr").get(f"/desk/{elsewhere.code}/procedures/").content.decode()
    assert "/procedures/starter/" not in page
    signed_in(commune_admin, "fr").post(f"/desk/{commune.code}/procedures/starter/")
    page = signed_in(commune_admin, "fr").get(f"/desk/{commune.code}/procedures/").content.decode()
    assert "/procedures/starter/" not in page and "URB-PC-PP" in page


def test_the_preview_lists_what_loading_creates_and_loading_it_leads_to_the_catalogue(
    commune: Administration, commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(commune_admin, "fr")
    preview = client.get(f"/desk/{commune.code}/procedures/starter/").content.decode()
    for code in ("URB-PC-GP", "EC-DECL-NAIS", "ACCUSE", "REFUS", "VISA-SIGNATURE"):
        assert code in preview
    assert "Loi n° 31-13" in preview and 'id="starter-load"' in preview
    response = client.post(f"/desk/{commune.code}/procedures/starter/", follow=True)
    assert response.redirect_chain[-1][0] == f"/desk/{commune.code}/procedures/"
    assert "Créés\u00a0: 27" in response.content.decode()  # the message says how many entries were created
    assert Procedure.objects.filter(administration=commune).count() == 15
    again = client.get(f"/desk/{commune.code}/procedures/starter/").content.decode()
    assert 'id="starter-load"' not in again  # nothing left to create: no button


@pytest.mark.parametrize("language", ["ar", "fr"])
def test_the_preview_isolates_each_language_of_a_name_and_each_keyword(
    commune: Administration, commune_admin: User, language: str, signed_in: Callable[..., Client]
) -> None:
    """A letter template's or a circuit's name is in both languages, a routing rule's keywords in
    both: each part in its own isolate, or the Arabic and French words interleave on screen. The
    Arabic reader reads the Arabic name first."""
    preview = signed_in(commune_admin, language).get(f"/desk/{commune.code}/procedures/starter/").content.decode()
    arabic, french = "<bdi>إشعار بالتوصل</bdi>", "<bdi>Accusé de réception</bdi>"
    assert (f"{arabic} / {french}" if language == "ar" else f"{french} / {arabic}") in preview
    assert "<bdi>Visa, signature et cachet</bdi>" in preview and "<bdi>تأشير وتوقيع وختم</bdi>" in preview
    assert "<bdi>رخصة البناء</bdi> · <bdi>رخصة بناء</bdi>" in preview
    assert "<bdi>permis de construire</bdi> · <bdi>autorisation de construire</bdi>" in preview
    assert "Accusé de réception / إشعار بالتوصل" not in preview  # never one run


def test_the_amazigh_name_shows_to_an_amazigh_reader_and_is_editable(
    commune: Administration, commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(commune_admin, "fr")
    client.post(f"/desk/{commune.code}/procedures/starter/")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zgh"
    page = client.get(f"/desk/{commune.code}/procedures/").content.decode()
    assert "ⴰⵙⵓⵔⴳ ⵏ ⵓⵙⴽⵓ (ⵉⵙⵏⴼⴰⵔⵏ ⵉⵎⵥⵥⵢⴰⵏⵏ)" in page
    procedure = Procedure.objects.get(administration=commune, code="URB-PH")
    form = client.get(f"/desk/{commune.code}/procedures/{procedure.pk}/").content.decode()
    assert 'name="name_zgh"' in form and "ⴰⵙⵓⵔⴳ ⵏ ⵓⵣⴷⴰⵖ" in form


def test_the_admin_renames_a_loaded_service_in_three_languages(
    commune: Administration, commune_admin: User, clerk: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(commune_admin, "fr")
    client.post(f"/desk/{commune.code}/procedures/starter/")
    service = commune.services.get(code="EC")
    form = client.get(f"/desk/{commune.code}/services/{service.pk}/").content.decode()
    assert 'name="name_zgh"' in form and "ⵜⴰⵏⴰⴼⵓⵜ ⵏ ⵓⴷⴷⴰⴷ ⴰⵖⵍⵍⴰⵏ" in form
    response = client.post(
        f"/desk/{commune.code}/services/{service.pk}/",
        {"name_ar": "قسم الحالة المدنية", "name_fr": "Division de l'état civil", "name_zgh": "ⴰⴳⵣⵣⵓⵎ", "location": ""},
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.code, service.name_fr, service.name_zgh) == ("EC", "Division de l'état civil", "ⴰⴳⵣⵣⵓⵎ")
    assert client.post(f"/desk/{commune.code}/services/{service.pk}/", {"name_ar": ""}).status_code == 400
    assert signed_in(clerk, "fr").get(f"/desk/{commune.code}/services/{service.pk}/").status_code == 404


def test_each_name_is_typed_in_its_scripts_direction_on_an_arabic_page(
    commune: Administration, commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    """On an Arabic page a French name typed right to left shows "(Nord) Annexe" as "(Annexe (Nord":
    the French and Amazigh fields read left to right, the Arabic one right to left."""
    client = signed_in(commune_admin, "ar")
    client.post(f"/desk/{commune.code}/procedures/starter/")
    service = commune.services.get(code="EC")
    procedure = Procedure.objects.get(administration=commune, code="URB-PC-PP")
    for url in (
        f"/desk/{commune.code}/services/{service.pk}/",
        f"/desk/{commune.code}/services/",
        f"/desk/{commune.code}/procedures/{procedure.pk}/",
    ):
        form = client.get(url).content.decode()
        for name, direction in (("name_ar", "rtl"), ("name_fr", "ltr"), ("name_zgh", "ltr")):
            field = form.split(f'name="{name}"')[1].split(">")[0] + form.split(f'name="{name}"')[0].rsplit("<", 1)[1]
            assert f'dir="{direction}"' in field, (url, name)


def test_the_api_gives_each_procedures_amazigh_name(
    commune: Administration, commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    signed_in(commune_admin, "fr").post(f"/desk/{commune.code}/procedures/starter/")
    procedures = {p["code"]: p for p in Client().get(f"/api/v1/administrations/{commune.code}/procedures").json()}
    assert procedures["URB-PH"]["name_zgh"] == "ⴰⵙⵓⵔⴳ ⵏ ⵓⵣⴷⴰⵖ"
    assert procedures["URB-PH"]["legal_basis"].startswith("Loi n° 12-90")
