"""Directional controls typed in a subject, a name or a text stay in what was typed but never
reorder what pages, e-mails and PDFs show around them.

A hostile world: a depositor named with U+202E RIGHT-TO-LEFT OVERRIDE and an unterminated
U+2067 RIGHT-TO-LEFT ISOLATE, a subject with an override and a stray U+2069 POP DIRECTIONAL
ISOLATE (which would close the page's own isolate), a text over several lines, an
administration, a service and a procedure named the same way, a note, a reply, a parapheur
folder. Every page where these show is read as a browser would: every text and attribute must
close what it opens, and a control may only stand inside a ``<bdi>`` element, an element with
a ``dir``, or between isolating characters.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from typing import TypedDict

import pytest
from django.core import mail
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from core.bidi import FSI, PDF, PDI, RLI, RLO, closed
from documents import storage
from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from parapheur import services as parapheur
from parapheur.models import Folder, StepKind
from parapheur.services import StepSpec
from parapheur.testing import document
from registry.models import Correspondence, Receipt
from registry.receipts import receipt_email, receipt_issue
from registry.services import Party
from search.services import index_sync
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_service, make_staff
from workflow import services
from workflow.models import Case, CaseEvent, Procedure, Reply
from workflow.notify import case_event_email
from workflow.services import LetterText
from workflow.testing import make_procedure

Role = Membership.Role
NAME = RLO + "Ahmed " + RLI + "Alami"
SUBJECT = "Demande " + RLO + "gnp.exe" + PDI + " de permis " + RLI + "n° 7"
BODY = "Ligne " + RLO + "une\nLigne deux" + PDI + "\n" + RLI + "trois"
EXPLICIT = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
DIRECTIONAL = EXPLICIT | {"\u061c", "\u200e", "\u200f"}
ISOLATE_OPENERS = frozenset("\u2066\u2067\u2068")
VOID = frozenset(("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"))
# Where text is edited, not shown (a form field keeps what was typed), or shown alone on its own
# line by the browser (a drop-down's choices).
EDITED = frozenset(("textarea", "option", "script", "style"))


def leaks(text: str, *, in_isolating_element: bool) -> list[str]:
    """What in ``text`` could reorder the text after it: controls left open, closing controls
    that match nothing, and (outside an isolating element) controls not between isolating
    characters."""
    problems = []
    if closed(text) != text:
        problems.append("not closed")
    if not in_isolating_element:
        depth = 0
        for char in text:
            if char in ISOLATE_OPENERS:
                depth += 1
            elif char == PDI:
                depth -= 1
            elif char in DIRECTIONAL and depth == 0:
                problems.append(f"U+{ord(char):04X} outside an isolate")
    return problems


class BidiChecker(HTMLParser):
    """Reads a page as a browser orders its text: the text of a ``<bdi>`` (or of an element with
    a ``dir``) is one isolated run, inline elements inside it included, where a ``<br>`` ends a
    paragraph; text outside such elements is checked node by node; attributes one by one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, list[str] | None]] = []  # (tag, the run's text if it isolates)
        self.problems: list[str] = []
        self.controls_seen = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name != "value":
                self._check(f"<{tag} {name}>", value, in_isolating_element=False)
        if tag == "br":
            self.handle_data("\n")
        elif tag not in VOID:
            isolates = tag == "bdi" or any(name == "dir" for name, _ in attrs)
            self.open.append((tag, [] if isolates else None))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:
                for closed_tag, run in reversed(self.open[i:]):
                    if run is not None:
                        self._check(closed_tag, "".join(run), in_isolating_element=True)
                del self.open[i:]
                return

    def handle_data(self, data: str) -> None:
        if any(tag in EDITED for tag, _ in self.open):
            return
        runs = [run for _, run in self.open if run is not None]
        if runs:
            runs[-1].append(data)
        else:
            self._check(" > ".join(tag for tag, _ in self.open[-3:]), data, in_isolating_element=False)

    def _check(self, where: str, text: str, *, in_isolating_element: bool) -> None:
        if not DIRECTIONAL.isdisjoint(text):
            self.controls_seen += 1
            self.problems += [
                f"{where}: {problem}: {text[:80]!r}"
                for problem in leaks(text, in_isolating_element=in_isolating_element)
            ]


