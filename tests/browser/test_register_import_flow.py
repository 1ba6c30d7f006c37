"""Importing a former register in Chromium: one upload, one import job (issue #14: every upload
was posted twice, by the upload script and again by its fallback)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route
from pytest_django.live_server_helper import LiveServer

from registry.models import RegisterImport
from tenancy.models import Administration, Membership
from tenancy.testing import make_administration, make_staff

from .test_deposit_flow import no_horizontal_scroll, shot
from .test_processing_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Role = Membership.Role
TABLE = "numéro;date;expéditeur;objet\n2019/1;02/01/2019;Ahmed;Demande\n2019/2;03/01/2019;Salma;Plainte\n"


@pytest.fixture
def commune(db: None) -> Administration:
    commune = make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    make_staff(commune, Role.ADMIN, "admin@demo.ma", full_name="Nadia Admin")
    return commune


def _send(page: Page, base_url: str, tmp_path: Path) -> None:
    table = tmp_path / "registre-2019.csv"
    table.write_text(TABLE, encoding="utf-8")
    page.goto(f"{base_url}/desk/COMMUNE-DEMO/register/import/")
    page.locator("#id_table").set_input_files(str(table))
    page.locator("main form[data-upload] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/register/import/\d+/$"))
    page.wait_for_load_state("networkidle")


def test_one_upload_makes_one_import_job(
    phone: Page, live_server: LiveServer, commune: Administration, tmp_path: Path
) -> None:
    page = phone
    sign_in(page, live_server.url, "admin@demo.ma")
    _send(page, live_server.url, tmp_path)
    job = RegisterImport.objects.get()  # exactly one
    assert page.url.endswith(f"/register/import/{job.pk}/")
    assert job.dry_run and job.status == RegisterImport.Status.CHECKED
    assert no_horizontal_scroll(page)
    shot(page, "register-import-checked-ar")


def test_the_upload_script_never_posts_again_when_the_answer_is_not_its_json(
    phone: Page, live_server: LiveServer, commune: Administration, tmp_path: Path
) -> None:
    """A page answering the script with a plain redirect (as the import page did) is followed,
    not posted a second time."""
    page = phone

    def plain_post(route: Route) -> None:  # the server then answers as to a browser without the script
        headers = {k: v for k, v in route.request.headers.items() if k.lower() != "x-requested-with"}
        route.continue_(headers=headers)

    sign_in(page, live_server.url, "admin@demo.ma")
    page.route(re.compile(r".*/register/import/$"), plain_post)
    _send(page, live_server.url, tmp_path)
    assert RegisterImport.objects.count() == 1


def test_a_page_answered_to_the_upload_script_is_shown_and_nothing_is_posted_again(
    phone: Page, live_server: LiveServer, commune: Administration, tmp_path: Path
) -> None:
    """An answer that is a page (too many deposits, an expired session) is shown as a plain
    submission would show it; the form is not sent a second time."""
    page = phone
    posts = []

    def limited(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.url)
        route.fulfill(
            status=429,
            content_type="text/html; charset=utf-8",
            body='<!doctype html><html><body><h1 id="limited">Trop de demandes</h1></body></html>',
        )

    sign_in(page, live_server.url, "admin@demo.ma")
    page.route(re.compile(r".*/register/import/$"), limited)
    table = tmp_path / "registre-2019.csv"
    table.write_text(TABLE, encoding="utf-8")
    page.goto(f"{live_server.url}/desk/COMMUNE-DEMO/register/import/")
    page.locator("#id_table").set_input_files(str(table))
    page.locator("main form[data-upload] button[type=submit]").click()
    page.locator("#limited").wait_for()
    page.wait_for_load_state("networkidle")
    assert len(posts) == 1 and not RegisterImport.objects.exists()
