"""``manage.py install``: make a configured machine a working Wasl installation, the first time
and after every upgrade.

It reads the configuration (the ``WASL_*`` variables, docs/install.md) and refuses, before
changing anything, when something it needs is missing or wrong: the secret key (refused by the
settings themselves), the host names and the public URL, the data directory's owner, the database
(reached once), and the first platform administrator's address and password. Then, in order:

1. migrates the database;
2. collects the static files into ``STATIC_ROOT`` (whitenoise serves them from there);
3. creates the installation PKI when there is none (``pki_init``), and says where its keys are;
4. creates the first platform administrator when there is none;
5. runs the system checks, the deployment ones included: last, because on a new machine the
   checks about migrations and the PKI only pass once steps 1 and 3 are done.

A step with nothing to do says so and is skipped: running it again does no harm.
"""

from __future__ import annotations

import getpass
import logging
import os
import pwd
import shutil
import sys
import time
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from django.core.validators import validate_email
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from core.checks import check_production_settings, check_public_url_host
from documents.convert import converter as office_converter
from documents.text_layers import ocr_unavailable_reason
from operations.backup.create import redact
from operations.backup.database import ProgramMissing, pg_program
from operations.readiness import describe
from tenancy.models import User
from tenancy.services import platform_admin_create
from trust.pki import CA_KEY, KEYSTORE_KEY, SEALS_DIR, TSA_KEY, Pki

# The first administrator's password, for --no-input: an argument would be visible to every
# user of the machine (ps); the environment of a process is not.
PASSWORD_VARIABLE = "WASL_ADMIN_PASSWORD"  # noqa: S105 (the name of a variable, not a password)
STEPS = 5


@dataclass(frozen=True)
class NewAdmin:
    email: str
    password: str
    full_name: str