def assert_isolated(html: str, *, expected: tuple[str, ...], where: str = "") -> None:
    checker = BidiChecker()
    checker.feed(html)
    checker.close()
    assert not checker.problems, where + "\n" + "\n".join(checker.problems)
    assert checker.controls_seen, f"{where} shows none of the hostile values"
    for text in expected:
        assert text in html, f"{where}: {text}"


class Hostile(TypedDict):
    c: Correspondence
    receipt: Receipt
    reply: Reply
    folder: Folder
    agent: User
    head: User


@pytest.fixture
def hostile(commune: Administration, citizen: User, clerk: User, commune_admin: User) -> Hostile:
    commune.name_fr = "Commune " + RLO + "de Test"
    commune.name_ar = "جماعة " + RLI + "الاختبار"
    commune.save()
    citizen.full_name = NAME
    citizen.save()
    urb = make_service(commune, "URB", name_fr="Urbanisme " + RLO + "xuaT", name_ar="التعمير " + RLO + "x")
    agent = make_staff(commune, Role.AGENT, "agent@commune.ma", full_name="Agent " + RLO + "tnegA")
    Membership.objects.filter(user=agent).update(service=urb)
    head = make_staff(commune, Role.HEAD, "head@commune.ma", full_name="Chef " + RLI + "Service")
    make_procedure(commune, service=urb)
    Procedure.objects.filter(code="URB-PC").update(name_fr="Permis " + RLO + "eriurtsnoc")
    registration = services.request_register(
        actor=citizen,
        administration=commune,
        channel="online",
        sender=Party.of_account(citizen),
        subject=SUBJECT,
        body=BODY,
        files=check_files([bytes_upload(pdf_bytes(text="plan"), "plan" + RLO + "gnp.exe")]),
        procedure_code="URB-PC",
    )
    c = registration.correspondence
    assert registration.receipt is not None
    receipt = receipt_issue(receipt_id=registration.receipt.pk)
    if not Case.objects.get(pk=c.pk).service_id:
        services.case_assign(actor=clerk, case_id=c.pk, service=urb)
    services.case_comment(actor=agent, case_id=c.pk, text="Note " + RLO + "etoN\n" + PDI + "suite")
    reply = services.case_reply(actor=agent, case_id=c.pk, text=LetterText(body_fr=BODY, body_ar=BODY))
    folder = parapheur.folder_submit(
        actor=agent,
        administration=commune,
        title="Arrêté " + RLO + "étêrrA" + PDI,
        document=document(),
        document_name="arrete.pdf",
        steps=[StepSpec(kind=StepKind.VISA, people=(head.pk,))],
    )
    index_sync()
    return {"c": c, "receipt": receipt, "reply": reply, "folder": folder, "agent": agent, "head": head}


def test_desk_pages_isolate_what_people_typed(
    commune: Administration, clerk: User, commune_admin: User, hostile: Hostile, signed_in: Callable[..., Client]
) -> None:
    code, c = commune.code, hostile["c"]
    agent, head, folder = hostile["agent"], hostile["head"], hostile["folder"]
    pages = [
        (clerk, f"/desk/{code}/c/{c.pk}/", ("gnp.exe", "Ligne deux", "etoN", "xuaT", "eriurtsnoc", "tnegA")),
        (clerk, f"/desk/{code}/", ("gnp.exe", "Ahmed")),
        (agent, f"/desk/{code}/inbox/?box=done", ("gnp.exe", "Ahmed", "xuaT")),
        (clerk, f"/desk/{code}/search/?q=permis", ("gnp.exe", "Ahmed")),
        (commune_admin, f"/desk/{code}/services/", ("xuaT",)),
        (commune_admin, f"/desk/{code}/staff/", ("tnegA", "Service")),
        (commune_admin, f"/desk/{code}/procedures/", ("eriurtsnoc",)),
        (head, f"/desk/{code}/parapheur/", ("étêrrA", "tnegA")),
        (head, f"/desk/{code}/parapheur/{folder.pk}/", ("étêrrA", "tnegA")),
    ]
    for user, url, expected in pages:
        response = signed_in(user, "fr").get(url)
        assert response.status_code == 200, url
        assert_isolated(response.content.decode(), expected=(*expected, "de Test"), where=url)


