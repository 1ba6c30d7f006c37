"""manage.py send_test_email against a real SMTP server (aiosmtpd, in a thread of the test):
sign-in accepted and refused, STARTTLS with a trusted and an untrusted certificate, a server
without STARTTLS, a closed port; and the outbox when no SMTP server is configured."""

from __future__ import annotations

import datetime
import email.policy
import io
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.mail import EmailMessage
from django.core.management import CommandError, call_command
from pytest_django import Settings

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "wasl-mailer", "right-password"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A private authority and a certificate for 127.0.0.1 issued by it: (CA, cert, key) files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test mail CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


class Server:
    def __init__(self, inbox: Inbox, port: int) -> None:
        self.inbox, self.port = inbox, port


def start(tls_context: ssl.SSLContext | None = None) -> tuple[Controller, Server]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=tls_context is not None,
        tls_context=tls_context,
        require_starttls=tls_context is not None,
    )
    controller.start()
    return controller, Server(inbox, port)


@pytest.fixture
def smtp_server() -> Iterator[Server]:
    controller, server = start()
    yield server
    controller.stop()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    ca, cert, key = certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller, server = start(context)
    yield server, ca
    controller.stop()


def use_smtp(settings: Any, port: int, *, password: str = PASSWORD, use_tls: bool = False) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "core.mail.SmtpEmailBackend",
            "OPTIONS": {
                "host": "127.0.0.1",
                "port": port,
                "username": USER,
                "password": password,
                "use_tls": use_tls,
                "use_ssl": False,
                "timeout": 10,
            },
        }
    }


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("send_test_email", *args, stdout=out)
    return out.getvalue()


def parsed(raw: bytes) -> Any:
    return BytesParser(policy=email.policy.default).parsebytes(raw)


def test_a_test_message_in_arabic_and_french_reaches_the_smtp_server(settings: Settings, smtp_server: Server) -> None:
    use_smtp(settings, smtp_server.port)
    output = run("it@commune.ma")
    assert f"SMTP 127.0.0.1:{smtp_server.port} (no encryption, user {USER})" in output
    assert "Sent to it@commune.ma" in output
    [(sender, recipients, raw)] = smtp_server.inbox.messages
    assert recipients == ["it@commune.ma"]
    assert sender == "no-reply@wasl.localhost"
    message = parsed(raw)
    assert "رسالة تجريبية" in message["Subject"] and "message de test" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "هذه رسالة تجريبية" in text and "Ceci est un message de test" in text


def test_a_refused_password_says_so_in_one_line_with_the_fix(settings: Settings, smtp_server: Server) -> None:
    use_smtp(settings, smtp_server.port, password="wrong")
    with pytest.raises(CommandError) as refused:
        run("it@commune.ma")
    line = str(refused.value)
    assert "\n" not in line
    assert "refused the user name or password (535" in line
    assert "WASL_EMAIL_USER and WASL_EMAIL_PASSWORD" in line
    assert smtp_server.inbox.messages == []


