"""The processing desk's pages, as a clerk, a head and an agent use them."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from core.testing import clock_at
from registry.models import Correspondence
from tenancy.models import Administration, Membership, Service, User
from tenancy.testing import make_service
from workflow.catalogue import DocumentLine
from workflow.models import CalendarDay, Case, LetterTemplate, Procedure, RoutingRule
from workflow.testing import deposit, make_procedure

Role = Membership.Role


@pytest.fixture
def urb(commune: Administration) -> Service:
    return make_service(commune, "URB", name_fr="Urbanisme")


@pytest.fixture
def requests(commune: Administration, citizen: User) -> list[Correspondence]:
    make_procedure(commune)
    return [deposit(commune, citizen, procedure="URB-PC", subject=f"طلب رقم {i}").correspondence for i in range(3)]


def test_the_clerk_assigns_from_the_inbox_in_bulk(
    commune: Administration, clerk: User, urb: Service, requests: list[Correspondence], signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    page = client.get(f"/desk/{commune.code}/inbox/?box=to_assign")
    assert page.status_code == 200
    html = page.content.decode()
    assert all(c.number in html for c in requests)
    response = client.post(
        f"/desk/{commune.code}/inbox/assign/", {"service": urb.pk, "cases": [c.pk for c in requests[:2]], "back": ""}
    )
    assert response.status_code == 302
    statuses = dict(Case.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in requests] == ["assigned", "assigned", "registered"]
    in_progress = client.get(f"/desk/{commune.code}/inbox/?box=in_progress").content.decode()
    assert requests[0].number in in_progress and requests[2].number not in in_progress


def test_inbox_and_detail_run_a_fixed_number_of_queries(
    commune: Administration,
    clerk: User,
    urb: Service,
    requests: list[Correspondence],
    django_assert_max_num_queries: DjangoAssertNumQueries,
    citizen: User,
    signed_in: Callable[..., Client],
) -> None:
    client = signed_in(clerk)
    client.get(f"/desk/{commune.code}/inbox/?box=to_assign")
    # session, user, memberships, services, procedures, calendar, the counts (one statement),
    # the page's keys, its rows
    with django_assert_max_num_queries(9):
        assert client.get(f"/desk/{commune.code}/inbox/?box=to_assign").status_code == 200
    for i in range(10):
        deposit(commune, citizen, subject=f"آخر {i}")
    with django_assert_max_num_queries(9):  # the same with 13 requests as with 3
        assert client.get(f"/desk/{commune.code}/inbox/?box=to_assign").status_code == 200
    with django_assert_max_num_queries(30):
        assert client.get(f"/desk/{commune.code}/c/{requests[0].pk}/").status_code == 200


def _fact(html_text: str, label: str) -> str:
    """The text of a fact of the page's facts list (``<dt>label</dt><dd>…</dd>``), tags removed."""
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd>(.*?)</dd>", html_text, re.DOTALL)
    assert found is not None, label
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(found.group(1))).split())


def test_the_correspondence_page_shows_the_due_date_and_the_days_left(
    commune: Administration, clerk: User, citizen: User
) -> None:
    make_procedure(commune, "URB-PC")
    with clock_at("2026-03-02 10:00"):  # 30 calendar days: due on Wednesday 2026-04-01
        c = deposit(commune, citizen, procedure="URB-PC").correspondence
    client = Client(headers={"Accept-Language": "fr"})
    client.force_login(clerk)
    with clock_at("2026-03-20 09:00"):
        page = client.get(f"/desk/{commune.code}/c/{c.pk}/").content.decode()
    assert _fact(page, "Échéance").replace("\u00a0", " ") == "2026-04-01 12 jours restants"
    with clock_at("2026-04-03 09:00"):
        late = client.get(f"/desk/{commune.code}/c/{c.pk}/").content.decode()
    assert _fact(late, "Échéance").replace("\u00a0", " ") == "2026-04-01 2 jours de retard"