def test_catalogue_and_delegation_pages_isolate_what_admins_typed(
    commune: Administration, commune_admin: User, hostile: Hostile, signed_in: Callable[..., Client]
) -> None:
    from datetime import date

    from parapheur.services import acts
    from workflow import catalogue

    code, head, agent = commune.code, hostile["head"], hostile["agent"]
    urb = agent.memberships.get().service
    assert urb is not None
    catalogue.letter_template_save(
        actor=commune_admin,
        administration=commune,
        template=None,
        values={
            "code": "ACC",
            "name": "Accord " + RLO + "droccA",
            "body_ar": "",
            "body_fr": "{number}",
            "is_active": True,
        },
    )
    catalogue.calendar_day_set(
        actor=commune_admin,
        administration=commune,
        day=date(2026, 3, 20),
        is_working=False,
        label="Fête " + RLO + "etêF",
    )
    catalogue.routing_rule_add(
        actor=commune_admin,
        administration=commune,
        service=urb,
        procedure=None,
        keywords="permis " + RLO + "x",
        position=1,
    )
    acts.delegation_create(
        actor=head, administration=commune, delegate=agent, starts_on=date(2099, 3, 1), ends_on=date(2099, 3, 9)
    )
    for user, url, expected in [
        (commune_admin, f"/desk/{code}/letters/", ("droccA",)),
        (commune_admin, f"/desk/{code}/calendar/?year=2026", ("etêF",)),
        (commune_admin, f"/desk/{code}/routing/", ("permis", "xuaT")),
        (head, f"/desk/{code}/parapheur/delegations/", ("tnegA",)),
        (agent, f"/desk/{code}/parapheur/delegations/", ("Service",)),
    ]:
        response = signed_in(user, "fr").get(url)
        assert response.status_code == 200, url
        assert_isolated(response.content.decode(), expected=(*expected, "de Test"), where=url)


def test_a_reminder_quotes_the_folder_title_isolated_in_its_notification_and_e_mail(
    commune: Administration,
    hostile: Hostile,
    settings: Settings,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    signed_in: Callable[..., Client],
) -> None:
    from core.testing import clock_at
    from parapheur.reminders import folders_remind

    settings.FOLDER_REMIND_DAYS = 0
    mail.outbox.clear()
    with clock_at("2099-01-05 10:00"), django_capture_on_commit_callbacks(execute=True):
        assert folders_remind() == 1
    (message,) = mail.outbox
    assert FSI + "Arrêté " + RLO + "étêrrA" + PDF + PDI in message.body
    assert not leaks(str(message.body), in_isolating_element=False)
    page = signed_in(hostile["head"], "fr").get("/notifications/").content.decode()
    assert_isolated(page, expected=("étêrrA",), where="/notifications/")


def test_a_page_title_isolates_its_value(
    commune: Administration, hostile: Hostile, signed_in: Callable[..., Client]
) -> None:
    html = (
        signed_in(hostile["head"], "fr").get(f"/desk/{commune.code}/parapheur/{hostile['folder'].pk}/").content.decode()
    )
    title = html[html.index("<title>") + 7 : html.index("</title>")]
    assert title.startswith(FSI + "Arrêté " + RLO + "étêrrA" + PDF + PDI)


def test_portal_and_public_pages_isolate_what_people_typed(
    commune: Administration, citizen: User, hostile: Hostile, client: Client, signed_in: Callable[..., Client]
) -> None:
    c, receipt = hostile["c"], hostile["receipt"]
    owner = signed_in(citizen, "fr")
    for url, expected in [
        ("/deposits/", ("gnp.exe",)),
        (f"/deposits/{c.pk}/", ("gnp.exe", "xuaT", "eriurtsnoc")),
        (f"/procedures/{commune.code}/", ("eriurtsnoc", "xuaT")),
    ]:
        response = owner.get(url)
        assert response.status_code == 200, url
        assert_isolated(response.content.decode(), expected=(*expected, "de Test"), where=url)
    public = client.get(f"/v/{receipt.token}", headers={"Accept-Language": "ar"})
    assert public.status_code == 200
    # The file name lost its control when it was deposited; the subject keeps it, isolated.
    assert_isolated(public.content.decode(), expected=("plangnp.exe", "gnp.exe de permis"))


