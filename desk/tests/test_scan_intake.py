"""Paper mail at the counter: pictures put together, a batch of letters, the text of scans."""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from pypdf import PdfReader
from pytest_django import Settings

from audit.models import AuditEvent
from documents import storage
from documents.intake import pdf_blob
from documents.models import TextLayer
from documents.samples import pdf_bytes
from registry.models import Attachment, Correspondence
from tenancy.models import Administration, User

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db


def picture(shade: int, name: str) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("L", (80, 110), shade).save(out, "PNG", dpi=(150, 150))
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def stored_files() -> set[str]:
    from pathlib import Path

    from django.conf import settings

    return {path.name for path in Path(settings.FILES_DIR).glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*")}


def counter_post(
    client: Client,
    commune: Administration,
    files: list[SimpleUploadedFile],
    *,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> Response:
    data = {"direction": "incoming", "sender_kind": "person", "sender_name": "Ahmed", "subject": "Lettre", **fields}
    return client.post(f"/desk/{commune.code}/register/new/", {**data, "attachments": files}, headers=headers)


def test_the_pictures_of_a_letter_become_one_pdf_in_the_order_chosen(
    clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    response = counter_post(
        signed_in(clerk), commune, [picture(20, "page-1.png"), picture(200, "page-2.png")], assemble="on"
    )
    assert response.status_code == 302
    (attachment,) = Attachment.objects.select_related("blob")
    assert attachment.filename == "page-1.pdf" and attachment.blob.content_type == "application/pdf"
    assert attachment.blob.pages == 2
    pages = PdfReader(io.BytesIO(storage.read_bytes(attachment.blob_id))).pages
    assert len(pages) == 2 and round(float(pages[0].mediabox.width)) == round(80 / 150 * 72)


def test_without_the_box_ticked_each_picture_stays_a_file(
    clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    counter_post(signed_in(clerk), commune, [picture(20, "a.png"), picture(200, "b.png")])
    assert list(Attachment.objects.order_by("position").values_list("filename", flat=True)) == ["a.png", "b.png"]


def batch_data(rows: list[dict[str, object]], total: int = 5) -> dict[str, object]:
    data: dict[str, object] = {
        "letter-TOTAL_FORMS": str(total),
        "letter-INITIAL_FORMS": "0",
        "letter-MIN_NUM_FORMS": "0",
        "letter-MAX_NUM_FORMS": "50",
    }
    for n, row in enumerate(rows):
        data.update({f"letter-{n}-{key}": value for key, value in row.items()})
    return data


def test_a_batch_registers_every_filled_row_and_shows_their_numbers(
    clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    assert client.get(f"/desk/{commune.code}/register/batch/").status_code == 200
    rows: list[dict[str, object]] = [
        {
            "sender_name": "Ahmed",
            "subject": "طلب شهادة السكنى",
            "attachments": SimpleUploadedFile("a.pdf", pdf_bytes()),
        },
        {"sender_name": "Salma", "subject": "Demande de permis", "attachments": picture(40, "b.png")},
    ]
    response = client.post(f"/desk/{commune.code}/register/batch/", batch_data(rows))
    assert response.status_code == 302
    letters = list(Correspondence.objects.order_by("pk"))
    assert [c.subject for c in letters] == ["طلب شهادة السكنى", "Demande de permis"]
    assert letters[1].attachments.get().blob.content_type == "application/pdf"  # the picture, as a PDF
    done = client.get(response["Location"])
    html = done.content.decode()
    assert letters[0].number in html and letters[1].number in html
    assert 'http-equiv="refresh"' in html  # the scans' text is not ready yet


def test_a_batch_with_a_wrong_row_registers_nothing(
    clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    rows: list[dict[str, object]] = [
        {"sender_name": "Ahmed", "subject": "Une lettre", "attachments": SimpleUploadedFile("a.pdf", pdf_bytes())},
        {"sender_name": "Salma", "subject": "", "attachments": SimpleUploadedFile("b.pdf", pdf_bytes())},
        {"sender_name": "Omar", "subject": "Pas un PDF", "attachments": SimpleUploadedFile("c.pdf", b"MZ\x90 nope")},
    ]
    response = signed_in(clerk).post(
        f"/desk/{commune.code}/register/batch/", batch_data(rows), HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 400
    text = html.unescape(response.content.decode()).replace("\u00a0", " ")
    assert "Aucun courrier n'a été enregistré : corrigez les lignes signalées" in text
    assert not Correspondence.objects.exists()


def test_the_page_script_sends_one_letter_at_a_time(
    clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    url = f"/desk/{commune.code}/register/batch/"
    good = {"letter-0-sender_name": "Ahmed", "letter-0-subject": "Lettre", "letter-0-attachments": picture(9, "p.png")}
    answer = client.post(url, good, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert answer.status_code == 200
    letter = Correspondence.objects.get()
    assert answer.json() == {
        "id": letter.pk,
        "number": letter.number,
        "url": f"/desk/{commune.code}/c/{letter.pk}/",
    }
    bad = {"letter-0-sender_name": "Ahmed", "letter-0-subject": "Sans scan"}
    refused = client.post(url, bad, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert refused.status_code == 400 and "attachments" in refused.json()["errors"]
    assert Correspondence.objects.count() == 1


def test_the_letter_page_tells_how_its_text_was_made_and_offers_the_searchable_copy(
    clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    counter_post(client, commune, [picture(20, "scan.png")], assemble="on")
    letter = Correspondence.objects.get()
    attachment = letter.attachments.get()
    page = client.get(f"/desk/{commune.code}/c/{letter.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<span class="badge">En attente de reconnaissance du texte</span>' in page
    assert (
        '<span class="badge">في انتظار التعرف على النص</span>'
        in client.get(f"/desk/{commune.code}/c/{letter.pk}/").content.decode()
    )
    copy = pdf_bytes(text="searchable copy")
    TextLayer.objects.create(
        blob=attachment.blob,
        status=TextLayer.Status.DONE,
        method=TextLayer.Method.OCR,
        text="نص",
        pages=1,
        pages_recognised=1,
        searchable=pdf_blob(copy),
    )
    page = client.get(f"/desk/{commune.code}/c/{letter.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Texte reconnu (OCR)" in page
    link = f"/desk/{commune.code}/c/{letter.pk}/files/1/searchable.pdf"
    assert link in page
    download = client.get(link)
    assert download.getvalue() == copy
    assert AuditEvent.objects.filter(action="attachment.downloaded", data__copy="searchable").exists()


def test_the_batch_page_shows_how_far_recognition_has_come(
    clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    counter_post(client, commune, [picture(20, "scan.png")], assemble="on")
    letter = Correspondence.objects.get()
    TextLayer.objects.create(blob=letter.attachments.get().blob, status=TextLayer.Status.DONE, method="ocr")
    html = client.get(f"/desk/{commune.code}/register/batch/done/?ids={letter.pk}", HTTP_ACCEPT_LANGUAGE="fr")
    text = html.content.decode()
    assert 'http-equiv="refresh"' not in text and letter.number in text


def test_outsiders_reach_none_of_it(
    outsider: User, commune: Administration, clerk: User, agent: User, signed_in: Callable[..., Client]
) -> None:
    counter_post(signed_in(clerk), commune, [picture(20, "scan.png")], assemble="on")
    letter = Correspondence.objects.get()
    # The batch pages refuse them (tests/test_routes.py); a real searchable copy does too.
    client = signed_in(outsider)
    assert client.get(f"/desk/{commune.code}/register/batch/done/?ids={letter.pk}").status_code == 404
    assert client.get(f"/desk/{commune.code}/c/{letter.pk}/files/1/searchable.pdf").status_code == 404


def test_pictures_that_would_make_more_pages_than_the_limit_are_not_put_together(
    clerk: User, commune: Administration, settings: Settings, signed_in: Callable[..., Client]
) -> None:
    from documents.samples import tiff_of_frames

    settings.MAX_PAGES = 7
    before = stored_files()
    halves = [SimpleUploadedFile(f"part-{n}.tif", tiff_of_frames(4), content_type="image/tiff") for n in (1, 2)]
    response = counter_post(signed_in(clerk), commune, halves, assemble="on", headers={"Accept-Language": "fr"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_attachments-error"' in page and "plus de 7\xa0pages" in page
    assert not Correspondence.objects.exists() and not TextLayer.objects.exists()
    assert stored_files() == before


def test_a_picture_over_the_pixel_limit_never_reaches_the_assembly(
    clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    from documents.samples import png_of_pixels

    before = stored_files()
    huge = SimpleUploadedFile("page.png", png_of_pixels(12_600, 12_600), content_type="image/png")  # 158.8 Mpx
    response = counter_post(signed_in(clerk), commune, [huge], assemble="on", headers={"Accept-Language": "fr"})
    assert response.status_code == 400
    assert "50\xa0mégapixels" in response.content.decode()
    assert not Correspondence.objects.exists() and stored_files() == before


def test_counter_mail_needs_its_scan_or_its_text(
    clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    response = counter_post(client, commune, [], body="", headers={"Accept-Language": "fr"})
    assert response.status_code == 400
    assert 'id="id_body-error"' in response.content.decode()
    assert not Correspondence.objects.exists()
    assert counter_post(client, commune, [], body="Lettre résumée au guichet").status_code == 302
