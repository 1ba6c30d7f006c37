"""Send a short test message (Arabic and French) through the configured e-mail transport.

    manage.py send_test_email someone@example.ma

Prints which transport was used. When sending fails, prints the server's error on one line with
the likely fix (user name and password, TLS, port, host name) and exits with status 1.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, mailers
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.urls import reverse
from django.utils import timezone

from core.mail import OutboxEmailBackend
from core.text import one_line

SUBJECT = "وصل: رسالة تجريبية — Wasl : message de test"
BODY = """\
هذه رسالة تجريبية أرسلتها منصة وصل ({installation}).
إذا وصلتك، فالبريد الإلكتروني يعمل: روابط إنشاء الحسابات والوصولات المختومة ستصل إلى أصحابها.

Ceci est un message de test envoyé par la plateforme Wasl ({installation}).
S'il vous parvient, l'envoi des e-mails fonctionne : les liens d'inscription et les récépissés
scellés parviendront à leurs destinataires.

{url}
{moment}
"""


def _mailer() -> dict[str, Any]:
    mailer: dict[str, Any] = settings.MAILERS["default"]
    return mailer


def smtp_options() -> dict[str, Any]:
    return dict(_mailer().get("OPTIONS", {}))


def transport() -> str:
    """The configured transport, in words."""
    backend = str(_mailer().get("BACKEND", ""))
    if backend in ("core.mail.SmtpEmailBackend", "django.core.mail.backends.smtp.EmailBackend"):
        options = smtp_options()
        security = "SSL" if options.get("use_ssl") else "STARTTLS" if options.get("use_tls") else "no encryption"
        user = f"user {options['username']}" if options.get("username") else "no sign-in"
        return f"SMTP {options.get('host')}:{options.get('port')} ({security}, {user})"
    if backend == "core.mail.OutboxEmailBackend":
        return f"the outbox {settings.EMAIL_OUTBOX_DIR} (no SMTP server: WASL_EMAIL_HOST is empty)"
    return backend


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
    return one_line(f"{error.smtp_code} {text}")


def explain(error: BaseException) -> str:
    """One line: what went wrong, as the server or the network said it, and what to change."""
    options = smtp_options()
    host, port = options.get("host"), options.get("port")
    ports = "port 587 takes WASL_EMAIL_USE_TLS=true, port 465 WASL_EMAIL_USE_SSL=true"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return (
            f"the server refused the user name or password ({_reply(error)}). Check WASL_EMAIL_USER and "
            "WASL_EMAIL_PASSWORD (some providers want an application password, not the account's)."
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        return (
            f"the server refused the sender {error.sender} ({_reply(error)}). Set WASL_EMAIL_FROM to an "
            "address this account may send from."
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address}: {code} {one_line(reply.decode('utf-8', 'replace'))}"
            for address, (code, reply) in error.recipients.items()
        )
        return f"the server refused the recipient ({refused}). Check the address, or that this server relays to it."
    if isinstance(error, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(error):
            return (
                f"the server on port {port} does not offer STARTTLS. Use the port where it offers TLS: {ports}; "
                "WASL_EMAIL_USE_TLS=false only for a relay on a trusted network."
            )
        return (
            f"the server does not offer sign-in (AUTH) here: {one_line(str(error))} Most servers offer it only "
            "after STARTTLS (WASL_EMAIL_USE_TLS=true); a relay that needs no sign-in takes an empty WASL_EMAIL_USER."
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the server answered {_reply(error)}."
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"the server's certificate is not trusted ({one_line(error.verify_message or str(error))}). "
            f"WASL_EMAIL_HOST must be the name its certificate carries ({host}?); a private authority's "
            "certificate goes into the system's trust store (update-ca-certificates)."
        )
    if isinstance(error, ssl.SSLError):
        return (
            f"the TLS handshake failed ({one_line(error.reason or str(error))}). Port 465 speaks TLS at once "
            "(WASL_EMAIL_USE_SSL=true); ports 587 and 25 start in clear and switch with STARTTLS "
            "(WASL_EMAIL_USE_TLS=true)."
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return (
            f"the server closed the connection ({one_line(str(error))}). On port 465 set WASL_EMAIL_USE_SSL=true; "
            f"otherwise check WASL_EMAIL_PORT: {ports}."
        )
    if isinstance(error, socket.gaierror):
        return f"the host name {host} was not found ({error.strerror}). Check WASL_EMAIL_HOST."
    if isinstance(error, ConnectionRefusedError):
        return f"nothing accepts connections on {host}:{port}. Check WASL_EMAIL_HOST and WASL_EMAIL_PORT: {ports}."
    if isinstance(error, TimeoutError):
        return (
            f"no answer from {host}:{port} in time. A firewall may block the port, or the port expects TLS at "
            f"once (465: WASL_EMAIL_USE_SSL=true). Check WASL_EMAIL_PORT: {ports}."
        )
    if isinstance(error, OSError):
        return f"cannot reach {host}:{port} ({one_line(error.strerror or str(error))}). Check WASL_EMAIL_HOST."
    return one_line(f"{type(error).__name__}: {error}")


class Command(BaseCommand):
    help = "Send a short test message (Arabic and French) through the configured e-mail transport."
    # E-mail is checked on its own, also while the rest of the configuration is unfinished (an
    # installation in progress, a missing PKI): the system checks say what else is missing.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", help="where to send the test message")

    def handle(self, *args: Any, **options: Any) -> None:
        address = options["address"].strip()
        try:
            validate_email(address)
        except ValidationError:
            raise CommandError(f"{address!r} is not an e-mail address.") from None
        how = transport()
        self.stdout.write(f"Sending a test message to {address} through {how}.")
        body = BODY.format(
            installation=settings.INSTALLATION_NAME,
            url=settings.PUBLIC_URL + "/",
            moment=timezone.localtime().strftime("%Y-%m-%d %H:%M:%S %Z"),
        )
        message = EmailMessage(subject=SUBJECT, body=body, to=[address])
        connection = mailers.default
        try:
            sent = connection.send_messages([message])
        except Exception as error:
            raise CommandError(f"Not sent: {explain(error)}") from error
        if not sent:
            raise CommandError("Not sent: the transport accepted no message.")
        if isinstance(connection, OutboxEmailBackend):
            self.stdout.write(
                self.style.WARNING(f"Kept in the outbox, not sent: {connection.kept[-1]}")
                + "\nPlatform administrators read it in "
                + settings.PUBLIC_URL
                + reverse("admin:core_outboxmessage_changelist")
                + "\nSet WASL_EMAIL_HOST (and WASL_EMAIL_USER, WASL_EMAIL_PASSWORD) to send e-mail: docs/operations.md."
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Sent to {address} through {how}."))