def test_e_mails_isolate_what_people_typed_and_are_plain_text(
    commune: Administration, citizen: User, hostile: Hostile
) -> None:
    mail.outbox.clear()
    Receipt.objects.filter(pk=hostile["receipt"].pk).update(emailed_at=None)
    assert receipt_email(receipt_id=hostile["receipt"].pk)
    event = CaseEvent.objects.filter(case_id=hostile["c"].pk, public=True).order_by("pk").last()
    assert event is not None
    CaseEvent.objects.filter(pk=event.pk).update(emailed_at=None)
    assert case_event_email(event_id=event.pk)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        for text in (str(message.subject), str(message.body)):
            assert not leaks(text, in_isolating_element=False), text
        assert "&#x27;" not in message.body and "&amp;" not in message.body
    assert FSI + "جماعة " + RLI + "الاختبار" + PDI + PDI in mail.outbox[0].subject
    assert FSI + "التعمير " + RLO + "x" + PDF + PDI in mail.outbox[1].body


def test_account_e_mails_are_plain_text_with_the_name_isolated(
    commune: Administration,
    commune_admin: User,
    client: Client,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    signed_in: Callable[..., Client],
) -> None:
    name = "Zoé O'Brien & <Fils> " + RLO + "x"
    mail.outbox.clear()
    response = client.post(
        "/signup/",
        {"full_name": name, "email": "zoe@example.ma", "kind": "person", "password": "une-phrase-longue-2026"},
    )
    assert response.status_code == 302
    admin = signed_in(commune_admin, "fr")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            f"/desk/{commune.code}/staff/", {"email": "new@commune.ma", "full_name": name, "role": "clerk"}
        )
    assert response.status_code == 302
    client.post("/account/password-reset/", {"email": "zoe@example.ma"})
    verification, invitation, reset = mail.outbox
    for message in (verification, invitation, reset):
        for text in (str(message.subject), str(message.body)):
            assert not any(entity in text for entity in ("&#x27;", "&amp;", "&lt;", "&gt;", "&quot;")), text
            assert not leaks(text, in_isolating_element=False), text
    for message in (verification, invitation):
        assert FSI + "Zoé O'Brien & <Fils> " + RLO + "x" + PDF + PDI in message.body
    assert reset.to == ["zoe@example.ma"] and "/account/reset/" in reset.body


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def test_the_receipt_and_the_letter_show_the_values_and_everything_around_them(hostile: Hostile) -> None:
    receipt_pdf = storage.read_bytes(str(hostile["receipt"].blob_id))
    text = pdf_text(receipt_pdf)
    # What follows the name and the subject on the receipt is read in its own order.
    assert "Personne physique" in text and "Pièces jointes" in text and "plangnp.exe" in text
    assert hostile["c"].number in text
    letter = hostile["reply"].outgoing.attachments.order_by("position").first()
    assert letter is not None
    text = pdf_text(storage.read_bytes(letter.blob_id))
    assert hostile["reply"].outgoing.number in text and "Objet" in text and "Ligne deux" in text


def test_every_string_a_template_receives_is_isolated() -> None:
    from documents.rendering import _payload

    payload = _payload("signature_block", {"signer": NAME, "title_fr": "Directeur", "nested": [{"x": SUBJECT}]})
    assert (FSI + NAME + PDI + PDF + PDI).encode() in payload
    assert b'"title_fr": "Directeur"' in payload
    assert (FSI + "Demande " + RLO + "gnp.exe de permis " + RLI + "n° 7" + PDI + PDF + PDI).encode() in payload
    plain = _payload("signature_block", {"signer": "Ahmed Alami"})
    assert FSI.encode() not in plain