class Command(BaseCommand):
    help = (
        "Install or update this Wasl installation: check the configuration, migrate, collect the static "
        "files, create the PKI and the first platform administrator when missing, run the system checks. "
        "Idempotent (docs/install.md)."
    )

    # The system checks run at the end, once migrations and the PKI are in place (see above).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help=f"Ask nothing: the first platform administrator is --admin-email, its password {PASSWORD_VARIABLE}.",
        )
        parser.add_argument("--admin-email", default="", help="E-mail address of the first platform administrator.")
        parser.add_argument(
            "--admin-name",
            default="",
            help="Full name of the first platform administrator (default: asked, or "
            "'Platform administrator' with --no-input).",
        )

    @no_translations  # the operator's messages, and Django's (password rules), in English
    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        self._preflight()
        admins = self._platform_admins()
        new_admin = None if admins else self._ask_admin(options)

        self._migrate()
        self._collect_static()
        self._pki()
        self._admin(admins, new_admin, given=options["admin_email"])
        errors = self._checks()
        if errors:
            raise CommandError(
                f"The system checks found {errors} error(s), listed above: fix them, then run install again "
                "(what was done is kept and skipped)."
            )
        self._tools()
        self.stdout.write(self.style.SUCCESS(f"Wasl is installed ({time.monotonic() - started:.0f} s)."))
        if admins:  # installed before: this run is an upgrade (or a repair)
            self.stdout.write(
                "Next: restart the web server and the worker, so that they run this code: "
                "systemctl restart wasl-web wasl-worker (docs/install.md, 'One command')."
            )
        else:
            self.stdout.write(
                f"Next: start the web server and the worker (docs/install.md, 'Keep it running'), then sign in at "
                f"{settings.PUBLIC_URL}/admin/ to create the administrations and their staff."
            )

    # -- before anything changes ----------------------------------------------------------

    def _preflight(self) -> None:
        if settings.DEMO:
            raise CommandError(
                "This is the demo's configuration (WASL_DEMO, or a data directory make run made): install is for "
                "a real installation. Unset WASL_DEMO, set WASL_SECRET_KEY and a data directory of its own."
            )
        # The configuration's own checks, as the web server runs them at start (core.checks).
        problems = [*check_production_settings(None), *check_public_url_host()]
        errors = [problem for problem in problems if problem.is_serious()]
        if errors:
            raise CommandError("; ".join(describe(error) for error in errors))
        self._check_data_directory()
        try:
            connection.ensure_connection()
        except DatabaseError as exc:
            reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            raise CommandError(
                f"The database cannot be reached ({redact('WASL_DATABASE_URL', settings.DATABASE_URL)}): {reason}. "
                "Check WASL_DATABASE_URL, and that PostgreSQL runs and has that role and database "
                "(docs/install.md, 'The database')."
            ) from None
        self.stdout.write(f"Configuration of {settings.PUBLIC_URL}:")
        self.stdout.write(f"  data directory  {settings.DATA_DIR}")
        self.stdout.write(f"  database        {self._database()}")
        self.stdout.write(f"  PKI             {settings.PKI_DIR}")

    def _check_data_directory(self) -> None:
        """The files install writes (keys above all, mode 0600) must belong to the user the
        services run as: refuse root writing into a directory that belongs to another user."""
        data_dir = Path(settings.DATA_DIR)
        me = pwd.getpwuid(os.geteuid()).pw_name
        if data_dir.exists() and os.geteuid() == 0 and data_dir.stat().st_uid != 0:
            owner = pwd.getpwuid(data_dir.stat().st_uid).pw_name
            raise CommandError(
                f"install runs as root, but {data_dir} belongs to {owner}: run it as {owner} "
                f"(runuser -u {owner} -- make install-production), so that the services can read what it creates."
            )
        pki_dir = Path(settings.PKI_DIR)
        written = [data_dir, Path(settings.STATIC_ROOT), Path(settings.FILES_DIR)]
        if not Pki.exists(pki_dir):
            written.append(pki_dir)
        for path in written:
            existing = path
            while not existing.exists():
                existing = existing.parent
            if not os.access(existing, os.W_OK):
                raise CommandError(
                    f"{existing} cannot be written by {me}, who runs install: give it to the user the services "
                    f"run as (chown -R {me}: {data_dir}), or run install as its owner."
                )

    def _database(self) -> str:
        config = connection.settings_dict
        if connection.vendor == "sqlite":
            return f"SQLite {config['NAME']}"
        where = config["HOST"] or "the local socket"
        if config["PORT"]:
            where += f":{config['PORT']}"
        role = config["USER"] or pwd.getpwuid(os.geteuid()).pw_name
        return f"PostgreSQL {config['NAME']} on {where}, as {role}"

    def _platform_admins(self) -> list[str]:
        if User._meta.db_table not in connection.introspection.table_names():
            return []
        return list(
            User.objects.filter(is_superuser=True, is_active=True).order_by("pk").values_list("email", flat=True)
        )

    def _ask_admin(self, options: dict[str, Any]) -> NewAdmin:
        """The first platform administrator, asked (or read from the options) and checked before
        anything changes."""
        interactive = options["interactive"]
        email = options["admin_email"].strip().lower()
        name = options["admin_name"].strip()
        password = os.environ.get(PASSWORD_VARIABLE, "")
        if not interactive and not (email and password):
            raise CommandError(
                f"--no-input needs the first platform administrator: --admin-email ADDRESS, and its password in "
                f"the environment variable {PASSWORD_VARIABLE}."
            )
        if interactive and not sys.stdin.isatty() and not (email and password):
            raise CommandError(
                "No terminal to ask for the first platform administrator: run install in a terminal, or give "
                f"--no-input --admin-email ADDRESS with its password in {PASSWORD_VARIABLE}."
            )
        if interactive and not (email and password):
            self.stdout.write("The first platform administrator (signs in at /admin/ to create the administrations):")
        while True:
            if not email:
                email = input("  E-mail address: ").strip().lower()
            problem = self._email_problem(email)
            if problem:
                if not interactive:
                    raise CommandError(problem)
                self.stderr.write(f"  {problem}")
                email = ""
                continue
            break
        if not name:
            name = (input("  Full name: ").strip() if interactive else "") or "Platform administrator"
        while True:
            if not password:
                password = getpass.getpass("  Password: ")
                if password != getpass.getpass("  Password (again): "):
                    self.stderr.write("  The two passwords differ.")
                    password = ""
                    continue
            try:
                validate_password(password, User(email=email, full_name=name))
            except ValidationError as exc:
                problem = "The password is refused: " + " ".join(exc.messages)
                if not interactive or os.environ.get(PASSWORD_VARIABLE):
                    raise CommandError(problem) from None
                self.stderr.write(f"  {problem}")
                password = ""
                continue
            return NewAdmin(email=email, password=password, full_name=name)

    def _email_problem(self, email: str) -> str:
        try:
            validate_email(email)
        except ValidationError:
            return f"{email!r} is not an e-mail address."
        if User._meta.db_table in connection.introspection.table_names() and User.objects.filter(email=email).exists():
            return f"An account already uses {email}: choose another address for the platform administrator."
        return ""

    # -- the steps ------------------------------------------------------------------------

    def _step(self, number: int, text: str) -> None:
        self.stdout.write(f"{number}/{STEPS} {text}")

    def _migrate(self) -> None:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if not plan:
            self._step(1, "Database: up to date, no migration to apply (skipped).")
            return
        self._step(1, f"Database: applying {len(plan)} migrations…")
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"    done in {time.monotonic() - started:.0f} s.")

    def _collect_static(self) -> None:
        output = StringIO()
        call_command("collectstatic", interactive=False, verbosity=1, stdout=output)
        summary = (output.getvalue().strip().splitlines() or ["done"])[-1].rstrip(".")
        skipped = " (skipped: all up to date)" if summary.startswith("0 static files copied") else ""
        self._step(2, f"Static files: {summary}{skipped}.")

    def _pki(self) -> None:
        directory = Path(settings.PKI_DIR)
        if Pki.exists(directory):
            pki = Pki.load(directory)
            fingerprint = pki.ca_cert.fingerprint(hashes.SHA256()).hex(":").upper()
            self._step(3, f"PKI: exists in {directory}, left unchanged (skipped). Root CA SHA-256 {fingerprint}")
            self.stdout.write("    Keep backing it up with the rest (manage.py backup).")
            return
        output = StringIO()
        call_command("pki_init", stdout=output)
        self._step(3, f"PKI: created in {directory}.")
        for line in output.getvalue().strip().splitlines()[1:]:
            self.stdout.write(f"    {line}")
        owner = pwd.getpwuid(os.geteuid()).pw_name
        self.stdout.write(
            f"    Its private keys are files there, mode 0600, readable by {owner} only:\n"
            f"      {CA_KEY:<13} the root CA's key, which issues each administration's seal\n"
            f"      {TSA_KEY:<13} the timestamping unit's key\n"
            f"      {SEALS_DIR + '/':<13} the administrations' seals, added as administrations are created\n"
            f"      {KEYSTORE_KEY:<13} encrypts the signatories' keys kept in the database (made on first use)\n"
            f"    Back the directory up now and keep the copy away from this machine, locked away: every\n"
            f"    `manage.py backup` archive holds it (docs/operations.md). If it is lost, the receipts and\n"
            f"    letters sealed so far can no longer be verified here, new seals come from another root,\n"
            f"    and the signatories' keys kept in the database cannot be opened."
        )

    def _admin(self, admins: list[str], new_admin: NewAdmin | None, *, given: str) -> None:
        if new_admin is None:
            ignored = f"; --admin-email {given} ignored" if given and given.lower() not in admins else ""
            self._step(
                4,
                f"Platform administrator: {', '.join(admins)} already (skipped{ignored}). "
                "Add others with manage.py createsuperuser or in /admin/.",
            )
            return
        platform_admin_create(
            actor=None, email=new_admin.email, password=new_admin.password, full_name=new_admin.full_name
        )
        self._step(4, f"Platform administrator: created {new_admin.email}; it signs in at {settings.PUBLIC_URL}/admin/")

    def _checks(self) -> int:
        """Every system check, the deployment ones included; the number of errors."""
        issues = [
            issue
            for issue in checks.run_checks(include_deployment_checks=True, databases=[connection.alias])
            if not issue.is_silenced()
        ]
        errors = [issue for issue in issues if issue.is_serious()]
        warnings = [issue for issue in issues if not issue.is_serious()]
        if not issues:
            self._step(5, "System checks (with --deploy): no issue.")
            return 0
        self._step(5, f"System checks (with --deploy): {len(errors)} error(s), {len(warnings)} warning(s):")
        for issue in errors + warnings:
            level = "ERROR" if issue.is_serious() else "WARNING"
            (self.stderr if issue.is_serious() else self.stdout).write(f"    {level} {describe(issue)}")
        return len(errors)

    def _tools(self) -> None:
        """Programs Wasl calls, not Python packages: what is missing is said with what it costs."""
        # OCRmyPDF's import greets the log through pikepdf; not news for the operator.
        logging.getLogger("pikepdf._core").setLevel(logging.WARNING)
        missing = []
        if ocr_unavailable_reason():
            missing.append(
                f"OCR of scans: {ocr_unavailable_reason()} (apt-get install tesseract-ocr tesseract-ocr-ara "
                "tesseract-ocr-fra ghostscript)"
            )
        if shutil.which("pdftotext") is None:
            missing.append("signature places of the parapheur: pdftotext (apt-get install poppler-utils)")
        if office_converter() is None:
            missing.append("office documents in the parapheur: soffice (apt-get install libreoffice-writer-nogui)")
        if connection.vendor == "postgresql":
            try:
                pg_program("pg_dump")
            except ProgramMissing:
                missing.append("backups: pg_dump (apt-get install postgresql-client)")
        for line in missing:
            self.stdout.write(f"Not installed, so unavailable: {line}.")
