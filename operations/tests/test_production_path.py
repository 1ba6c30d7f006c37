"""The production path, followed as docs/install.md writes it, in real processes.

A fresh data directory, a fresh PostgreSQL role and database reached through the server's Unix
socket (the socket form of ``WASL_DATABASE_URL``), no demo flag: the environment file is
``contrib/wasl.env`` with this machine's values put in, ``make install-production`` installs,
then the web server and the worker run with the command lines of ``contrib/systemd/``. The
public URL has a host name other than loopback, over plain HTTP, which Chromium resolves to
this machine. Then, as people would: the platform administrator signs in to ``/admin/``,
creates an administration and attaches a member of staff; a citizen signs up (the confirmation
link comes by e-mail, through a real SMTP conversation), deposits a letter with a PDF and
downloads the receipt, which ``pdfsig`` checks; the member of staff finds it in the register;
``verify_register`` passes; the static files are served, styled pages and the admin's scripts.

PostgreSQL: on the suite's PostgreSQL run, a database of the suite's server; run alone on
SQLite, a server of its own when PostgreSQL's programs are installed. When the suite runs on
both (``scripts/test``), it runs once, in the PostgreSQL run: the path is the same.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import secrets
import shlex
import signal
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page
from pytest_django import DjangoDbBlocker

from operations.testing import ROOT, PostgresServer, free_port, postgres_program, throwaway_postgres
from tests.browser.conftest import ARGS, CHROMIUM
from trust.testing import assert_pdfsig_trusted, sample_pdf

pytestmark = [pytest.mark.slow, pytest.mark.browser]

HOST = "commune.test"  # not loopback: Chromium is told it is this machine
ADMIN = ("it@commune.test", "Platform-admin-2026")
STAFF = ("clerk@commune.test", "Clerk-of-commune-2026")
CITIZEN = ("amina@example.ma", "Citizen-password-2026")
CODE = "COMMUNE-PROD"
SCREENSHOTS = ROOT / "var" / "screenshots"
STARTUP = 120.0  # seconds the web server may take to answer, on a busy 2-core machine


# ---------------------------------------------------------------- the parts around Wasl


class _SmtpSink(socketserver.ThreadingTCPServer):
    """An SMTP server on loopback that keeps what it is sent."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.messages: list[EmailMessage] = []

    def wait_for(self, predicate: Callable[[EmailMessage], bool], seconds: float = 60.0) -> EmailMessage:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in list(self.messages):
                if predicate(message):
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no such e-mail within {seconds} s; received: {[m['Subject'] for m in self.messages]}")


