"""The README, followed as it is written: its "Run it" command, then the steps of "Try it" as each
persona, through HTTP, against the stack that command starts, and its shell command.

The test reads README.md: the command of "Run it", the accounts of the demo table, the paths,
the commands and the bold labels of the steps (translated, as the pages show them). A step the
README describes and the product does not do fails here.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import lxml.html
import pytest
import requests
from django.utils import translation
from django.utils.translation import gettext

from operations.processes import start_ticks
from operations.testing import ROOT, free_port
from trust.testing import sample_pdf

README = ROOT / "README.md"
STARTUP = 300.0  # seconds `make run` may take to install, migrate, seed and serve


# ---------------------------------------------------------------- reading the README


@dataclass
class Readme:
    text: str

    def section(self, title: str) -> str:
        found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", self.text, re.S | re.M)
        assert found, f"README.md has no section {title!r}"
        return found.group(1)

    def run_command(self) -> str:
        blocks = re.findall(r"```sh\n(.*?)```", self.section("Run it"), re.S)
        assert blocks, "Run it has no command"
        return blocks[0].strip()

    def accounts(self) -> dict[str, str]:
        rows = re.findall(r"^\|[^|]*\| `([^`]+@[^`]+)` \| `([^`]+)` \|$", self.section("Demo accounts"), re.M)
        return dict(rows)

    def step(self, number: int) -> str:
        steps = re.split(r"^(\d+)\. ", self.section("Try it"), flags=re.M)
        found = dict(zip(steps[1::2], steps[2::2], strict=True))
        return " ".join(found[str(number)].split())

    def labels(self, number: int) -> list[str]:
        """The bold words of step ``number``, each a label of the pages (an arrow separates two)."""
        return [part.strip() for bold in re.findall(r"\*\*(.+?)\*\*", self.step(number)) for part in bold.split("→")]


# What the suite's own environment holds that a person's terminal does not: Django's settings, and
# make's (under `make test`, a nested make announces "Leaving directory" after Wasl's last words).
FROM_THE_SUITE = {"DJANGO_SETTINGS_MODULE", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"}


def shown(label: str, language: str, **values: str) -> str:
    """``label`` (the English words the README uses) as the pages show it in ``language``."""
    with translation.override(language):
        return gettext(label) % values if values else gettext(label)


# ---------------------------------------------------------------- a person in a browser


@dataclass
class Page:
    url: str
    html: str

    @property
    def doc(self) -> Any:
        return lxml.html.fromstring(self.html)

    @property
    def text(self) -> str:
        """What the page says, its spaces folded."""
        return " ".join(self.doc.text_content().split())

    def link(self, text: str, *, href: str = "") -> str:
        """The address of the link whose text is ``text`` (and whose address holds ``href``)."""
        for a in self.doc.iter("a"):
            if " ".join(a.text_content().split()) == text and href in (a.get("href") or ""):
                return urljoin(self.url, a.get("href"))
        raise AssertionError(f"no link {text!r} ({href}) on {self.url}")

    def form(self, *, button: str = "", action: str = "", has: str = "") -> Any:
        """The form with the button ``button``, the action ending in ``action``, a field ``has``."""
        for form in self.doc.forms:
            buttons = [" ".join(b.text_content().split()) for b in form.iter("button")]
            if button and button not in buttons:
                continue
            if action and not (form.get("action") or "").endswith(action):
                continue
            if has and not form.xpath(f".//*[@name={has!r}]"):
                continue
            return form
        raise AssertionError(f"no form (button {button!r}, action {action!r}, field {has!r}) on {self.url}")

    def option(self, select: str, text: str) -> str:
        """The value of the option of ``select`` whose text holds ``text``."""
        for option in self.doc.xpath(f"//select[@name={select!r}]/option"):
            if text in option.text_content():
                return str(option.get("value"))
        raise AssertionError(f"no option {text!r} in {select!r} on {self.url}")


class Visitor:
    """One person: their cookies, their language, forms submitted as the page shows them."""

    def __init__(self, base: str, language: str) -> None:
        self.base, self.language = base, language
        self.http = requests.Session()
        self.http.headers["Accept-Language"] = language

    def open(self, path: str) -> Page:
        response = self.http.get(urljoin(self.base, path), timeout=60)
        assert response.status_code == 200, (path, response.status_code, response.text[:2000])
        return Page(response.url, response.text)

    def download(self, url: str) -> bytes:
        response = self.http.get(url, timeout=60)
        assert response.status_code == 200 and response.content.startswith(b"%PDF-"), (url, response.status_code)
        return response.content

    def submit(
        self,
        page: Page,
        form: Any,
        values: dict[str, Any] | None = None,
        files: dict[str, bytes] | None = None,
        *,
        press: str = "",
    ) -> Page:
        """Send ``form`` as shown, with ``values`` typed in and ``files`` chosen, by its button
        ``press`` (its first one by default)."""
        data: list[tuple[str, str]] = [(k, v) for k, v in form.form_values() if k not in (values or {})]
        for key, value in (values or {}).items():
            data += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
        buttons = [b for b in form.iter("button") if not press or " ".join(b.text_content().split()) == press]
        assert buttons, f"no button {press!r} in the form on {page.url}"
        if buttons[0].get("name"):
            data.append((buttons[0].get("name"), buttons[0].get("value") or ""))
        upload = {name: (f"{name}.pdf", content, "application/pdf") for name, content in (files or {}).items()}
        # As a browser does: a button's own formaction sends the form there.
        target = buttons[0].get("formaction") or form.get("action") or page.url
        response = self.http.post(urljoin(page.url, target), data=data, files=upload or None, timeout=120)
        assert response.status_code == 200, (page.url, response.status_code, response.text[:3000])
        return Page(response.url, response.text)

    def sign_in(self, email: str, password: str) -> Page:
        login = self.open("/login/")
        page = self.submit(login, login.form(has="password"), {"username": email, "password": password})
        assert "/login/" not in page.url, f"{email} could not sign in with the README's password"
        return page


# ---------------------------------------------------------------- the stack `make run` starts


class MakeRun:
    """The README's "Run it" command, in a terminal of its own, its output collected."""

    def __init__(self, command: str, port: int, environment: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [*shlex.split(command), f"PORT={port}"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # as a terminal's foreground job: Ctrl-C is SIGINT to its group
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.log:
            assert self.process.poll() is None, f"make run ended:\n{self.log}"
            assert time.monotonic() < deadline, f"{text!r} not printed within {seconds} s:\n{self.log}"
            time.sleep(0.2)

    def ctrl_c(self) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        finally:
            self._reader.join(timeout=5)


def _groups_alive(pgids: set[int]) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and start_ticks(int(entry.name)) is not None:
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[2]) in pgids:
                alive.append(int(entry.name))
    return alive


def test_every_bold_label_of_try_it_is_one_the_pages_show() -> None:
    """The README names buttons, links and tabs in bold, in the English of the catalogues: each
    must be a message the pages translate (an administration's code standing for its holder)."""
    readme = Readme(README.read_text(encoding="utf-8"))
    catalogue = (ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    messages = {"".join(re.findall(r'"(.*)"', block)) for block in re.findall(r'^msgid ((?:".*"\n)+)', catalogue, re.M)}
    steps = readme.section("Try it")
    labels = {
        part for number in range(1, len(re.findall(r"^\d+\. ", steps, re.M)) + 1) for part in readme.labels(number)
    }
    unknown = sorted(
        label
        for label in labels
        if label not in messages and re.sub(r"\b[A-Z]+-DEMO\b", "%(holder)s", label) not in messages
    )
    assert len(labels) > 20 and not unknown, unknown


# ---------------------------------------------------------------- the walk-through


@pytest.mark.slow
@pytest.mark.own_installations  # `make run` on a new data directory: SQLite, the embedded default
def test_the_readme_works_as_written_on_a_fresh_make_run(tmp_path: Path) -> None:
    readme = Readme(README.read_text(encoding="utf-8"))
    accounts = readme.accounts()
    command = readme.run_command()
    assert command == "make run"
    # A fresh checkout's terminal: nothing of the suite's configuration, only where the data goes
    # (a new directory: make run migrates its database, as on a new machine).
    data_dir = tmp_path / "var"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WASL_") and k not in FROM_THE_SUITE}
    environment.update(WASL_DATA_DIR=str(data_dir))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stack = MakeRun(command, port, environment)
    try:
        stack.wait_for("Press Ctrl-C to stop.", STARTUP)
        for email, password in accounts.items():
            assert f"{email}" in stack.log and password in stack.log, f"the banner does not give {email}"
        _walk_through(readme, accounts, base, environment, data_dir)
    finally:
        groups = {stack.process.pid}
        state = data_dir / "run" / "serve.json"
        if state.exists():
            import json

            groups |= {int(p["pid"]) for p in json.loads(state.read_text()).get("programs", {}).values()}
        status = stack.ctrl_c()
    # Ctrl-C stops everything, quietly.
    log = stack.log
    assert status == 0 or "Wasl stopped." in log, log
    assert log.rstrip().endswith("Wasl stopped."), log[-3000:]
    assert "SIGKILL" not in log and "press Ctrl+C again" not in log, log[-3000:]
    deadline = time.monotonic() + 15
    while _groups_alive(groups) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _groups_alive(groups), "make run left processes running"


def matched(pattern: str, text: str) -> re.Match[str]:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not found in:\n{text[:3000]}"
    return found


def _walk_through(readme: Readme, accounts: dict[str, str], base: str, environment: dict[str, str], data: Path) -> None:
    def person(email: str, language: str = "fr") -> Visitor:
        visitor = Visitor(base, language)
        visitor.sign_in(email, accounts[email])
        return visitor

    letter = sample_pdf("طلب — Demande")

    # 1. The citizen deposits correspondence, in Arabic, and downloads the sealed receipt.
    step = readme.step(1)
    assert readme.labels(1) == ["Deposit correspondence"]
    commune_ar = matched(r"pick \*([^*]+)\*", step).group(1)
    citizen = person("citizen@demo.ma", "ar")
    form_page = citizen.open(citizen.open("/").link(shown("Deposit correspondence", "ar")))
    deposit = citizen.submit(
        form_page,
        form_page.form(has="recipient"),
        {"recipient": form_page.option("recipient", commune_ar), "subject": "طلب شهادة السكنى"},
        {"attachments": letter},
    )
    first = matched(r"A-\d{4}-\d{6}", deposit.html).group(0)
    assert matched(r"/deposits/\d+/$", deposit.url)
    citizen.download(deposit.link(shown("Download the sealed receipt (PDF)", "ar")))

    # 3. The clerk: the register lists the deposit.
    clerk = person("clerk@demo.ma")
    register = clerk.open(clerk.open("/desk/").link(shown("Register", "fr")))
    assert first in register.html

    # 4. The auditor: the register log verifies, a checkpoint is sealed on demand; from the shell,
    #    the README's command checks every log, with no variable but where the data is.
    assert readme.labels(4) == ["Register log"]
    auditor = person("auditor@demo.ma")
    log_page = auditor.open(auditor.open("/desk/").link(shown("Register log", "fr")))
    verify, seal = shown("Verify the whole log now", "fr"), shown("Seal a checkpoint now", "fr")
    verified = auditor.submit(log_page, log_page.form(button=verify), press=verify)
    assert shown("The register log is intact.", "fr") in verified.text
    sealed = auditor.submit(verified, verified.form(button=seal), press=seal)
    assert shown("Checkpoint sealed at entry #%(position)d.", "fr").split("%(position)d")[0] in sealed.text
    shell = re.findall(r"`(\.venv/bin/python manage\.py [^`]+)`", readme.step(4))
    assert shell == [".venv/bin/python manage.py verify_register"]
    for line in shell:
        result = subprocess.run(
            shlex.split(line), cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ok COMMUNE-DEMO" in result.stdout and "All register logs verify." in result.stdout, result.stdout

    # 6. The processing desk.
    step = readme.step(6)
    catalogue_path = matched(r"open `(/procedures/[^`]+/)`", step).group(1)
    procedure = matched(r"for \*([A-Z-]+)\*", step).group(1)
    catalogue = citizen.open(catalogue_path)
    form_page = citizen.open(catalogue.link(shown("Deposit a request", "ar"), href=f"procedure={procedure}"))
    permit = citizen.submit(
        form_page, form_page.form(has="recipient"), {"subject": "رخصة البناء، القطعة 12"}, {"attachments": letter}
    )
    number = matched(r"A-\d{4}-\d{6}", permit.html).group(0)
    permit_page = permit.url
    assert procedure in permit.html and 'id="due-on"' in permit.html

    # The clerk's "To assign" holds the deposit of step 1, not the building permit (routed).
    assert "**Inbox → To assign**" in step
    inbox = clerk.open(clerk.open("/desk/").link(shown("Inbox", "fr")))
    to_assign = clerk.open(inbox.link(_box(inbox, shown("To assign", "fr")), href="box=to_assign"))
    assert first in to_assign.html and number not in to_assign.html
    case = clerk.open(to_assign.link(first))
    assigned = clerk.submit(
        case, case.form(button=shown("Assign", "fr")), {"assign-service": case.option("assign-service", "(EC)")}
    )
    assert first not in clerk.open(inbox.link(_box(inbox, shown("To assign", "fr")), href="box=to_assign")).html
    assert assigned.url == case.url

    # The head of urbanism gives the building permit to the agent the README names.
    agent_name = matched(r"\*\*Give to an agent\*\*: ([^.]+?)\.", step).group(1)
    head = person("head@demo.ma")
    inbox = head.open(head.open("/desk/").link(shown("Inbox", "fr")))
    in_progress = head.open(inbox.link(_box(inbox, shown("In progress", "fr")), href="box=in_progress"))
    case = head.open(in_progress.link(number))
    case_url = case.url
    head.submit(case, case.form(button=shown("Give", "fr")), {"agent-agent": case.option("agent-agent", agent_name)})

    # The agent asks ANCFCC for the certificate, then the citizen for the plans, once.
    agent = person("agent@demo.ma")
    case = agent.open(case_url)
    assert agent_name in case.html
    holder = matched(r"\*\*Ask (\S+) for it\*\*", step).group(1)
    case = agent.submit(case, case.form(button=shown("Ask %(holder)s for it", "fr", holder=holder)))
    agent.download(case.link(shown("Open the sealed copy", "fr")))
    completion = case.form(button=shown("Send the request", "fr"))
    plans = [
        box.get("value")
        for box in completion.xpath(".//input[@type='checkbox']")
        if "Plans" in box.getparent().text_content()
    ]
    assert plans, "the completion form does not offer the plans"
    agent.submit(case, completion, {"completion-documents": plans})
    follow = citizen.open(permit_page)
    complete_page = citizen.open(follow.link(shown("Send the documents", "ar")))
    completed = citizen.submit(
        complete_page, complete_page.form(has="attachments"), {}, {"attachments": sample_pdf("Plans")}
    )
    said = shown(
        "Your documents were registered under number %(number)s; the processing of your request resumes.", "ar"
    )
    assert said.split("%(number)s")[0].strip() in completed.text

    # The agent replies from the template the README names; the citizen downloads the letter.
    template = matched(r"from the \*([^*]+)\* template", step).group(1)
    case = agent.open(case_url)
    reply_page = agent.open(case.link(shown("Reply", "fr")))
    chosen = agent.open(f"{reply_page.url}?template={reply_page.option('template', template)}")
    answered = agent.submit(chosen, chosen.form(button=shown("Register, seal and send", "fr")))
    reply_number = matched(r"D-\d{4}-\d{6}", answered.html).group(0)
    follow = citizen.open(permit_page)
    assert reply_number in follow.html
    citizen.download(follow.link(shown("Download (sealed PDF)", "ar")))

    # Counter mail followed at /track/ with only what its receipt prints.
    track_path = matched(r"followed at `(/[^`]+)`", step).group(1)
    counter = clerk.open(clerk.open("/desk/").link(shown("Counter registration", "fr")))
    registered = clerk.submit(
        counter,
        counter.form(has="sender_name"),
        {"sender_name": "Ahmed Benali", "subject": "Demande de raccordement"},
        {"attachments": letter},
    )
    receipt = clerk.download(registered.link(shown("Download the sealed receipt (PDF)", "fr")))
    printed = _pdf_text(receipt, data)
    counter_number = matched(r"A-\d{4}-\d{6}", printed).group(0)
    tracking_code = matched(r"\b([A-Z2-9]{5}-[A-Z2-9]{5})\b", printed).group(1)
    anyone = Visitor(base, "ar")
    track = anyone.open(track_path)
    followed = anyone.submit(track, track.form(has="code"), {"number": counter_number, "code": tracking_code})
    assert counter_number in followed.html and 'id="case-status"' in followed.html

    # 9. Once-only documents: the company's commercial licence, OMPIC's agent answers by hand.
    step = readme.step(9)
    procedure = matched(r"for \*([A-Z-]+)\* from", step).group(1)
    company = person("company@demo.ma", "ar")
    form_page = company.open(
        company.open(catalogue_path).link(shown("Deposit a request", "ar"), href=f"procedure={procedure}")
    )
    licence = company.submit(
        form_page, form_page.form(has="recipient"), {"subject": "رخصة استغلال محل تجاري"}, {"attachments": letter}
    )
    licence_number = matched(r"A-\d{4}-\d{6}", licence.html).group(0)
    eco_email, holder = matched(r"\(`([^`]+)`\), \*\*Ask (\S+) for it\*\*", step).groups()
    eco = person(eco_email)
    inbox = eco.open(eco.open("/desk/").link(shown("Inbox", "fr")))
    case = eco.open(
        eco.open(inbox.link(_box(inbox, shown("In progress", "fr")), href="box=in_progress")).link(licence_number)
    )
    licence_case = case.url
    case = eco.submit(case, case.form(button=shown("Ask %(holder)s for it", "fr", holder=holder)))
    ompic_email = matched(r"as OMPIC's agent \(`([^`]+)`\)", step).group(1)
    ompic = person(ompic_email)
    requests_page = ompic.open(ompic.open("/desk/").link(shown("Document requests", "fr")))
    assert licence_number in requests_page.html
    deliver = requests_page.form(button=shown("Deliver (sealed)", "fr"))
    field = next(name for name in deliver.fields if name.endswith("-document"))
    ompic.submit(requests_page, deliver, {}, {field: sample_pdf("Registre de commerce")})
    eco.download(eco.open(licence_case).link(shown("Open the sealed copy", "fr")))
    # Who accessed my data: the citizen sees ANCFCC's delivery for her permit, the company OMPIC's.
    assert "**Who accessed my data**" in step
    for visitor, file_number in ((citizen, number), (company, licence_number)):
        accesses = visitor.open(visitor.open("/").link(shown("Who accessed my data", "ar")))
        assert file_number in accesses.text and shown("Delivered a document about you", "ar") in accesses.text


def _box(inbox: Page, label: str) -> str:
    """The text of an inbox's box link: its label and its count."""
    for a in inbox.doc.iter("a"):
        text = " ".join(a.text_content().split())
        if text.startswith(label + " ") and "box=" in (a.get("href") or ""):
            return text
    raise AssertionError(f"no box {label!r} on {inbox.url}")


def _pdf_text(pdf: bytes, where: Path) -> str:
    path = where / "printed.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
