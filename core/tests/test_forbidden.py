"""What an account may not open (Django's PermissionDenied) gets a page in the reader's language,
in the site's layout, not Django's bare "403 Forbidden"; the API keeps its error shape."""

from __future__ import annotations

from typing import NoReturn

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.test import Client, override_settings
from django.urls import path

from tenancy.models import User
from tenancy.testing import PASSWORD
from wasl import urls as site


def refuse(request: HttpRequest) -> NoReturn:
    raise PermissionDenied


# The site's URLs and its handler of refusals, with a view under /api/ that refuses.
urlpatterns = [path("api/v1/refused", refuse), *site.urlpatterns]
handler403 = getattr(site, "handler403", None)


@pytest.fixture
def platform_admin(db: None) -> User:
    return User.objects.create_superuser("root@example.ma", PASSWORD, full_name="Root")


@pytest.mark.parametrize(
    ("language", "title"),
    [("ar", "لا يحق لكم القيام بهذا"), ("fr", "Vous ne pouvez pas faire cela"), ("zgh", "ⵓⵔ ⵜⵥⴹⴰⵕⵎ ⴰⴷ ⵜⴳⵎ ⴰⵢⴰ")],
)
def test_an_admin_page_the_model_does_not_offer_says_so_in_the_readers_language(
    platform_admin: User, language: str, title: str
) -> None:
    client = Client()
    client.force_login(platform_admin)
    client.cookies["django_language"] = language
    # The register is read-only in /admin/: no one adds correspondence there.
    response = client.get("/admin/registry/correspondence/add/")
    assert response.status_code == 403
    page = response.content.decode()
    assert f"<h1>{title}</h1>" in page
    assert "Forbidden" not in page
    assert f'lang="{language}"' in page  # the site's layout, in the reader's language


@override_settings(ROOT_URLCONF=__name__)
def test_the_api_answers_a_refusal_in_its_error_shape(db: None) -> None:
    response = Client().get("/api/v1/refused")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
