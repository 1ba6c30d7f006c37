"""The console summary of a message (without its attachments' bytes), and which backend sends mail."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from email.mime.application import MIMEApplication
from pathlib import Path

import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives

from core.mail import ConsoleEmailBackend
from documents.samples import pdf_bytes

ROOT = Path(__file__).resolve().parents[2]


def test_a_message_is_printed_with_the_names_and_sizes_of_its_attachments_only() -> None:
    receipt = pdf_bytes(pages=3, pad_to=300_000)
    message = EmailMessage(
        subject="Récépissé 2026-000123 — Commune d'Essai",
        body="Votre correspondance a été enregistrée sous le numéro 2026-000123.\nO'Brien & <Fils>\n",
        from_email="Wasl <no-reply@wasl.localhost>",
        to=["citoyen@example.ma"],
    )
    message.attach("receipt-2026-000123.pdf", receipt, "application/pdf")
    message.attach("note.txt", "bonjour", "text/plain")
    stream = io.StringIO()
    assert ConsoleEmailBackend(stream=stream).send_messages([message]) == 1
    printed = stream.getvalue()
    assert len(printed) < 1_000
    assert "Subject: Récépissé 2026-000123 — Commune d'Essai" in printed
    assert "To: citoyen@example.ma" in printed
    assert "O'Brien & <Fils>" in printed
    assert f"receipt-2026-000123.pdf (application/pdf, {len(receipt)} bytes)" in printed
    assert "note.txt (text/plain, 7 bytes)" in printed
    assert "JVBERi" not in printed  # "%PDF" in base64


def test_alternatives_and_mime_parts_are_summarised_too() -> None:
    message = EmailMultiAlternatives(subject="S", body="texte", to=["a@example.ma"])
    message.attach_alternative("<p>" + "x" * 5000 + "</p>", "text/html")
    message.attachments.append(MIMEApplication(b"\0" * 4096, Name="blob.bin"))
    stream = io.StringIO()
    ConsoleEmailBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert "(alternative text/html) (text/html, 5007 bytes)" in printed
    assert "blob.bin (application/octet-stream, 4096 bytes)" in printed
    assert "xxxxxxxxxx" not in printed


def _mailer(environment: dict[str, str]) -> str:
    script = "import django; django.setup(); from django.conf import settings; print(settings.MAILERS['default'])"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
def test_without_smtp_mail_goes_to_the_outbox_and_the_demo_also_prints_it(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WASL_")}
    environment.update(WASL_DEMO="true", WASL_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="wasl.settings")
    assert "{'BACKEND': 'core.mail.OutboxEmailBackend', 'OPTIONS': {'echo': True}}" in _mailer(environment)
    environment.update(WASL_DEMO="false", WASL_SECRET_KEY="a-secret-for-this-test-only-0123456789")
    assert "{'BACKEND': 'core.mail.OutboxEmailBackend', 'OPTIONS': {'echo': False}}" in _mailer(environment)
    environment.update(WASL_EMAIL_HOST="smtp.example.ma", WASL_EMAIL_USE_SSL="true")
    smtp = _mailer(environment)
    assert "'port': 465" in smtp and "'use_ssl': True" in smtp and "'use_tls': False" in smtp