class _SmtpSession(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        def say(text: str) -> None:
            self.wfile.write(text.encode() + b"\r\n")

        say("220 sink ESMTP")
        lines: list[bytes] | None = None  # collecting a message after DATA
        for line in self.rfile:
            if lines is not None:
                if line.rstrip(b"\r\n") == b".":
                    message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                    sink = self.server
                    assert isinstance(sink, _SmtpSink)
                    sink.messages.append(message)
                    lines = None
                    say("250 kept")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                say("250-sink")
                say("250 8BITMIME")
            elif verb == b"DATA":
                lines = []
                say("354 go on")
            elif verb == b"QUIT":
                say("221 bye")
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                say("250 ok")


def _database_url(server: PostgresServer, name: str) -> str:
    """The socket form of the URL (docs/install.md): the socket's directory as the host."""
    return f"postgres://{name}@{quote(server.socket_dir, safe='')}:{server.port}/{name}"


@contextmanager
def _postgres(django_db_blocker: DjangoDbBlocker) -> Iterator[PostgresServer]:
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SHOW unix_socket_directories")
            socket_dir = cursor.fetchone()[0].split(",")[0].strip()
        config = connection.settings_dict
        yield PostgresServer(socket_dir=socket_dir, port=int(config["PORT"] or 5432), superuser=config["USER"])
        return
    planned = os.environ.get("WASL_TEST_DATABASES", "").split()
    if "postgres" in planned:
        pytest.skip("the production path runs once, on PostgreSQL, in this suite's PostgreSQL run")
    if postgres_program("initdb") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is required in CI (apt-get install postgresql)")
        pytest.skip(
            "the production path runs on PostgreSQL, whose server is not installed (apt-get install postgresql)"
        )
    with throwaway_postgres() as server:
        yield server


@contextmanager
def _role_and_database(server: PostgresServer) -> Iterator[str]:
    """As docs/install.md: a role of its own (not a superuser) owning a new database."""
    name = f"wasl_{uuid.uuid4().hex[:10]}"
    with server.connect() as admin:
        admin.execute(f'CREATE ROLE "{name}" LOGIN')
        admin.execute(f'CREATE DATABASE "{name}" OWNER "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    try:
        yield name
    finally:
        with server.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def environment_file(values: dict[str, str]) -> str:
    """``contrib/wasl.env`` with ``values`` put in: each variable it sets takes its value from
    ``values`` when there is one; variables it leaves commented out are added from ``values``."""
    lines, seen = [], set()
    for line in (ROOT / "contrib" / "wasl.env").read_text().splitlines():
        found = re.match(r"^#?(WASL_[A-Z_]+)=", line)
        if found and found.group(1) in values:
            name = found.group(1)
            lines.append(f'{name}="{values[name]}"')
            seen.add(name)
        else:
            lines.append(line)
    lines += [f'{name}="{value}"' for name, value in values.items() if name not in seen]
    return "\n".join(lines) + "\n"


def read_environment_file(path: Path) -> dict[str, str]:
    """What systemd's EnvironmentFile= gives the services (NAME=value, quotes removed)."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _sep, value = line.partition("=")
            values[name.strip()] = shlex.split(value)[0] if value.strip() else ""
    return values


def unit_command(unit: str) -> list[str]:
    """The ExecStart= of ``contrib/systemd/<unit>``, as this checkout and this virtualenv run it."""
    text = (ROOT / "contrib" / "systemd" / unit).read_text()
    [line] = re.findall(r"^ExecStart=(.+)$", text, re.M)
    assert "WorkingDirectory=/opt/wasl" in text and "EnvironmentFile=/etc/wasl/wasl.env" in text
    venv = str(Path(sys.executable).parent)
    return [word.replace("/opt/wasl/.venv/bin", venv) for word in shlex.split(line)]


@dataclass
class Service:
    name: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines[-60:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # systemctl stop: SIGTERM to the main process
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_service(name: str, command: list[str], environment: dict[str, str]) -> Service:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    service = Service(name, process)
    threading.Thread(target=service.read, daemon=True).start()
    return service


def fetch(url: str) -> tuple[int, str, bytes]:
    """GET ``url`` from the web server (on 127.0.0.1) as ``HOST``: status, type and body."""
    port = url.split(f"{HOST}:")[1].split("/")[0]
    request = urllib.request.Request(
        url.replace(f"{HOST}:{port}", f"127.0.0.1:{port}"), headers={"Host": f"{HOST}:{port}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


# ---------------------------------------------------------------- the test


@pytest.fixture
def smtp() -> Iterator[_SmtpSink]:
    sink = _SmtpSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    yield sink
    sink.shutdown()
    sink.server_close()


def test_installed_the_documented_way_a_commune_takes_deposits(
    tmp_path: Path, smtp: _SmtpSink, django_db_blocker: DjangoDbBlocker
) -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    port = free_port()
    public_url = f"http://{HOST}:{port}"
    with ExitStack() as stack:
        server = stack.enter_context(_postgres(django_db_blocker))
        database = stack.enter_context(_role_and_database(server))

        # The environment file of docs/install.md, with this machine's values.
        env_file = tmp_path / "wasl.env"
        env_file.write_text(
            environment_file(
                {
                    "WASL_SECRET_KEY": secrets.token_urlsafe(50),
                    "WASL_PUBLIC_URL": public_url,
                    "WASL_ALLOWED_HOSTS": HOST,
                    "WASL_DATABASE_URL": _database_url(server, database),
                    "WASL_DATA_DIR": str(tmp_path / "var"),
                    "WASL_EMAIL_HOST": "127.0.0.1",
                    "WASL_EMAIL_PORT": str(smtp.server_address[1]),
                    "WASL_EMAIL_USE_TLS": "false",
                    "WASL_EMAIL_USER": "",
                    "WASL_EMAIL_FROM": "Wasl <wasl@commune.test>",
                }
            )
        )
        (tmp_path / "var").mkdir()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("WASL_", "DJANGO_"))}

        # One command. `-o .venv/.runtime`: the suite's virtualenv has the requirements already.
        install = subprocess.run(
            [
                "make",
                "-o",
                ".venv/.runtime",
                "install-production",
                f"ENV_FILE={env_file}",
                f"INSTALL_ARGS=--no-input --admin-email {ADMIN[0]} --admin-name 'Samira Alaoui'",
            ],
            cwd=ROOT,
            env={**clean, "WASL_ADMIN_PASSWORD": ADMIN[1]},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert install.returncode == 0, install.stdout + install.stderr
        output = install.stdout
        assert "Wasl is installed" in output, output
        assert "PKI: created in" in output and str(tmp_path / "var" / "pki") in output
        assert f"Platform administrator: created {ADMIN[0]}" in output
        assert "ERROR" not in output + install.stderr

        # The services, as systemd starts them: the unit's command, its environment file.
        environment = {**clean, **read_environment_file(env_file), "PYTHONUNBUFFERED": "1"}
        web_command = unit_command("wasl-web.service")
        web_command[web_command.index("--bind") + 1] = f"127.0.0.1:{port}"
        web = start_service("web", web_command, environment)
        stack.callback(web.stop)
        worker = start_service("worker", unit_command("wasl-worker.service"), environment)
        stack.callback(worker.stop)
        _wait_until_it_answers(public_url, web)

        # Static files: collected by the install, served by the web server itself.
        _assert_static_files_served(public_url)

        # Playwright's sync API runs an event loop of its own: in a thread of its own, it is clear
        # of whatever loop earlier tests of the suite left in this one.
        try:
            with ThreadPoolExecutor(1) as pool:
                receipt, ca_pem, number = pool.submit(_as_people_would, public_url, smtp, tmp_path).result()
        except Exception:
            print(f"web server:\n{web.log}\n\nworker:\n{worker.log}")
            raise

        assert_pdfsig_trusted(receipt, ca_pem)
        # The worker e-mails the receipt, its PDF attached.
        mailed = smtp.wait_for(lambda m: CITIZEN[0] in str(m["To"]) and number in str(m["Subject"]))
        assert any(part.get_content_type() == "application/pdf" for part in mailed.iter_attachments())

        manage = [sys.executable, "manage.py"]
        verified = subprocess.run(
            [*manage, "verify_register"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr

        # Installed again (an upgrade): nothing is redone, and it says so.
        again = subprocess.run(
            [*manage, "install", "--no-input"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "Database: up to date" in again.stdout
        assert "PKI: exists" in again.stdout and "left unchanged" in again.stdout
        assert f"Platform administrator: {ADMIN[0]} already (skipped" in again.stdout


def _as_people_would(public_url: str, smtp: _SmtpSink, tmp_path: Path) -> tuple[bytes, bytes, str]:
    """The browser's part: the receipt a citizen downloaded, the root certificate, its number."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"]
        )
        try:
            _platform_admin_creates_the_administration_and_its_staff(browser, public_url)
            receipt, ca_pem, number = _citizen_signs_up_and_deposits(browser, public_url, smtp, tmp_path)
            _staff_member_finds_it_in_the_register(browser, public_url, number)
        finally:
            browser.close()
    return receipt, ca_pem, number


def _wait_until_it_answers(public_url: str, web: Service) -> None:
    deadline = time.monotonic() + STARTUP
    while True:
        try:
            if fetch(f"{public_url}/healthz")[0] == 200:
                return
        except OSError:
            pass
        assert web.process.poll() is None, f"the web server stopped:\n{web.log}"
        assert time.monotonic() < deadline, f"the web server did not answer within {STARTUP} s:\n{web.log}"
        time.sleep(0.3)


def _assert_static_files_served(public_url: str) -> None:
    expected = {
        "/static/wasl/wasl.css": "text/css",
        "/static/wasl/wasl.js": "javascript",
        "/static/admin/css/base.css": "text/css",
        "/static/admin/js/autocomplete.js": "javascript",
        "/static/admin/js/admin/RelatedObjectLookups.js": "javascript",
        "/static/admin/js/vendor/select2/select2.full.min.js": "javascript",
    }
    for path, kind in expected.items():
        status, content_type, body = fetch(public_url + path)
        assert status == 200 and kind in content_type and body, (path, status, content_type)


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"production-{name}.png"), full_page=True)