def test_starttls_with_a_trusted_certificate(
    settings: Settings, tls_server: tuple[Server, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, ca = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the system's trust store, for this test
    use_smtp(settings, server.port, use_tls=True)
    output = run("it@commune.ma")
    assert f"SMTP 127.0.0.1:{server.port} (STARTTLS, user {USER})" in output
    assert len(server.inbox.messages) == 1


def test_an_untrusted_certificate_is_named(settings: Settings, tls_server: tuple[Server, Path]) -> None:
    server, _ca = tls_server
    use_smtp(settings, server.port, use_tls=True)
    with pytest.raises(CommandError) as refused:
        run("it@commune.ma")
    assert "certificate is not trusted" in str(refused.value)
    assert "update-ca-certificates" in str(refused.value)
    assert server.inbox.messages == []


def test_a_server_without_starttls(settings: Settings, smtp_server: Server) -> None:
    use_smtp(settings, smtp_server.port, use_tls=True)
    with pytest.raises(CommandError) as refused:
        run("it@commune.ma")
    assert "does not offer STARTTLS" in str(refused.value)
    assert "WASL_EMAIL_USE_SSL=true" in str(refused.value)


def test_sign_in_refused_in_clear_by_a_server_that_wants_tls_first(
    settings: Settings, tls_server: tuple[Server, Path]
) -> None:
    server, _ca = tls_server
    use_smtp(settings, server.port, use_tls=False)
    with pytest.raises(CommandError) as refused:
        run("it@commune.ma")
    # aiosmtpd hides AUTH until STARTTLS, as most servers do.
    assert "sign-in (AUTH)" in str(refused.value) and "WASL_EMAIL_USE_TLS=true" in str(refused.value)


def test_a_closed_port(settings: Settings) -> None:
    use_smtp(settings, free_port())
    with pytest.raises(CommandError) as refused:
        run("it@commune.ma")
    assert "nothing accepts connections on 127.0.0.1:" in str(refused.value)
    assert "WASL_EMAIL_PORT" in str(refused.value)


def test_not_an_address(settings: Settings, smtp_server: Server) -> None:
    use_smtp(settings, smtp_server.port)
    with pytest.raises(CommandError, match="is not an e-mail address"):
        run("it@commune.ma\r\nBcc: everyone@example.ma")
    assert smtp_server.inbox.messages == []


def test_without_smtp_the_message_is_kept_in_the_outbox(settings: Settings, tmp_path: Path) -> None:
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.MAILERS = {"default": {"BACKEND": "core.mail.OutboxEmailBackend"}}
    output = run("it@commune.ma")
    assert f"the outbox {tmp_path / 'outbox'} (no SMTP server: WASL_EMAIL_HOST is empty)" in output
    [kept] = list((tmp_path / "outbox").glob("*.eml"))
    assert f"Kept in the outbox, not sent: {kept}" in output
    assert "/admin/core/outboxmessage/" in output
    assert parsed(kept.read_bytes())["To"] == "it@commune.ma"


@pytest.mark.slow
def test_the_command_exits_1_with_the_error_on_one_line(smtp_server: Server, tmp_path: Path) -> None:
    """The real command, as an administrator runs it, on the production settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WASL_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="wasl.settings",
        WASL_SECRET_KEY="a-secret-for-this-test-only-0123456789",
        WASL_DATA_DIR=str(tmp_path),
        WASL_EMAIL_HOST="127.0.0.1",
        WASL_EMAIL_PORT=str(smtp_server.port),
        WASL_EMAIL_USE_TLS="false",
        WASL_EMAIL_USER=USER,
        WASL_EMAIL_PASSWORD="not-the-password",
    )
    command = [sys.executable, "manage.py", "send_test_email", "it@commune.ma"]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, result.stderr
    assert "refused the user name or password (535" in errors[0]
    assert smtp_server.inbox.messages == []

    environment["WASL_EMAIL_PASSWORD"] = PASSWORD
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(smtp_server.inbox.messages) == 1


def test_a_long_arabic_subject_keeps_its_spaces(settings: Settings, smtp_server: Server, tmp_path: Path) -> None:
    """Python 3.12.1 folds a long header between two encoded words and loses the space there."""
    subject = "وصل رقم A-2026-000001 — جماعة وصل النموذجية للتجربة، المصلحة التقنية"
    use_smtp(settings, smtp_server.port)
    EmailMessage(subject=subject, body="نص", to=["a@example.ma"]).send()
    [(_sender, _recipients, raw)] = smtp_server.inbox.messages
    assert parsed(raw)["Subject"] == subject
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.MAILERS = {"default": {"BACKEND": "core.mail.OutboxEmailBackend"}}
    EmailMessage(subject=subject, body="نص", to=["a@example.ma"]).send()
    [kept] = list((tmp_path / "outbox").glob("*.eml"))
    assert parsed(kept.read_bytes())["Subject"] == subject
