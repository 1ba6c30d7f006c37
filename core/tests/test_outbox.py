"""The outbox: e-mail kept whole in files without SMTP, read by platform administrators in /admin/."""

from __future__ import annotations

import email.policy
import io
import os
import re
import stat
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import Permission
from django.core.mail import EmailMessage, EmailMultiAlternatives, send_mail
from django.test import Client
from pytest_django import Settings

from core.mail import OutboxEmailBackend
from core.outbox import outbox_entries, outbox_keys, outbox_prune, outbox_write
from core.tests.outbox_writer import write_many
from documents.samples import pdf_bytes
from operations.jobs import default_jobs
from tenancy.models import Administration, User
from tenancy.testing import PASSWORD, make_user

LINK = "https://wasl.example.ma/account/reset/MQ/cz5m1a-0123456789abcdef0123456789abcdef/?next=/desk/COMMUNE-TEST/"
LIST = "/admin/core/outboxmessage/"


@pytest.fixture
def platform_admin(db: None) -> Any:
    from tenancy.models import User

    return User.objects.create_superuser("platform@example.ma", PASSWORD, full_name="Platform")


@pytest.fixture
def admin_client(platform_admin: Any) -> Client:
    client = Client()
    client.force_login(platform_admin)
    return client


def parse(path: Path) -> Any:
    return BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())


def receipt_message(pdf: bytes) -> EmailMessage:
    message = EmailMessage(
        subject="Récépissé 2026-000123 — جماعة الاختبار",
        body=f"Votre correspondance a été enregistrée sous le numéro 2026-000123.\nVérifiez-la ici :\n{LINK}\n",
        to=["citoyen@example.ma"],
    )
    message.attach("receipt-2026-000123.pdf", pdf, "application/pdf")
    return message