def test_the_correspondence_page_offers_the_actions_the_user_may_take(
    commune: Administration,
    clerk: User,
    agent: User,
    auditor: User,
    urb: Service,
    requests: list[Correspondence],
    signed_in: Callable[..., Client],
) -> None:
    c = requests[0]
    clerk_page = signed_in(clerk).get(f"/desk/{commune.code}/c/{c.pk}/").content.decode()
    assert "act/assign/" in clerk_page and "/reply/" not in clerk_page
    auditor_page = signed_in(auditor).get(f"/desk/{commune.code}/c/{c.pk}/").content.decode()
    assert "act/assign/" not in auditor_page and "act/note/" not in auditor_page
    signed_in(clerk).post(f"/desk/{commune.code}/c/{c.pk}/act/assign/", {"assign-service": urb.pk})
    agent_page = signed_in(agent).get(f"/desk/{commune.code}/c/{c.pk}/").content.decode()
    assert "/reply/" in agent_page and "act/request_completion/" in agent_page


def _messages(page: str) -> list[str]:
    """The texts of the page's messages (``<p class="message …">``), unescaped, spaces as typed."""
    return [
        html.unescape(text).replace("\u00a0", " ") for text in re.findall(r'<p class="message [^"]*">(.*?)</p>', page)
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ar", ["المصلحة المكلفة: هذا الحقل مطلوب.", "ملاحظة داخلية: هذا الحقل مطلوب."]),
        ("fr", ["Service en charge : Ce champ est obligatoire.", "Note interne : Ce champ est obligatoire."]),
    ],
)
def test_an_error_of_a_case_form_names_its_field_in_the_readers_language(
    commune: Administration,
    clerk: User,
    requests: list[Correspondence],
    signed_in: Callable[..., Client],
    language: str,
    expected: list[str],
) -> None:
    client = signed_in(clerk, language)
    url = f"/desk/{commune.code}/c/{requests[0].pk}/"
    client.post(f"{url}act/assign/", {"assign-service": ""})
    client.post(f"{url}act/note/", {"note-text": ""})
    assert _messages(client.get(url).content.decode()) == expected