def _styled_in_arabic(page: Page) -> bool:
    """The site's stylesheet applies, and its Arabic font (a static file too) loaded."""
    return page.evaluate(
        """async () => {
            await document.fonts.ready;
            return getComputedStyle(document.body).fontFamily.includes("Wasl Naskh")
                && [...document.fonts].some(f => f.family.includes("Wasl Naskh") && f.status === "loaded");
        }"""
    )


def _platform_admin_creates_the_administration_and_its_staff(browser: Browser, public_url: str) -> None:
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{public_url}/admin/")
    assert "/admin/login/" in page.url
    page.locator("#id_username").fill(ADMIN[0])
    page.locator("#id_password").fill(ADMIN[1])
    page.locator("#login-form [type=submit]").click()
    page.wait_for_url(f"{public_url}/admin/")
    header = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header not in ("rgba(0, 0, 0, 0)", "transparent"), "the admin is not styled"
    _shot(page, "admin-fr")

    page.goto(f"{public_url}/admin/tenancy/administration/add/")
    page.locator("#id_name_ar").fill("جماعة الإنتاج")
    page.locator("#id_name_fr").fill("Commune de Production")
    page.locator("#id_code").fill(CODE)
    page.locator("#id_kind").select_option("commune")

    # A member of staff: "Add another membership" (the inline's script), then the "+" beside its
    # user (the admin's related-object pop-up) creates the account.
    page.locator("#memberships-group .add-row a").click()
    page.locator("#id_memberships-0-role").select_option("clerk")
    with page.expect_popup() as popup_info:
        page.locator("#add_id_memberships-0-user").click()
    popup = popup_info.value
    popup.set_default_timeout(20_000)
    popup.locator("#id_email").fill(STAFF[0])
    popup.locator("#id_full_name").fill("Youssef Berrada")
    popup.locator("#id_password1").fill(STAFF[1])
    popup.locator("#id_password2").fill(STAFF[1])
    with popup.expect_event("close"):  # the admin's script closes it once the account is made
        popup.locator("[name=_save]").click()
    assert STAFF[0] in page.locator("#id_memberships-0-user option:checked").inner_text()

    # The same person as auditor too, chosen with the user autocomplete (select2, from the API).
    page.locator("#memberships-group .add-row a").click()
    page.locator("#id_memberships-1-role").select_option("auditor")
    page.locator("#memberships-1 .select2-selection").click()
    page.locator(".select2-search__field").fill("clerk@")
    page.locator(".select2-results__option", has_text=STAFF[0]).click()
    assert STAFF[0] in page.locator("#id_memberships-1-user option:checked").inner_text()
    page.locator("[name=_save]").click()
    page.wait_for_url(re.compile(r"/admin/tenancy/administration/$"))
    assert page.locator(".messagelist .success").count() == 1
    assert CODE in page.locator("#result_list").inner_text()

    # The admin in Arabic on a phone: styled, nothing wider than the screen.
    context.add_cookies([{"name": "django_language", "value": "ar", "url": public_url}])
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"{public_url}/admin/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    _shot(page, "admin-ar-360")
    context.close()


