"""The desk's search page and ``GET /api/v1/search``: the same search, for the people allowed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from api.testing import bearer
from registry.testing import counter_mail
from search.services import index_sync
from tenancy.models import Administration, Membership, User
from tenancy.testing import make_administration

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(commune: Administration, clerk: User) -> None:
    counter_mail(commune, clerk, "طلب رخصة البناء", body="أطلب رخصة البناء لقطعة أرضية بالحي الإداري.")
    counter_mail(commune, clerk, "Demande de certificat de résidence", body="Pour mon dossier de bourse.")
    counter_mail(commune, clerk, "تقرير سري", body="رخصة مشبوهة", confidential=True)
    index_sync()


def test_a_clerk_finds_a_letter_by_a_word_typed_without_hamza_and_sees_it_marked(
    indexed: None, clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    page = signed_in(clerk).get(f"/desk/{commune.code}/search/", {"q": "الاداري"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "طلب رخصة البناء" in html
    assert "<mark>بالحي</mark>" not in html and "<mark>الإداري</mark>" in html
    assert "Demande de certificat" not in html


def test_the_page_without_a_query_shows_the_form_only(
    indexed: None, clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    page = signed_in(clerk).get(f"/desk/{commune.code}/search/")
    assert page.status_code == 200
    assert "طلب رخصة البناء" not in page.content.decode()


def test_a_bad_date_range_is_refused_with_a_translated_message(
    indexed: None, clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    page = signed_in(clerk).get(
        f"/desk/{commune.code}/search/",
        {"q": "رخصة", "date_from": "2026-05-02", "date_to": "2026-05-01"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    html = page.content.decode()
    assert "La date de fin précède la date de début." in html
    assert "طلب رخصة البناء" not in html


def test_the_search_page_costs_a_fixed_number_of_queries(
    indexed: None, clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    client.get(f"/desk/{commune.code}/search/", {"q": "رخصة"})  # warm the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/desk/{commune.code}/search/", {"q": "رخصة"}).status_code == 200
    # session, user, memberships, services, procedures, count, page, audit, letters, attachments' text
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 10, statements


def test_the_api_answers_with_numbers_snippets_scores_and_the_total(
    indexed: None, clerk: User, commune: Administration
) -> None:
    answer = bearer(clerk).get("/api/v1/search", {"q": "residence"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 1 and not body["capped"] and body["page"] == 1 and body["order"] == "relevance"
    (hit,) = body["results"]
    assert hit["registration_number"].startswith("A-")
    assert hit["subject"] == "Demande de certificat de résidence"
    assert hit["subject_html"] == "Demande de certificat de <mark>résidence</mark>"
    assert hit["direction"] == "incoming" and hit["score"] > 0
    assert "registered_at" in hit and "snippet" in hit


def test_the_api_names_an_incoming_letters_sender_and_an_outgoing_letters_addressee(
    clerk: User, commune: Administration
) -> None:
    from registry.models import Direction

    counter_mail(commune, clerk, "Demande de permis", body="permis", sender_name="Ahmed Alaoui")
    counter_mail(commune, clerk, "Permis accordé", body="permis", direction=Direction.OUTGOING, sender_name="Salma")
    index_sync()
    hits = bearer(clerk).get("/api/v1/search", {"q": "permis"}).json()["results"]
    named = {hit["direction"]: (hit["sender"], hit["addressee"]) for hit in hits}
    assert named == {"incoming": ("Ahmed Alaoui", ""), "outgoing": ("", "Salma")}


def test_the_api_finds_by_registration_number(indexed: None, clerk: User, commune: Administration) -> None:
    from registry.models import Correspondence

    letter = Correspondence.objects.get(subject="طلب رخصة البناء")
    body = bearer(clerk).get("/api/v1/search", {"q": letter.number.lower()}).json()
    assert body["by_number"] and [hit["id"] for hit in body["results"]] == [letter.pk]


def test_the_api_refuses_bad_filters_with_a_clear_error(indexed: None, clerk: User) -> None:
    # Not a date at all: the schema says so (422), field named.
    answer = bearer(clerk).get("/api/v1/search", {"q": "x", "date_from": "yesterday"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_request" and error["field"] == "date_from"
    # A date of the right shape that is no day, or an end before the start: the form says why (400).
    answer = bearer(clerk).get("/api/v1/search", {"q": "x", "date_from": "2026-02-30"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_search" and error["field"] == "date_from"
    assert "date" in error["message"].lower()


@pytest.mark.parametrize("far", ["9999-12-31", "0001-01-01", "99999-01-01"])
def test_a_far_date_is_refused_not_a_server_error(
    indexed: None, clerk: User, commune: Administration, far: str, signed_in: Callable[..., Client]
) -> None:
    answer = bearer(clerk).get("/api/v1/search", {"q": "x", "date_to": far})
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "date_to"
    page = signed_in(clerk).get(f"/desk/{commune.code}/search/", {"q": "x", "date_to": far}, HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 200
    assert "1900-01-01" in page.content.decode() or "date valide" in page.content.decode()


def test_staff_of_several_administrations_say_which_one(indexed: None, clerk: User, commune: Administration) -> None:
    other = make_administration("COMMUNE-DEUX")
    Membership.objects.create(user=clerk, administration=other, role=Membership.Role.CLERK)
    client = bearer(clerk)
    assert client.get("/api/v1/search", {"q": "رخصة"}).json()["error"]["code"] == "administration_required"
    assert client.get("/api/v1/search", {"q": "رخصة", "administration": commune.code}).json()["total"] == 2


def test_an_outsider_finds_nothing_of_ours_in_their_own_administration(indexed: None, outsider: User) -> None:
    # Naming our administration is refused (tests/test_routes.py); searching their own finds nothing of ours.
    assert bearer(outsider).get("/api/v1/search", {"q": "رخصة"}).json()["total"] == 0


def test_an_agent_neither_finds_nor_counts_confidential_letters(
    indexed: None, agent: User, clerk: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    assert bearer(clerk).get("/api/v1/search", {"q": "رخصة"}).json()["total"] == 2
    body = bearer(agent).get("/api/v1/search", {"q": "رخصة"}).json()
    assert body["total"] == 1 and [hit["subject"] for hit in body["results"]] == ["طلب رخصة البناء"]
    assert "تقرير سري" not in signed_in(agent).get(f"/desk/{commune.code}/search/", {"q": "رخصة"}).content.decode()
