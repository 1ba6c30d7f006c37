"""The parapheur in Chromium: an agent sends a decision into a circuit, the head of service gives
the visa on the document shown, the president signs with her passphrase, the seal follows; the
signed document and the proof slip are downloaded and checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from parapheur.models import Folder
from parapheur.testing import PASSPHRASE, document, enrolled, person
from tenancy.models import Membership
from tenancy.testing import make_administration
from trust.services import ca_certificate_pem
from trust.testing import assert_pdfsig_trusted

from .test_deposit_flow import no_horizontal_scroll, shot
from .test_processing_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Role = Membership.Role


def test_visa_then_signature_then_seal_in_the_browser(phone: Page, live_server: LiveServer, tmp_path: Path) -> None:
    commune = make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    writer = person(commune, Role.AGENT, "agent@demo.ma", name="Salma Idrissi")
    chief = person(commune, Role.HEAD, "head@demo.ma", name="Omar Bennani")
    mayor = enrolled(
        person(commune, Role.SIGNATORY, "mayor@demo.ma", name="نادية العمراني"),
        commune,
        title_fr="Présidente du conseil",
        title_ar="رئيسة المجلس",
    )
    source = tmp_path / "قرار.pdf"
    source.write_bytes(document("Arrêté portant alignement"))
    page = phone
    base = f"{live_server.url}/desk/COMMUNE-DEMO/parapheur"

    # The agent sends the decision into a circuit of her own: a visa, the signature, the seal.
    sign_in(page, live_server.url, "agent@demo.ma")
    page.goto(f"{base}/new/")
    page.locator("#id_title").fill("قرار التصفيف رقم 12")
    page.locator("#id_document").set_input_files(str(source))
    page.locator("#id_visa1").select_option(str(chief.pk))
    page.locator("#id_signatory").select_option(str(mayor.pk))
    assert no_horizontal_scroll(page)
    shot(page, "parapheur-new")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/parapheur/\d+/$"))
    folder = Folder.objects.get(submitter=writer)
    assert folder.current == 1

    # The president finds nothing waiting yet: the visa comes first.
    sign_in(page, live_server.url, "mayor@demo.ma")
    page.goto(f"{base}/")
    assert "قرار التصفيف" not in page.locator("main table").first.inner_text()

    # The head of service sees the folder waiting, the document's fingerprint, and gives his visa.
    sign_in(page, live_server.url, "head@demo.ma")
    page.goto(f"{base}/")
    page.get_by_role("link", name="قرار التصفيف رقم 12").click()
    page.wait_for_url(re.compile(rf"/parapheur/{folder.pk}/$"))
    assert folder.document in page.locator("main").inner_text()
    shot(page, "parapheur-visa")
    page.locator("#act form").first.locator("button[type=submit]").click()
    page.wait_for_load_state()
    folder.refresh_from_db()
    assert folder.current == 2

    # The president signs with her passphrase.
    sign_in(page, live_server.url, "mayor@demo.ma")
    page.goto(f"{base}/{folder.pk}/")
    page.locator("#id_passphrase").fill(PASSPHRASE)
    shot(page, "parapheur-sign")
    page.locator("#act form").first.locator("button[type=submit]").click()
    page.wait_for_load_state()
    folder.refresh_from_db()
    assert folder.status == "completed" and folder.proof
    assert no_horizontal_scroll(page)
    shot(page, "parapheur-completed")

    # The agent downloads the signed document: two signatures (hers and the seal), both valid.
    sign_in(page, live_server.url, "agent@demo.ma")
    response = page.request.get(f"{base}/{folder.pk}/document.pdf")
    assert response.ok
    report = assert_pdfsig_trusted(response.body(), ca_certificate_pem())
    assert report.count("Signature #") == 2 and "نادية العمراني" in report
    proof = page.request.get(f"{base}/{folder.pk}/proof.pdf")
    assert proof.ok and proof.body().startswith(b"%PDF-")


def test_batch_signing_shows_its_progress_and_the_folders_it_could_not_sign(
    phone: Page, live_server: LiveServer
) -> None:
    from parapheur import services
    from parapheur.models import StepKind
    from parapheur.services import StepSpec

    commune = make_administration("COMMUNE-DEMO", name_ar="جماعة وصل النموذجية", name_fr="Commune de Wasl")
    writer = person(commune, Role.AGENT, "agent@demo.ma", name="Salma Idrissi")
    mayor = enrolled(person(commune, Role.SIGNATORY, "mayor@demo.ma", name="نادية العمراني"), commune)
    folders = [
        services.folder_submit(
            actor=writer,
            administration=commune,
            title=f"قرار رقم {n}",
            document=document(f"Décision {n}"),
            document_name=f"d{n}.pdf",
            steps=[StepSpec(kind=StepKind.SIGNATURE, people=(mayor.pk,))],
        )
        for n in range(12)
    ]
    page = phone
    sign_in(page, live_server.url, "mayor@demo.ma")
    page.goto(f"{live_server.url}/desk/COMMUNE-DEMO/parapheur/")
    for box in page.locator("input[name=folders]").all():
        box.check()
    # Meanwhile, one folder is withdrawn by its submitter: it is reported, the others are signed.
    services.folder_withdraw(actor=writer, folder_id=folders[3].pk)
    page.locator("#id_passphrase").fill(PASSPHRASE)
    page.locator("form[data-batch] button[type=submit]").click()
    label = page.locator(".batch-label")
    label.filter(has_text="11").wait_for(timeout=30_000)
    assert page.locator("progress").evaluate("p => [p.value, p.max]") == [12, 12]
    assert "قرار رقم 3" in page.locator(".batch-problems").inner_text()
    shot(page, "parapheur-batch")
    statuses = [Folder.objects.get(pk=f.pk).status for f in folders]
    assert statuses.count("completed") == 11 and statuses[3] == "cancelled"
