"""``manage.py install``: refusals before anything changes, the questions it asks, and a second
run that redoes nothing. In real processes on a data directory of their own (SQLite here; the
whole production path on PostgreSQL is test_production_path.py)."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import sqlite3
import subprocess
import termios
import time
from pathlib import Path

import pytest

from operations.testing import MANAGE, ROOT, free_port

PASSWORD = "Platform-admin-2026"


def _environment(data_dir: Path, **changes: str | None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WASL_", "DJANGO_"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="wasl.settings",
        WASL_SECRET_KEY="a-secret-key-of-this-test-installation-0123456789-abcdefghij",
        WASL_DATA_DIR=str(data_dir),
        WASL_ALLOWED_HOSTS="wasl.commune.test",
        WASL_PUBLIC_URL="https://wasl.commune.test",
        WASL_LOG_LEVEL="WARNING",
    )
    for name, value in changes.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def _install(data_dir: Path, *arguments: str, **changes: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MANAGE, "install", *arguments],
        cwd=ROOT,
        env=_environment(data_dir, **changes),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def _tables(data_dir: Path) -> list[str]:
    database = data_dir / "wasl.sqlite3"
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


def _nothing_done(data_dir: Path) -> bool:
    static = data_dir / "static"  # made (empty) by the settings, when they load
    return (
        _tables(data_dir) == [] and not (data_dir / "pki").exists() and not (static.exists() and any(static.iterdir()))
    )


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and "pikepdf" not in line]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"WASL_SECRET_KEY": None}, "Configuration error: WASL_SECRET_KEY is not set."),
        ({"WASL_MAX_FILES": "many"}, "Configuration error: WASL_MAX_FILES='many' is not a whole number"),
        (
            {"WASL_PUBLIC_URL": None},
            "CommandError: wasl.E010: WASL_PUBLIC_URL is not set: receipts' QR codes and e-mailed links would point",
        ),
        ({"WASL_ALLOWED_HOSTS": ""}, "CommandError: wasl.E001: WASL_ALLOWED_HOSTS is empty"),
        (
            {"WASL_PUBLIC_URL": "https://other.commune.test"},
            "CommandError: wasl.E012: WASL_PUBLIC_URL's host other.commune.test is not in WASL_ALLOWED_HOSTS",
        ),
        ({"WASL_DEMO": "true"}, "CommandError: This is the demo's configuration"),
    ],
)
def test_a_setting_missing_or_wrong_is_one_line_and_changes_nothing(
    tmp_path: Path, changes: dict[str, str], said: str
) -> None:
    result = _install(
        tmp_path, "--no-input", "--admin-email", "it@commune.test", WASL_ADMIN_PASSWORD=PASSWORD, **changes
    )
    assert result.returncode != 0
    assert _one_line(result.stderr).startswith(said)
    assert _nothing_done(tmp_path)


@pytest.mark.slow
def test_an_unreachable_database_is_one_line_with_the_fix_and_changes_nothing(tmp_path: Path) -> None:
    url = f"postgres://wasl:secret-password@127.0.0.1:{free_port()}/wasl"
    result = _install(
        tmp_path, "--no-input", "--admin-email", "it@commune.test", WASL_ADMIN_PASSWORD=PASSWORD, WASL_DATABASE_URL=url
    )
    assert result.returncode != 0
    line = _one_line(result.stderr)
    assert line.startswith("CommandError: The database cannot be reached (postgres://wasl:***@127.0.0.1:")
    assert "Check WASL_DATABASE_URL, and that PostgreSQL runs" in line
    assert "secret-password" not in result.stdout + result.stderr
    assert _nothing_done(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("arguments", "password", "said"),
    [
        ((), PASSWORD, "--no-input needs the first platform administrator"),
        (("--admin-email", "it@commune.test"), None, "--no-input needs the first platform administrator"),
        (("--admin-email", "not an address"), PASSWORD, "'not an address' is not an e-mail address."),
        (("--admin-email", "it@commune.test"), "12345", "The password is refused: This password is too short."),
    ],
)
def test_without_a_valid_first_administrator_nothing_is_installed(
    tmp_path: Path, arguments: tuple[str, ...], password: str | None, said: str
) -> None:
    result = _install(tmp_path, "--no-input", *arguments, WASL_ADMIN_PASSWORD=password)
    assert result.returncode != 0
    assert said in _one_line(result.stderr)
    assert _nothing_done(tmp_path)


@pytest.mark.slow
def test_without_a_terminal_it_says_how_to_give_the_administrator(tmp_path: Path) -> None:
    result = _install(tmp_path)
    assert result.returncode != 0
    assert "No terminal to ask for the first platform administrator" in _one_line(result.stderr)
    assert _nothing_done(tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to give the data directory to another user")
def test_root_does_not_write_into_the_service_users_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    os.chown(data_dir, 65534, 65534)  # nobody: the user the services would run as
    result = _install(data_dir, "--no-input", "--admin-email", "it@commune.test", WASL_ADMIN_PASSWORD=PASSWORD)
    assert result.returncode != 0
    line = _one_line(result.stderr)
    assert "install runs as root, but" in line and "belongs to nobody: run it as nobody" in line
    assert _nothing_done(data_dir)


@pytest.mark.slow
def test_installed_twice_the_second_run_redoes_nothing_and_says_so(tmp_path: Path) -> None:
    first = _install(tmp_path, "--no-input", "--admin-email", "IT@Commune.test", WASL_ADMIN_PASSWORD=PASSWORD)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1/5 Database: applying" in first.stdout
    assert "2/5 Static files: " in first.stdout and "static files copied" in first.stdout
    assert f"3/5 PKI: created in {tmp_path / 'pki'}" in first.stdout
    assert "Back the directory up now" in first.stdout and "can no longer be verified" in first.stdout
    assert "4/5 Platform administrator: created it@commune.test" in first.stdout
    assert re.search(r"5/5 System checks \(with --deploy\): (no issue|0 error)", first.stdout)
    assert "Next: start the web server and the worker" in first.stdout and "restart" not in first.stdout
    assert (tmp_path / "pki" / "ca.key.pem").stat().st_mode & 0o077 == 0
    assert (tmp_path / "static" / "admin" / "js" / "autocomplete.js").is_file()
    ca_before = (tmp_path / "pki" / "ca.cert.pem").read_bytes()

    second = _install(tmp_path, "--no-input", "--admin-email", "someone.else@commune.test")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "1/5 Database: up to date, no migration to apply (skipped)." in second.stdout
    assert "2/5 Static files: 0 static files copied" in second.stdout and "(skipped: all up to date)" in second.stdout
    assert "3/5 PKI: exists in" in second.stdout and "left unchanged (skipped)" in second.stdout
    assert (
        "4/5 Platform administrator: it@commune.test already (skipped; --admin-email someone.else@commune.test "
        "ignored)" in second.stdout
    )
    # The second run is how an upgrade is installed: the services must be restarted to run it.
    assert "Next: restart the web server and the worker" in second.stdout
    assert "systemctl restart wasl-web wasl-worker" in second.stdout and "Next: start" not in second.stdout
    assert (tmp_path / "pki" / "ca.cert.pem").read_bytes() == ca_before
    with sqlite3.connect(tmp_path / "wasl.sqlite3") as db:
        admins = db.execute("SELECT email FROM tenancy_user WHERE is_superuser").fetchall()
        audited = db.execute(
            "SELECT count(*) FROM audit_auditevent WHERE action = 'account.platform_admin_created'"
        ).fetchone()
    assert admins == [("it@commune.test",)] and audited == (1,)


class _Terminal:
    """``install`` in a pseudo-terminal of its own, as a person runs it."""

    def __init__(self, data_dir: Path) -> None:
        self.master, slave = os.openpty()

        def controlling_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            [*MANAGE, "install"],
            cwd=ROOT,
            env=_environment(data_dir),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            preexec_fn=controlling_terminal,  # getpass reads the controlling terminal
        )
        os.close(slave)
        self.screen = ""
        self._read_up_to = 0  # what was already waited for

    def wait_for(self, text: str, seconds: float = 120) -> None:
        """Wait until ``text`` is shown after what was waited for before."""
        deadline = time.monotonic() + seconds
        while text not in self.screen[self._read_up_to :]:
            assert time.monotonic() < deadline, f"{text!r} not shown:\n{self.screen}"
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # the command ended
                    assert text in self.screen[self._read_up_to :], f"{text!r} not shown:\n{self.screen}"
        self._read_up_to = self.screen.index(text, self._read_up_to) + len(text)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")


@pytest.mark.slow
def test_in_a_terminal_it_asks_for_the_first_administrator_until_the_answers_are_good(
    tmp_path: Path, migrated_template: tuple[str, str] | None
) -> None:
    # The questions come before the migrations, which test_installed_twice_… applies: this
    # installation's database starts as a copy of the run's migrated template when it has one.
    if migrated_template is not None and migrated_template[0] == "sqlite":
        shutil.copyfile(migrated_template[1], tmp_path / "wasl.sqlite3")
    terminal = _Terminal(tmp_path)
    try:
        terminal.wait_for("E-mail address: ")
        terminal.type("not-an-address")
        terminal.wait_for("'not-an-address' is not an e-mail address.")
        terminal.type("it@commune.test")
        terminal.wait_for("Full name: ")
        terminal.type("Samira Alaoui")
        terminal.wait_for("Password: ")
        terminal.type("short")
        terminal.wait_for("Password (again): ")
        terminal.type("short")
        terminal.wait_for("The password is refused: This password is too short.")
        terminal.wait_for("Password: ")
        terminal.type(PASSWORD)
        terminal.wait_for("Password (again): ")
        terminal.type(PASSWORD + "x")
        terminal.wait_for("The two passwords differ.")
        # Only once asked: getpass discards what was typed before it turned the echo off.
        terminal.wait_for("Password: ")
        terminal.type(PASSWORD)
        terminal.wait_for("Password (again): ")
        terminal.type(PASSWORD)
        terminal.wait_for("Wasl is installed")
        assert terminal.process.wait(timeout=60) == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
        os.close(terminal.master)
    assert PASSWORD not in terminal.screen  # never echoed
    assert "4/5 Platform administrator: created it@commune.test" in terminal.screen
    with sqlite3.connect(tmp_path / "wasl.sqlite3") as db:
        assert db.execute("SELECT full_name FROM tenancy_user WHERE is_superuser").fetchall() == [("Samira Alaoui",)]


def test_the_install_guide_names_files_that_exist_and_the_settings_file_has_its_variables() -> None:
    guide = (ROOT / "docs" / "install.md").read_text()
    readme = (ROOT / "README.md").read_text()
    named = set(re.findall(r"(?:/opt/wasl/|\.\./)?(contrib/[\w./-]+[\w/])", guide + readme))
    assert {"contrib/wasl.env", "contrib/systemd/wasl-web.service", "contrib/caddy/Caddyfile"} <= named
    for path in named:
        assert (ROOT / path).exists(), f"{path} is named by the install guide or the README but does not exist"
    settings_file = (ROOT / "contrib" / "wasl.env").read_text()
    in_table = set(re.findall(r"^\| `(WASL_[A-Z_]+)` \|", guide, re.M))
    assert {"WASL_SECRET_KEY", "WASL_PUBLIC_URL", "WASL_DATABASE_URL", "WASL_TRUSTED_PROXIES"} <= in_table
    for name in in_table:
        assert re.search(rf"^{name}=", settings_file, re.M), f"{name} is in the guide's table, not in contrib/wasl.env"
    assert "install-production:" in (ROOT / "Makefile").read_text()
    assert (
        "runuser -u wasl -- make install-production" in guide and "runuser -u wasl -- make install-production" in readme
    )