def _citizen_signs_up_and_deposits(
    browser: Browser, public_url: str, smtp: _SmtpSink, tmp_path: Path
) -> tuple[bytes, bytes, str]:
    context = browser.new_context(locale="ar-MA", viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{public_url}/signup/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert _styled_in_arabic(page), "the site is not styled"
    page.locator("#id_full_name").fill("أمينة العلوي")
    page.locator("#id_email").fill(CITIZEN[0])
    page.locator("#id_password").fill(CITIZEN[1])
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account/check-email/$"))

    confirmation = smtp.wait_for(lambda m: CITIZEN[0] in str(m["To"]))
    body = confirmation.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    [link] = re.findall(rf"{re.escape(public_url)}/account/verify/\S+", text)
    page.goto(link)
    page.wait_for_url(re.compile(r"/deposit/$"))

    letter = tmp_path / "طلب.pdf"
    letter.write_bytes(sample_pdf("طلب رخصة الربط بشبكة الماء"))
    page.locator("#id_recipient").select_option(CODE)
    page.locator("#id_subject").fill("طلب رخصة الربط بشبكة الماء الصالح للشرب")
    page.locator("#id_attachments").set_input_files(str(letter))
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/deposits/\d+/$"))
    number = re.search(r"\d{4}-\d+", page.locator("h1").inner_text())
    assert number, page.locator("h1").inner_text()
    _shot(page, "deposit-ar")
    with page.expect_download() as download:
        page.locator("a[href$='receipt.pdf']").first.click()
    receipt = Path(download.value.path()).read_bytes()
    ca_pem = fetch(f"{public_url}/verify/root-ca.pem")[2]
    context.close()
    return receipt, ca_pem, number.group(0)


def _staff_member_finds_it_in_the_register(browser: Browser, public_url: str, number: str) -> None:
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{public_url}/login/")
    page.locator("#id_username").fill(STAFF[0])
    page.locator("#id_password").fill(STAFF[1])
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{public_url}/desk/{CODE}/")
    assert number in page.locator("main").inner_text()
    context.close()
