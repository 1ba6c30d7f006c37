"""The e-mail backends of installations without SMTP: the outbox, and the demo's console.

Without ``WASL_EMAIL_HOST``, :class:`OutboxEmailBackend` keeps every message whole in the outbox
(core.outbox), where platform administrators read it in /admin/. In the demo it also prints the
message on the console, as :class:`ConsoleEmailBackend` does.

Django's console backend prints each message as it would be sent, MIME-encoded attachments
included: every receipt PDF went to the log in base64 (253 MB of log for 3,000 deposits), and
the text quoted-printable, its links cut across lines. These print what a person reading the
log needs: the headers, the text as written (links whole), and each attachment's name, type
and size.
"""

from __future__ import annotations

import email.policy
import logging
import smtplib
import sys
import threading
from collections.abc import Sequence
from email.mime.base import MIMEBase
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend

from core.outbox import outbox_write
from core.text import one_line

logger = logging.getLogger(__name__)

RULE = "-" * 79

# Headers are written on one line (up to the 998 characters a line may have) instead of folded at
# 78: Python 3.12's e-mail package (before 3.12.x's fix, as on Debian 12's pyenv 3.12.1) drops the
# space where it folds a header between two encoded words, so a long Arabic subject arrived as
# "جماعةوصل" for "جماعة وصل".
OUTBOX_POLICY = email.policy.default.clone(max_line_length=998)
SMTP_POLICY = email.policy.SMTP.clone(max_line_length=998)


def smtp_configured() -> bool:
    """Whether e-mail leaves through an SMTP server (``WASL_EMAIL_HOST``), rather than waiting in the outbox."""
    mailer: dict[str, Any] = settings.MAILERS["default"]
    return bool(mailer.get("OPTIONS", {}).get("host"))


def _attachment_facts(attachment: Any) -> tuple[str, str, int]:
    """Name, type and size in bytes of an attachment, as EmailMessage keeps it (an
    EmailAttachment, a (name, content, type) tuple, or a MIME part)."""
    if isinstance(attachment, MIMEBase):
        payload = attachment.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        return attachment.get_filename() or "", attachment.get_content_type(), size
    filename, content, mimetype = attachment
    size = len(content.encode() if isinstance(content, str) else content or b"")
    return filename or "", mimetype or "", size


def message_summary(message: EmailMessage) -> str:
    """The message as the console shows it: headers, text, alternatives and attachments without
    their content."""
    lines = [
        f"From: {message.from_email}",
        f"To: {', '.join(message.to)}",
    ]
    if message.cc:
        lines.append(f"Cc: {', '.join(message.cc)}")
    if message.bcc:
        lines.append(f"Bcc: {', '.join(message.bcc)}")
    if message.reply_to:
        lines.append(f"Reply-To: {', '.join(message.reply_to)}")
    lines.extend(f"{name}: {value}" for name, value in message.extra_headers.items())
    lines += [f"Subject: {message.subject}", "", message.body.rstrip("\n")]
    alternatives: Sequence[Any] = getattr(message, "alternatives", ())
    parts = [
        (f"(alternative {mimetype})", mimetype, len(content.encode() if isinstance(content, str) else content))
        for content, mimetype in alternatives
    ]
    parts += [_attachment_facts(a) for a in message.attachments]
    if parts:
        lines += ["", "Attachments:"]
        lines += [f"  {name} ({mimetype}, {size} bytes)" for name, mimetype, size in parts]
    return "\n".join(lines)


class ConsoleEmailBackend(BaseEmailBackend):
    """Print each message's summary (see :func:`message_summary`) to standard output."""

    def __init__(self, fail_silently: bool = False, *, stream: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_silently = fail_silently
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        with self._lock:
            for message in email_messages:
                try:
                    self.stream.write(f"{message_summary(message)}\n{RULE}\n")
                    self.stream.flush()
                except Exception:
                    if not self.fail_silently:
                        raise
                else:
                    sent += 1
        return sent


class OutboxEmailBackend(BaseEmailBackend):
    """Keep each message whole in the outbox (core.outbox); with ``echo``, also print its summary
    on standard output (the demo). Outside the demo the log gets one line per message, naming
    its file, and no content: the links in it sign people in."""

    def __init__(
        self, fail_silently: bool = False, *, echo: bool = False, stream: TextIO | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.fail_silently = fail_silently
        self.echo = echo
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()
        # The files this connection wrote, in order (send_test_email names its file).
        self.kept: list[Path] = []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        kept = 0
        for message in email_messages:
            try:
                # A line break in a subject would end the header (and Python's e-mail package
                # refuses it): the subject is kept on one line, as the pages show it.
                message.subject = one_line(str(message.subject))
                path = outbox_write(message.message(policy=OUTBOX_POLICY).as_bytes())
            except Exception:
                if not self.fail_silently:
                    raise
                continue
            kept += 1
            self.kept.append(path)
            if self.echo:
                with self._lock:
                    self.stream.write(f"{message_summary(message)}\n(kept in the outbox: {path})\n{RULE}\n")
                    self.stream.flush()
            else:
                logger.info("e-mail kept in the outbox, not sent (WASL_EMAIL_HOST is not set): %s", path.name)
        return kept


class SmtpEmailBackend(DjangoSmtpBackend):
    """Django's SMTP backend, writing headers unfolded (see :data:`SMTP_POLICY`)."""

    def _send(self, email_message: EmailMessage) -> bool:
        if not email_message.recipients() or self.connection is None:
            return False
        from_email = self.prep_address(email_message.from_email)
        recipients = [self.prep_address(address) for address in email_message.recipients()]
        message = email_message.message(policy=SMTP_POLICY)
        try:
            self.connection.sendmail(from_email, recipients, message.as_bytes())
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