def test_each_message_is_kept_whole_and_private(outbox: Path) -> None:
    pdf = pdf_bytes(pages=2, pad_to=120_000)
    assert receipt_message(pdf).send() == 1
    [path] = list(outbox.glob("*.eml"))
    assert re.fullmatch(r"\d{8}T\d{12}-[0-9a-f]{16}\.eml", path.name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    assert [p.name for p in outbox.iterdir()] == [path.name]  # no temporary file left
    kept = parse(path)
    assert kept["To"] == "citoyen@example.ma"
    assert kept["Subject"] == "Récépissé 2026-000123 — جماعة الاختبار"
    assert LINK in kept.get_body(("plain",)).get_content()
    [attachment] = list(kept.iter_attachments())
    assert attachment.get_filename() == "receipt-2026-000123.pdf"
    assert attachment.get_content() == pdf


def test_outside_the_demo_the_log_names_the_file_and_nothing_of_the_message(
    outbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="core.mail")
    send_mail("Sujet secret", f"Lien : {LINK}", None, ["a@example.ma"])
    [path] = list(outbox.glob("*.eml"))
    assert path.name in caplog.text
    assert LINK not in caplog.text and "Sujet secret" not in caplog.text and "a@example.ma" not in caplog.text


def test_the_demo_prints_a_readable_summary_and_keeps_the_message(outbox: Path) -> None:
    stream = io.StringIO()
    backend = OutboxEmailBackend(echo=True, stream=stream, alias="default")
    pdf = pdf_bytes(pages=1, pad_to=50_000)
    assert backend.send_messages([receipt_message(pdf)]) == 1
    printed = stream.getvalue()
    [path] = list(outbox.glob("*.eml"))
    assert LINK in printed  # whole, on one line: not quoted-printable
    assert f"receipt-2026-000123.pdf (application/pdf, {len(pdf)} bytes)" in printed
    assert f"(kept in the outbox: {path})" in printed
    assert "JVBERi" not in printed and len(printed) < 2_000


@pytest.mark.slow
def test_several_processes_write_at_once_and_a_reader_never_sees_half_a_message(outbox: Path) -> None:
    workers, count, size = 4, 20, 300_000
    outbox.mkdir()
    seen_partial: list[str] = []
    reads: list[str] = []
    done = threading.Event()

    def read_continuously() -> None:
        while not done.is_set():
            for key in outbox_keys():
                path = outbox / f"{key}.eml"
                try:
                    message = parse(path)
                except FileNotFoundError:
                    continue
                [part] = list(message.iter_attachments())
                reads.append(key)
                if len(part.get_content()) != size:
                    seen_partial.append(key)

    reader = threading.Thread(target=read_continuously)
    # New processes (spawned, not forked from this one, which runs threads), as the web server's
    # workers and the task worker are.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(write_many, str(outbox), w, count, size) for w in range(workers)]
        reader.start()
        try:
            for future in futures:
                future.result()
        finally:
            done.set()
            reader.join()
    assert reads and not seen_partial
    keys = outbox_keys()
    assert len(keys) == workers * count
    subjects = {parse(outbox / f"{key}.eml")["Subject"] for key in keys}
    assert subjects == {f"w{w} n{n}" for w in range(workers) for n in range(count)}
    assert not [name for name in os.listdir(outbox) if not name.endswith(".eml")]


def test_old_messages_and_abandoned_temporary_files_are_pruned(outbox: Path, settings: Settings) -> None:
    settings.EMAIL_OUTBOX_DAYS = 30
    now = datetime.now(UTC)
    old = outbox_write(b"Subject: old\r\n\r\nold\r\n", now=now - timedelta(days=31))
    recent = outbox_write(b"Subject: recent\r\n\r\nrecent\r\n", now=now - timedelta(days=29))
    abandoned = outbox / ".tmp-abandoned"
    abandoned.write_bytes(b"half")
    os.utime(abandoned, (now.timestamp() - 7200, now.timestamp() - 7200))
    writing = outbox / ".tmp-being-written"
    writing.write_bytes(b"half")
    assert outbox_prune(now=now) == 1
    assert not old.exists() and recent.exists()
    assert not abandoned.exists() and writing.exists()
    assert "prune the e-mail outbox" in [job.name for job in default_jobs()]


def test_the_list_pages_and_searches(outbox: Path) -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    for n in range(5):
        message = EmailMessage(subject=f"Sujet {n}", body="b", to=[f"person{n}@example.ma"])
        outbox_write(message.message().as_bytes(), now=moment + timedelta(minutes=n))
    entries, total = outbox_entries(limit=2)
    assert total == 5 and [e.subject for e in entries] == ["Sujet 4", "Sujet 3"]
    entries, total = outbox_entries(query="PERSON2@", limit=2)
    assert total == 1 and entries[0].to == "person2@example.ma"
    assert entries[0].kept_at == moment + timedelta(minutes=2)


def test_the_platform_admin_reads_a_message_its_links_whole_and_its_pdf_as_a_pdf(
    outbox: Path, admin_client: Client
) -> None:
    pdf = pdf_bytes(pages=2, pad_to=80_000)
    receipt_message(pdf).send()
    [key] = outbox_keys()
    index = admin_client.get("/admin/")
    assert LIST in index.content.decode()
    listing = admin_client.get(LIST)
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "citoyen@example.ma" in page and "Récépissé 2026-000123" in page
    assert f"{LIST}{key}/" in page
    response = admin_client.get(f"{LIST}{key}/")
    assert response.status_code == 200
    page = response.content.decode()
    link = re.search(rf'<a href="([^"]+)" rel="nofollow">{re.escape(LINK)}</a>', page)
    assert link is not None and unquote(link[1]) == LINK
    assert "=\n" not in page and "JVBERi" not in page
    assert "receipt-2026-000123.pdf" in page
    download = re.search(rf'href="({LIST}{key}/part/\d+/)"', page)
    assert download is not None
    attachment = admin_client.get(download[1])
    assert attachment.status_code == 200
    assert attachment["Content-Type"] == "application/pdf"
    assert attachment["Content-Disposition"] == 'attachment; filename="receipt-2026-000123.pdf"'
    assert attachment.content == pdf
    whole = admin_client.get(f"{LIST}{key}/message.eml")
    assert whole["Content-Type"] == "message/rfc822"
    assert whole.content == (outbox / f"{key}.eml").read_bytes()


def test_an_html_part_is_shown_as_text(outbox: Path, admin_client: Client) -> None:
    message = EmailMultiAlternatives(subject="HTML", body="texte", to=["a@example.ma"])
    message.attach_alternative('<p onclick="x()">Bonjour <script>alert(1)</script></p>', "text/html")
    message.send()
    [key] = outbox_keys()
    page = admin_client.get(f"{LIST}{key}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "texte" in page


def test_hostile_subjects_and_file_names_break_neither_headers_nor_the_page(outbox: Path, admin_client: Client) -> None:
    message = EmailMessage(
        subject="Objet\r\nBcc: everyone@example.ma\u202egnp.exe <img src=x onerror=alert(1)>",
        body="\u202eكلمة\nligne",
        to=["a@example.ma"],
    )
    message.attach("../../\u202eevil\r\n.pdf", b"%PDF-1.4 not really", "text/html")
    message.send()
    [key] = outbox_keys()
    kept = parse(outbox / f"{key}.eml")
    assert kept["Bcc"] is None
    assert kept["Subject"].startswith("Objet Bcc: everyone@example.ma")
    page = admin_client.get(f"{LIST}{key}/").content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # The override is closed inside the element that isolates it.
    assert "\u202egnp.exe &lt;img src=x onerror=alert(1)&gt;\u202c</bdi>" in page
    listing = admin_client.get(LIST).content.decode()
    assert "<img src=x" not in listing
    download = re.search(rf'href="({LIST}{key}/part/\d+/)"', page)
    assert download is not None
    attachment = admin_client.get(download[1])
    assert attachment["Content-Type"] == "application/octet-stream"  # never shown as a page of the site
    assert attachment["Content-Disposition"] == 'attachment; filename="evil.pdf"'
    assert "sandbox" in attachment["Content-Security-Policy"]


def test_keys_that_are_not_outbox_names_are_not_found(outbox: Path, admin_client: Client, tmp_path: Path) -> None:
    (tmp_path / "secret.eml").write_bytes(b"Subject: secret\r\n\r\nsecret\r\n")
    outbox.mkdir()
    for key in ["..%2Fsecret", "../secret", "secret", "20260301T000000000000-zzzzzzzzzzzzzzzz"]:
        assert admin_client.get(f"{LIST}{key}/").status_code == 404, key
    assert admin_client.get(f"{LIST}?page=9").status_code == 404


def test_only_those_allowed_read_the_outbox(
    outbox: Path, commune: Administration, clerk: User, commune_admin: User, citizen: User
) -> None:
    send_mail("Lien", LINK, None, ["a@example.ma"])
    [key] = outbox_keys()
    with open(outbox / f"{key}.eml", "rb") as stream:
        kept = BytesParser(policy=email.policy.default).parse(stream)
    part = next(index for index, p in enumerate(kept.walk()) if not p.is_multipart())
    addresses = [LIST, f"{LIST}{key}/", f"{LIST}{key}/message.eml", f"{LIST}{key}/part/{part}/"]

    anonymous = Client()
    for address in addresses:
        response = anonymous.get(address)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), address

    platform_staff = make_user("staff@platform.ma", is_staff=True)  # a platform admin, not a superuser
    for user in (citizen, clerk, commune_admin, platform_staff):
        client = Client()
        client.force_login(user)
        for address in addresses:
            response = client.get(address)
            assert response.status_code == 404, (user.email, address)
            assert LINK.encode() not in response.content
    client = Client()
    client.force_login(platform_staff)
    assert LIST not in client.get("/admin/").content.decode()

    platform_staff.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    client = Client()
    client.force_login(platform_staff)
    assert client.get(f"{LIST}{key}/").status_code == 200


def test_a_file_that_cannot_be_read_leaves_the_rest_of_the_outbox_readable(outbox: Path, admin_client: Client) -> None:
    """A name of the outbox's form that is not a message Wasl can read (a directory; a file the
    web server may not read, as one written by root running manage.py) is left out; the list and
    the other messages still show."""
    send_mail("Lisible", "texte", None, ["a@example.ma"])
    [readable] = outbox_keys()
    unreadable = ["20260301T000000000000-0000000000000000"]
    (outbox / f"{unreadable[0]}.eml").mkdir()
    if os.geteuid() != 0:  # root reads a file whatever its mode
        unreadable.append("20260301T000000000001-1111111111111111")
        (outbox / f"{unreadable[1]}.eml").write_bytes(b"Subject: root's\r\n\r\nx\r\n")
        os.chmod(outbox / f"{unreadable[1]}.eml", 0)
    listing = admin_client.get(LIST)
    assert listing.status_code == 200
    assert "Lisible" in listing.content.decode()
    assert admin_client.get(f"{LIST}?q=lisible").status_code == 200
    assert admin_client.get(f"{LIST}{readable}/").status_code == 200
    for key in unreadable:
        for address in (f"{LIST}{key}/", f"{LIST}{key}/message.eml", f"{LIST}{key}/part/0/"):
            assert admin_client.get(address).status_code == 404, address


def test_a_link_in_the_outbox_is_not_followed(outbox: Path, admin_client: Client, tmp_path: Path) -> None:
    """Only the outbox's own files are read: a symbolic link named like a message (to the PKI's
    keys, say) is not."""
    secret = tmp_path / "ca.key.pem"
    secret.write_bytes(b"Subject: secret\r\n\r\n-----BEGIN PRIVATE KEY-----\r\n")
    outbox.mkdir()
    key = "20260301T000000000000-2222222222222222"
    (outbox / f"{key}.eml").symlink_to(secret)
    assert b"secret" not in admin_client.get(LIST).content
    for address in (f"{LIST}{key}/", f"{LIST}{key}/message.eml", f"{LIST}{key}/part/0/"):
        response = admin_client.get(address)
        assert response.status_code == 404, address
        assert b"PRIVATE KEY" not in response.content


def test_a_page_number_that_is_not_a_number_is_the_first_page(outbox: Path, admin_client: Client) -> None:
    send_mail("Premier", "texte", None, ["a@example.ma"])
    for number in ("²", "١", "0", "-1", "x", "9" * 5000):
        response = admin_client.get(LIST, {"page": number})
        assert response.status_code in (200, 404), number
        if response.status_code == 200:
            assert "Premier" in response.content.decode()