def test_a_reply_from_a_template_is_prefilled_and_sent(
    commune: Administration,
    clerk: User,
    agent: User,
    urb: Service,
    requests: list[Correspondence],
    citizen: User,
    signed_in: Callable[..., Client],
) -> None:
    template = LetterTemplate.objects.create(
        administration=commune,
        code="ACCORD",
        name="Accord",
        body_ar="جوابا على طلبكم عدد {number}",
        body_fr="En réponse à votre demande {number} du {registered_on}.",
    )
    c = requests[0]
    signed_in(clerk).post(f"/desk/{commune.code}/c/{c.pk}/act/assign/", {"assign-service": urb.pk})
    client = signed_in(agent)
    page = client.get(f"/desk/{commune.code}/c/{c.pk}/reply/?template={template.pk}").content.decode()
    assert f"En réponse à votre demande {c.number}" in page
    response = client.post(
        f"/desk/{commune.code}/c/{c.pk}/reply/",
        {"template": template.pk, "body_ar": "", "body_fr": f"Réponse {c.number}", "decision": "answer"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Case.objects.get(pk=c.pk).status == "answered"
    refused = client.post(f"/desk/{commune.code}/c/{c.pk}/reply/", {"body_fr": "encore", "decision": "answer"})
    assert refused.status_code == 400 and "alert error" in refused.content.decode()
    from registry.models import Correspondence

    assert Correspondence.objects.filter(direction="outgoing").count() == 1


def test_the_admin_edits_the_catalogue_routing_templates_and_calendar(
    commune: Administration, commune_admin: User, urb: Service, citizen: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(commune_admin)
    response = client.post(
        f"/desk/{commune.code}/procedures/new/",
        {
            "code": "eco-aut",
            "name_ar": "رخصة تجارية",
            "name_fr": "Autorisation commerciale",
            "delay_days": 45,
            "delay_kind": "calendar",
            "silence_rule": "acceptance",
            "fee": "200",
            "service": urb.pk,
            "is_active": "on",
            "documents": "عقد الكراء | Contrat de bail\nشهادة السجل التجاري | Certificat RC | OMPIC",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    procedure = Procedure.objects.get(code="ECO-AUT")
    assert [d.held_by_code for d in procedure.documents.all()] == ["", "OMPIC"]
    too_long = client.post(
        f"/desk/{commune.code}/procedures/new/",
        {
            "code": "X-1",
            "name_ar": "x",
            "name_fr": "x",
            "delay_days": 90,
            "delay_kind": "calendar",
            "silence_rule": "none",
            "fee": "0",
        },
    )
    assert too_long.status_code == 400 and not Procedure.objects.filter(code="X-1").exists()
    assert (
        client.post(f"/desk/{commune.code}/routing/", {"service": urb.pk, "keywords": "", "position": 1}).status_code
        == 400
    )
    assert (
        client.post(
            f"/desk/{commune.code}/routing/", {"service": urb.pk, "keywords": "commerce", "position": 1}
        ).status_code
        == 302
    )
    assert RoutingRule.objects.filter(administration=commune).count() == 1
    bad = client.post(f"/desk/{commune.code}/letters/", {"code": "T", "name": "T", "body_fr": "{unknown}"})
    assert bad.status_code == 400 and not LetterTemplate.objects.exists()
    # Eid moved by the moon sighting: 2026-03-20 is worked, 2026-03-23 is off.
    client.post(f"/desk/{commune.code}/calendar/", {"day": "2026-03-20", "is_working": "1", "label": "Aïd"})
    client.post(f"/desk/{commune.code}/calendar/", {"day": "2026-03-23", "is_working": "0", "label": "Aïd"})
    assert CalendarDay.objects.filter(administration=commune).count() == 2
    assert "2026-03-23" in client.get(f"/desk/{commune.code}/calendar/?year=2026").content.decode()
    make_procedure(commune, "WORK-5", delay_days=5, delay_kind="working")
    with clock_at("2026-03-16 10:00"):  # Mon; working days: 17,18,19,20 (worked now), 24 (23 off) → 24
        c = deposit(commune, citizen, procedure="WORK-5").correspondence
    assert str(Case.objects.get(pk=c.pk).due_on) == "2026-03-24"


def _completion_boxes(html: str) -> set[str]:
    return set(re.findall(r'name="completion-documents" value="(\d+)"', html))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "Certificat de propriété : document détenu par Conservation foncière"),
        ("ar", "شهادة الملكية: وثيقة بحوزة Conservation foncière"),
    ],
)
def test_a_document_held_by_another_administration_is_never_asked_of_the_person(
    commune: Administration,
    clerk: User,
    agent: User,
    urb: Service,
    requests: list[Correspondence],
    language: str,
    expected: str,
    signed_in: Callable[..., Client],
) -> None:
    """Law 55-19: the completion form offers only what the person may be asked for; a crafted
    post naming the held document gets the reason, in the reader's language, and changes nothing."""
    c = requests[0]
    signed_in(clerk).post(f"/desk/{commune.code}/c/{c.pk}/act/assign/", {"assign-service": urb.pk})
    documents = {d.name_fr: d for d in Procedure.objects.get(code="URB-PC").documents.all()}
    held = documents["Certificat de propriété"]
    client = Client(headers={"Accept-Language": language})
    client.force_login(agent)
    page = client.get(f"/desk/{commune.code}/c/{c.pk}/").content.decode()
    offered = _completion_boxes(page)
    assert offered == {str(documents["Plans architecturaux"].pk), str(documents["Demande signée"].pk)}
    response = client.post(
        f"/desk/{commune.code}/c/{c.pk}/act/request_completion/",
        {"completion-documents": [str(held.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    text = html.unescape(response.content.decode()).replace("\u00a0", " ")
    assert expected in text.replace("\u2068", "").replace("\u2069", "")
    case = Case.objects.get(pk=c.pk)
    assert case.status == "assigned" and not case.completion_requested
    assert not Correspondence.objects.filter(direction="outgoing").exists()
    # With a document that may be asked for beside it, still refused whole.
    client.post(
        f"/desk/{commune.code}/c/{c.pk}/act/request_completion/",
        {"completion-documents": [str(documents["Plans architecturaux"].pk), str(held.pk)]},
    )
    assert not Case.objects.get(pk=c.pk).completion_requested


def test_the_completion_form_is_not_offered_when_every_document_is_held_elsewhere(
    commune: Administration, clerk: User, agent: User, urb: Service, citizen: User, signed_in: Callable[..., Client]
) -> None:
    make_procedure(
        commune, "URB-CERT", documents=[DocumentLine("شهادة الملكية", "Certificat de propriété", "ANCFCC", "ANCFCC")]
    )
    c = deposit(commune, citizen, procedure="URB-CERT").correspondence
    signed_in(clerk).post(f"/desk/{commune.code}/c/{c.pk}/act/assign/", {"assign-service": urb.pk})
    page = signed_in(agent).get(f"/desk/{commune.code}/c/{c.pk}/").content.decode()
    assert "act/request_completion/" not in page and "/reply/" in page


def _register_row(html_text: str, number: str) -> str:
    rows = [row for row in re.findall(r"<tr>.*?</tr>", html_text, re.DOTALL) if number in row]
    assert len(rows) == 1
    return rows[0]


def _service_fact(html_text: str) -> str:
    found = re.search(r"<dt>Service</dt><dd>(.*?)</dd>", html_text, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_letter_page_and_the_register_name_the_service_in_charge(
    commune: Administration, clerk: User, urb: Service, requests: list[Correspondence]
) -> None:
    c = requests[0]  # deposited online: no service named, none in charge yet
    client = Client(headers={"Accept-Language": "fr"})
    client.force_login(clerk)
    page_url, register_url = f"/desk/{commune.code}/c/{c.pk}/", f"/desk/{commune.code}/"
    assert "Urbanisme" not in _service_fact(client.get(page_url).content.decode())
    client.post(f"{page_url}act/assign/", {"assign-service": urb.pk})
    assert "Urbanisme" in _service_fact(client.get(page_url).content.decode())
    assert "Urbanisme" in _register_row(client.get(register_url).content.decode(), c.number)
    client.post(f"{page_url}act/send_back/", {"back-reason": "Pas pour nous"})
    assert "Urbanisme" not in _service_fact(client.get(page_url).content.decode())
    assert "Urbanisme" not in _register_row(client.get(register_url).content.decode(), c.number)


def test_the_case_panel_says_how_many_days_are_left_then_how_many_late(
    commune: Administration, citizen: User, clerk: User, signed_in: Callable[..., Client]
) -> None:
    make_procedure(commune, "CAL-10", delay_days=10)
    with clock_at("2026-03-02 10:00"):
        c = deposit(commune, citizen, procedure="CAL-10").correspondence
    client = signed_in(clerk, "fr")
    url = f"/desk/{commune.code}/c/{c.pk}/"
    due = Case.objects.get(pk=c.pk).due_on
    assert due is not None
    with clock_at(f"{due.isoformat()} 09:00"):
        assert "0 jour restant" in client.get(url).content.decode()
    with clock_at(f"{due.replace(day=due.day - 3).isoformat()} 09:00"):
        assert "3 jours restants" in client.get(url).content.decode()
    with clock_at(f"{due.replace(day=due.day + 2).isoformat()} 09:00"):
        page = client.get(url).content.decode()
    assert "2 jours de retard" in page and "restant" not in page
