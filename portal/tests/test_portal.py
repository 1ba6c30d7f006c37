"""Citizen pages: sign-up with e-mail verification, password reset, deposit, my deposits."""

from __future__ import annotations

import contextlib
import html
import re
from unittest import mock

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.test import Client
from pytest_django import Settings

from documents.samples import pdf_bytes
from registry.models import Correspondence
from tenancy.models import Administration, User
from tenancy.testing import PASSWORD


def link_in(message: EmailMessage) -> str:
    link = re.search(r"https?://\S+", str(message.body))
    assert link is not None
    return link.group(0).replace("http://testserver", "")


def test_sign_up_then_confirm_the_email_then_deposit(client: Client, commune: Administration) -> None:
    response = client.post(
        "/signup/",
        {
            "full_name": "خديجة المرابط",
            "email": "Khadija@Example.ma",
            "kind": "person",
            "national_id": "ab 123456",
            "company_id": "",
            "password": "une-phrase-longue-2026",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/account/check-email/"
    user = User.objects.get(email="khadija@example.ma")
    assert user.national_id == "AB123456" and not user.is_email_verified
    assert client.get("/deposit/")["Location"] == "/account/check-email/"

    assert client.get(link_in(mail.outbox[0])).status_code == 302
    user.refresh_from_db()
    assert user.is_email_verified
    assert client.get("/deposit/").status_code == 200


def test_sign_up_errors_are_tied_to_their_fields(client: Client, citizen: User) -> None:
    response = client.post(
        "/signup/",
        {"full_name": "", "email": citizen.email, "kind": "person", "password": "123"},
        headers={"Accept-Language": "fr"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email-error"' in html and 'aria-describedby="id_email-error"' in html
    assert 'aria-invalid="true"' in html
    assert User.objects.count() == 1


def test_a_forged_verification_link_is_refused(client: Client, db: None) -> None:
    assert client.get("/account/verify/not-a-token/").status_code == 400


def test_password_reset_by_email(client: Client, citizen: User) -> None:
    client.post("/account/password-reset/", {"email": citizen.email})
    link = link_in(mail.outbox[0])
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "nouveau-mot-de-passe-77", "new_password2": "nouveau-mot-de-passe-77"},
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.check_password("nouveau-mot-de-passe-77")


def test_login_is_rate_limited(client: Client, citizen: User, settings: Settings) -> None:
    settings.RATE_LOGIN = (2, 60)
    for _ in range(2):
        client.post("/login/", {"username": citizen.email, "password": "wrong"})
    response = client.post("/login/", {"username": citizen.email, "password": PASSWORD})
    assert response.status_code == 429 and response["Retry-After"]


def test_deposit_form_registers_and_shows_the_receipt(client: Client, citizen: User, commune: Administration) -> None:
    client.force_login(citizen)
    response = client.post(
        "/deposit/",
        {
            "recipient": commune.code,
            "subject": "طلب رخصة الربط بشبكة الماء",
            "body": "السيد رئيس المجلس الجماعي المحترم",
            "attachments": [
                SimpleUploadedFile("طلب.pdf", pdf_bytes(pages=2)),
                SimpleUploadedFile("b.pdf", pdf_bytes()),
            ],
        },
    )
    correspondence = Correspondence.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/deposits/{correspondence.pk}/"
    assert [a.filename for a in correspondence.attachments.all()] == ["طلب.pdf", "b.pdf"]
    detail = client.get(response["Location"]).content.decode()
    assert correspondence.number in detail
    assert f"/deposits/{correspondence.pk}/receipt.pdf" in detail
    receipt = client.get(f"/deposits/{correspondence.pk}/receipt.pdf")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    assert correspondence.number in client.get("/deposits/").content.decode()


@pytest.mark.parametrize("sealed", [True, False])
def test_the_deposit_message_says_the_receipt_is_ready_only_when_it_is(
    client: Client, citizen: User, commune: Administration, sealed: bool
) -> None:
    client.force_login(citizen)
    fields = {"recipient": commune.code, "subject": "Demande", "body": "Texte"}
    seal_down = mock.patch("registry.receipts.receipt_render_and_seal", side_effect=RuntimeError("seal service down"))
    with contextlib.nullcontext() if sealed else seal_down:
        response = client.post("/deposit/", fields, headers={"Accept-Language": "fr"}, follow=True)
    number = Correspondence.objects.get().number
    page = html.unescape(response.content.decode()).replace("\u00a0", " ")
    messages = re.findall(r'<p class="message [^"]*">(.*?)</p>', page)
    if sealed:
        assert messages == [f"Enregistré sous le numéro {number}. Votre accusé de réception scellé est prêt."]
        assert "en cours de scellement" not in page
    else:
        assert messages == [f"Enregistré sous le numéro {number}."]
        assert "Votre accusé de réception est en cours de scellement" in page


def test_the_upload_script_gets_json_answers(client: Client, citizen: User, commune: Administration) -> None:
    client.force_login(citizen)
    headers = {"X-Requested-With": "XMLHttpRequest"}
    refused = client.post("/deposit/", {"recipient": commune.code, "subject": ""}, headers=headers)
    assert refused.status_code == 400 and "<form" in refused.json()["html"]
    accepted = client.post(
        "/deposit/", {"recipient": commune.code, "subject": "Demande", "body": "Texte"}, headers=headers
    )
    assert accepted.json()["redirect"].startswith("/deposits/")


def test_a_bad_file_in_the_form_registers_nothing(client: Client, citizen: User, commune: Administration) -> None:
    client.force_login(citizen)
    response = client.post(
        "/deposit/",
        {"recipient": commune.code, "subject": "x", "attachments": SimpleUploadedFile("a.pdf", b"MZ\x90\x00rest")},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 400
    assert 'id="id_attachments-error"' in response.content.decode()
    assert not Correspondence.objects.exists()


def test_pages_are_arabic_and_right_to_left_by_default(client: Client, db: None) -> None:
    html = client.get("/").content.decode()
    assert '<html lang="ar" dir="rtl">' in html


def test_the_language_can_be_switched(client: Client, db: None) -> None:
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert '<html lang="fr" dir="ltr">' in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "zgh", "next": "/"})
    assert '<html lang="zgh" dir="ltr">' in client.get("/").content.decode()


def test_security_headers(client: Client, db: None) -> None:
    response = client.get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_no_page_requests_anything_from_another_site(client: Client, citizen: User, commune: Administration) -> None:
    client.force_login(citizen)
    for url in ("/", "/deposit/", "/deposits/", "/verify/", "/login/"):
        html = client.get(url).content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', html), url


def test_a_picture_over_the_pixel_limit_is_refused_on_the_form_in_the_senders_language(
    client: Client, citizen: User, commune: Administration
) -> None:
    from documents.samples import png_of_pixels

    client.force_login(citizen)
    response = client.post(
        "/deposit/",
        {
            "recipient": commune.code,
            "subject": "Plan",
            "attachments": SimpleUploadedFile("plan.png", png_of_pixels(12_600, 12_600)),
        },
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_attachments-error"' in page and "plan.png" in page and "50\xa0mégapixels" in page
    assert not Correspondence.objects.exists()


def test_a_deposit_needs_a_text_or_a_file(client: Client, citizen: User, commune: Administration) -> None:
    client.force_login(citizen)
    response = client.post(
        "/deposit/", {"recipient": commune.code, "subject": "Demande", "body": "  "}, headers={"Accept-Language": "fr"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_body-error"' in page and "joignez un fichier" in page
    assert not Correspondence.objects.exists()


def test_a_body_too_large_gets_a_translated_page_or_the_scripts_json(
    client: Client, citizen: User, commune: Administration
) -> None:
    from django.conf import settings

    client.force_login(citizen)
    too_large = str(10 * settings.MAX_DEPOSIT_SIZE)
    page = client.post("/deposit/", {}, headers={"Accept-Language": "fr"}, CONTENT_LENGTH=too_large)
    assert page.status_code == 413 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert '<html lang="fr"' in html and "Fichiers trop volumineux" in html and "50,0\xa0Mio" in html
    assert "Content-Security-Policy" in page  # the refusal carries the pages' security headers
    script = client.post(
        "/deposit/",
        {},
        headers={"Accept-Language": "fr", "X-Requested-With": "XMLHttpRequest"},
        CONTENT_LENGTH=too_large,
    )
    assert script.status_code == 413 and script.json()["error"]["code"] == "request_too_large"
    assert not Correspondence.objects.exists()
