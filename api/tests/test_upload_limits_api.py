"""Hostile and odd uploads through the deposit API: refused naming the limit or the reason, with
nothing stored or registered; files without a usable name kept; a deposit says something."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from pytest_django import Settings

from api.tests.test_deposits_api import post_deposit, token_for
from documents import samples
from registry.models import Correspondence, RegisterCounter
from tenancy.models import Administration, User


@pytest.fixture
def api(client: Client, citizen: User) -> Client:
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(client, citizen)}"
    return client


@pytest.fixture
def small_limits(settings: Settings) -> None:
    settings.MAX_PIXELS = 3_000_000
    settings.MAX_PAGES = 7
    settings.MAX_PDF_INFLATED = 2 * 1024 * 1024


def stored_files() -> set[str]:
    root = Path(settings.FILES_DIR)
    return {path.name for path in root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*")} if root.exists() else set()


@pytest.mark.parametrize(
    ("name", "make", "code", "words"),
    [
        ("plan.png", lambda: samples.png_of_pixels(2000, 2000), "too_many_pixels", "3\xa0mégapixels"),
        ("scan.tif", lambda: samples.tiff_of_frames(8), "too_many_pages", "plus de 7\xa0pages"),
        ("dossier.pdf", lambda: samples.pdf_of_pages(8), "too_many_pages", "plus de 7\xa0pages"),
        ("bombe.pdf", lambda: samples.pdf_inflating_to(3 * 1024 * 1024), "pdf_inflated", "2,0\xa0Mio"),
    ],
)
def test_a_file_over_a_limit_is_refused_naming_it_and_nothing_is_kept(
    api: Client,
    commune: Administration,
    small_limits: None,
    name: str,
    make: Callable[[], bytes],
    code: str,
    words: str,
) -> None:
    before = stored_files()
    response = post_deposit(api, files=[(name, make())], language="fr")
    assert response.status_code == 413, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, "attachments")
    assert name in error["message"] and words in error["message"]
    assert not Correspondence.objects.exists()
    assert not RegisterCounter.objects.filter(last_number__gt=0).exists()  # no number taken
    assert stored_files() == before
    assert post_deposit(api).json()["registration_number"].endswith("-000001")


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (samples.pdf_with_javascript, "pdf_active_content"),
        (samples.pdf_with_embedded_file, "pdf_embedded_files"),
        (lambda: samples.pdf_bytes() + samples.zip_bytes(), "pdf_appended_data"),
    ],
)
def test_a_pdf_staff_should_never_open_is_refused_with_the_reason(
    api: Client, commune: Administration, make: Callable[[], bytes], code: str
) -> None:
    before = stored_files()
    response = post_deposit(api, files=[("lettre.pdf", make())], language="fr")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Correspondence.objects.exists() and stored_files() == before


def _multipart(filename: str, content: bytes, *, boundary: str = "wasl-boundary") -> bytes:
    """A multipart body written by hand: the test client would clean the file name itself."""
    parts = [
        (b'name="recipient"', b"COMMUNE-TEST"),
        (b'name="subject"', "طلب".encode()),
        (b'name="attachments"; filename="' + filename.encode() + b'"', content),
    ]
    body = b""
    for disposition, value in parts:
        body += b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; " + disposition + b"\r\n"
        if b"filename" in disposition:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + value + b"\r\n"
    return body + b"--" + boundary.encode() + b"--\r\n"


@pytest.mark.parametrize("filename", ["/", "..", "\u202e", "C:\\"])
def test_a_file_whose_name_cleans_to_nothing_is_kept_under_a_name_of_its_own(
    api: Client, commune: Administration, filename: str
) -> None:
    response = api.generic(
        "POST",
        "/api/v1/deposits",
        _multipart(filename, samples.pdf_bytes()),
        content_type="multipart/form-data; boundary=wasl-boundary",
    )
    assert response.status_code == 201, response.content
    (attachment,) = response.json()["attachments"]
    assert attachment["filename"] == "document.pdf" and attachment["pages"] == 1


def test_a_deposit_without_text_or_file_is_refused_and_consumes_no_number(api: Client, commune: Administration) -> None:
    response = post_deposit(api, body="", language="fr")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("content_required", "body")
    assert "joignez un fichier" in error["message"]
    assert not Correspondence.objects.exists()
    assert post_deposit(api, body="", files=[("a.pdf", samples.pdf_bytes())]).status_code == 201


def test_a_body_too_large_is_refused_unread_in_the_apis_shape(api: Client, commune: Administration) -> None:
    response = api.post("/api/v1/deposits", {}, CONTENT_LENGTH=str(10 * settings.MAX_DEPOSIT_SIZE))
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "request_too_large"
