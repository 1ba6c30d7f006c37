"""Staff pages: counter registration, the register and its filters, services and staff."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext
from pytest_django import DjangoAssertNumQueries, DjangoCaptureOnCommitCallbacks

from audit.models import AuditEvent
from core.bidi import isolated
from documents.samples import image_bytes, pdf_bytes
from registry.models import Channel, Correspondence, Direction
from registry.services import Party, correspondence_register
from registry.testing import counter_mail
from tenancy.models import Administration, Membership, Service, User

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response


def counter_post(client: Client, code: str, **overrides: object) -> Response:
    data: dict[str, object] = {
        "direction": "incoming",
        "sender_kind": "person",
        "sender_name": "محمد الإدريسي",
        "sender_identifier": "J456789",
        "sender_email": "m.idrissi@example.ma",
        "sender_address": "12 زنقة الورد، الرباط",
        "subject": "شكاية بخصوص الإنارة العمومية",
        "body": "",
        "attachments": [SimpleUploadedFile("scan.tiff", image_bytes("TIFF", frames=2))],
    }
    data.update(overrides)
    return client.post(f"/desk/{code}/register/new/", data)


def test_a_clerk_registers_paper_mail_at_the_counter(
    commune: Administration, clerk: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    service = Service.objects.get(administration=commune, code="SG")
    response = counter_post(client, commune.code, service=service.pk)
    c = Correspondence.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/desk/{commune.code}/c/{c.pk}/"
    assert (c.channel, c.registered_by, c.recipient_service) == (Channel.COUNTER, clerk, service)
    assert c.attachments.get().blob.pages == 2
    detail = client.get(response["Location"]).content.decode()
    assert c.number in detail and "J456789" in detail
    assert f"/desk/{commune.code}/c/{c.pk}/receipt.pdf" in detail
    assert client.get(f"/desk/{commune.code}/c/{c.pk}/receipt.pdf").status_code == 200
    attachment = client.get(f"/desk/{commune.code}/c/{c.pk}/files/1")
    assert attachment.status_code == 200 and attachment["Content-Type"] == "image/tiff"


def test_counter_registration_refuses_bad_input_without_consuming_a_number(
    commune: Administration, clerk: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    assert counter_post(client, commune.code, subject="").status_code == 400
    assert counter_post(client, commune.code, sender_name="").status_code == 400
    refused = counter_post(client, commune.code, attachments=SimpleUploadedFile("x.pdf", b"%PDF-1.7 truncated"))
    assert refused.status_code == 400 and 'id="id_attachments-error"' in refused.content.decode()
    assert not Correspondence.objects.exists()
    counter_post(client, commune.code)
    assert Correspondence.objects.get().sequence == 1


def test_a_service_of_another_administration_cannot_be_chosen(
    commune: Administration, elsewhere: Administration, clerk: User, signed_in: Callable[..., Client]
) -> None:
    foreign = Service.objects.create(administration=elsewhere, code="X", name_ar="x", name_fr="x")
    response = counter_post(signed_in(clerk), commune.code, service=foreign.pk)
    assert response.status_code == 400
    assert not Correspondence.objects.exists()


def test_outgoing_mail_is_numbered_in_its_own_register(
    commune: Administration, clerk: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    counter_post(client, commune.code)
    counter_post(client, commune.code, direction="outgoing", sender_kind="administration", sender_name="Wilaya")
    numbers = dict(Correspondence.objects.values_list("direction", "number"))
    assert numbers[Direction.INCOMING].startswith("A-") and numbers[Direction.OUTGOING].startswith("D-")
    assert numbers[Direction.OUTGOING].endswith("-000001")


def test_outgoing_counter_mail_names_its_addressee_and_gets_no_receipt(
    commune: Administration, clerk: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    counter_post(
        client, commune.code, direction="outgoing", sender_kind="administration", sender_name="Wilaya de Rabat",
        sender_email="courrier@wilaya.ma", sender_address="Avenue Mohammed V",
    )  # fmt: skip
    letter = Correspondence.objects.get()
    assert (letter.addressee_kind, letter.addressee_name, letter.addressee_email) == (
        "administration",
        "Wilaya de Rabat",
        "courrier@wilaya.ma",
    )
    assert (letter.sender_name, letter.sender_email, letter.sender_address) == ("", "", "")
    assert not hasattr(letter, "receipt")
    assert mail.outbox == []  # no receipt e-mailed to the addressee
    page = client.get(f"/desk/{commune.code}/c/{letter.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<dt>Destinataire</dt>" in page and "<dt>Expéditeur</dt>" not in page
    assert "Wilaya de Rabat" in page and "Avenue Mohammed V" in page
    assert "ne reçoit pas d'accusé de réception" in page and "Scellement en cours" not in page
    # The register log's action is shown in the reader's language, not as its code.
    assert "<td>Enregistré</td>" in page and "<td>registered</td>" not in page
    assert client.get(f"/desk/{commune.code}/c/{letter.pk}/receipt.pdf").status_code == 404
    incoming = client.get(f"/desk/{commune.code}/", {"direction": "incoming"}).content.decode()
    outgoing = client.get(f"/desk/{commune.code}/", {"direction": "outgoing"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert "Wilaya de Rabat" in outgoing.content.decode() and "Wilaya de Rabat" not in incoming
    assert "<th>Destinataire</th>" in outgoing.content.decode()
    found = client.get(f"/desk/{commune.code}/", {"direction": "outgoing", "sender": "wilaya"}).content.decode()
    assert letter.number in found


def test_an_answer_sent_to_the_citizens_space_reads_as_sent_not_as_deposited(
    commune: Administration, clerk: User, citizen: User, signed_in: Callable[..., Client]
) -> None:
    letter = correspondence_register(
        actor=clerk,
        administration=commune,
        direction=Direction.OUTGOING,
        channel=Channel.ONLINE,
        addressee=Party(kind="person", name=citizen.full_name, account=citizen),
        subject="Réponse",
        body="Accord",
    ).correspondence
    page = signed_in(clerk).get(f"/desk/{commune.code}/c/{letter.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<dt>Envoyé le</dt>" in page and "Vers l&#x27;espace en ligne du destinataire" in page
    assert "Dépôt en ligne" not in page and "<dt>Reçu le</dt>" not in page


def test_a_missing_addressee_is_a_field_error_of_the_counter_form(
    commune: Administration, clerk: User, signed_in: Callable[..., Client]
) -> None:
    response = counter_post(signed_in(clerk), commune.code, direction="outgoing", sender_name="  ")
    assert response.status_code == 400 and 'id="id_sender_name-error"' in response.content.decode()
    assert not Correspondence.objects.exists()


def test_the_register_filters(
    commune: Administration, clerk: User, citizen: User, signed_in: Callable[..., Client]
) -> None:
    for subject, name in [("رخصة البناء", "Ali"), ("شهادة السكنى", "Sara"), ("Permis de construire", "Omar")]:
        correspondence_register(
            actor=clerk,
            administration=commune,
            channel=Channel.COUNTER,
            sender=Party(kind="person", name=name),
            subject=subject,
            body=subject,
        )
    client = signed_in(clerk)
    page = client.get(f"/desk/{commune.code}/", {"subject": "رخصة"}).content.decode()
    assert "رخصة البناء" in page and "شهادة السكنى" not in page
    page = client.get(f"/desk/{commune.code}/", {"sender": "sara"}).content.decode()
    assert "شهادة السكنى" in page and "رخصة البناء" not in page
    page = client.get(f"/desk/{commune.code}/", {"number": "000003"}).content.decode()
    assert "Permis de construire" in page and "Sara" not in page
    assert "Permis" not in client.get(f"/desk/{commune.code}/", {"date_to": "2000-01-01"}).content.decode()


def test_the_register_list_runs_a_fixed_number_of_queries(
    commune: Administration,
    clerk: User,
    django_assert_max_num_queries: DjangoAssertNumQueries,
    signed_in: Callable[..., Client],
) -> None:
    for i in range(30):
        correspondence_register(
            actor=clerk,
            administration=commune,
            channel=Channel.COUNTER,
            sender=Party(kind="person", name="X"),
            subject=f"s{i}",
            body="b",
        )
    client = signed_in(clerk)
    with django_assert_max_num_queries(12):
        assert client.get(f"/desk/{commune.code}/").status_code == 200


def test_reading_a_record_with_personal_data_is_audited(
    commune: Administration, clerk: User, citizen: User, signed_in: Callable[..., Client]
) -> None:
    c = correspondence_register(
        actor=citizen,
        administration=commune,
        channel=Channel.ONLINE,
        sender=Party.of_account(citizen),
        subject="طلب",
        body="نص",
    ).correspondence
    signed_in(clerk).get(f"/desk/{commune.code}/c/{c.pk}/")
    event = AuditEvent.objects.get(action="correspondence.viewed")
    assert (event.actor, event.subject_user, event.object_id) == (clerk, citizen, str(c.pk))


def test_an_administration_admin_manages_services(
    commune: Administration, commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(commune_admin)
    response = client.post(
        f"/desk/{commune.code}/services/",
        {"code": "URB", "name_ar": "مصلحة التعمير", "name_fr": "Urbanisme", "kind": "central", "location": ""},
    )
    assert response.status_code == 302
    assert Service.objects.filter(administration=commune, code="URB").exists()
    duplicate = client.post(
        f"/desk/{commune.code}/services/", {"code": "URB", "name_ar": "x", "name_fr": "x", "kind": "central"}
    )
    assert duplicate.status_code == 400


def test_an_administration_admin_gives_and_removes_staff_access(
    commune: Administration,
    commune_admin: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    signed_in: Callable[..., Client],
) -> None:
    client = signed_in(commune_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/desk/{commune.code}/staff/", {"email": "new.clerk@commune.ma", "full_name": "Nouveau", "role": "clerk"}
        )
    assert response.status_code == 302
    newcomer = User.objects.get(email="new.clerk@commune.ma")
    assert not newcomer.has_usable_password()
    assert "new.clerk@commune.ma" in mail.outbox[0].to
    membership = Membership.objects.get(user=newcomer)
    assert signed_in(newcomer).get(f"/desk/{commune.code}/register/new/").status_code == 200
    client.post(f"/desk/{commune.code}/staff/{membership.pk}/revoke/")
    assert signed_in(newcomer).get(f"/desk/{commune.code}/").status_code == 404
    own = Membership.objects.get(user=commune_admin)
    client.post(f"/desk/{commune.code}/staff/{own.pk}/revoke/")
    assert Membership.objects.get(pk=own.pk).is_active


def _grant(client: Client, code: str, email: str, capture: DjangoCaptureOnCommitCallbacks) -> list[str]:
    with capture(execute=True):
        response = client.post(
            f"/desk/{code}/staff/", {"email": email, "full_name": "Nouvelle", "role": "clerk"}, follow=True
        )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_the_admin_is_told_where_the_invitation_went(
    commune: Administration,
    commune_admin: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
    signed_in: Callable[..., Client],
) -> None:
    """Without a mail server the invitation waits in the outbox, which the administration's admin
    cannot read: the page says so, and who passes it on; with one, that the e-mail went."""
    client = signed_in(commune_admin)
    with translation.override("ar"):
        no_server = _grant(client, commune.code, "first@commune.ma", django_capture_on_commit_callbacks)
        waiting = gettext(
            "Access granted to %(email)s. No mail server is set yet: the e-mail with their link to "
            "choose a password waits in the outbox, from which a platform administrator passes it on."
        )
        assert no_server == [waiting % {"email": isolated("first@commune.ma")}]
        monkeypatch.setattr("desk.views.smtp_configured", lambda: True)  # WASL_EMAIL_HOST set
        sent = _grant(client, commune.code, "second@commune.ma", django_capture_on_commit_callbacks)
        went = gettext("Access granted to %(email)s: an e-mail gives them a link to choose their password.")
        assert sent == [went % {"email": isolated("second@commune.ma")}]
    # The invitation names the administration the person now works for.
    assert [message.to for message in mail.outbox] == [["first@commune.ma"], ["second@commune.ma"]]
    assert commune.name_ar in mail.outbox[0].body and "/account/reset/" in mail.outbox[0].body


def test_a_clerk_cannot_manage_staff_or_services(
    commune: Administration, clerk: User, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(clerk)
    assert client.get(f"/desk/{commune.code}/staff/").status_code == 404
    assert client.get(f"/desk/{commune.code}/services/").status_code == 404


def test_the_desk_shows_only_the_tabs_a_persons_roles_open(
    commune: Administration, clerk: User, auditor: User, commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    """A tab that answers 404 to its reader is not shown to them (a clerk once saw Staff and Services)."""
    restricted = {"log/": ["admin", "auditor"], "services/": ["admin"], "staff/": ["admin"]}
    for user, role in ((clerk, "clerk"), (auditor, "auditor"), (commune_admin, "admin")):
        client = signed_in(user)
        page = client.get(f"/desk/{commune.code}/inbox/").content.decode()
        for tab, roles in restricted.items():
            href = f'href="/desk/{commune.code}/{tab}"'
            assert (href in page) == (role in roles), (role, tab)
            assert client.get(f"/desk/{commune.code}/{tab}").status_code == (200 if role in roles else 404), (role, tab)


@pytest.mark.parametrize("role", ["clerk", "agent", "head", "signatory", "commune_admin", "auditor"])
def test_no_link_of_the_desk_leads_its_reader_to_a_404(
    commune: Administration, role: str, request: pytest.FixtureRequest, signed_in: Callable[..., Client]
) -> None:
    """Every desk link a role is shown on the desk's pages opens for it (the counter tab, the
    catalogue's routing and letters, the inbox's internal note and the parapheur's new folder,
    certificate and delegations were shown to roles they answer 404 to)."""
    client = signed_in(request.getfixturevalue(role))
    prefix = f"/desk/{commune.code}/"
    pages = [prefix + page for page in ("", "inbox/", "parapheur/", "procedures/", "calendar/", "search/")]
    links: set[str] = set()
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (role, page)
        links |= {
            href for href in re.findall(r'href="([^"?#]+)"', response.content.decode()) if href.startswith(prefix)
        }
    assert links, role
    dead = sorted(link for link in links if client.get(link).status_code == 404)
    assert not dead, (role, dead)


def test_the_counter_receipt_is_emailed_when_an_address_is_given(
    commune: Administration,
    clerk: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    signed_in: Callable[..., Client],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        counter_post(signed_in(clerk), commune.code, attachments=[SimpleUploadedFile("a.pdf", pdf_bytes())])
    assert mail.outbox[0].to == ["m.idrissi@example.ma"]


def test_an_auditor_verifies_the_log_and_seals_a_checkpoint(
    commune: Administration, auditor: User, clerk: User, signed_in: Callable[..., Client]
) -> None:
    from django.db import connection

    from registry.models import RegisterCheckpoint

    c = counter_mail(commune, clerk)
    client = signed_in(auditor)
    page = client.get(f"/desk/{commune.code}/log/")
    assert page.status_code == 200 and c.number in page.content.decode()
    client.post(f"/desk/{commune.code}/log/checkpoint/")
    assert RegisterCheckpoint.objects.filter(administration=commune, position=1).exists()
    ok = client.post(f"/desk/{commune.code}/log/", {"action": "verify"}).content.decode()
    assert 'data-valid="true"' in ok
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_correspondence SET subject = 'forged' WHERE id = %s", [c.pk])
    broken = client.post(f"/desk/{commune.code}/log/", {"action": "verify"}).content.decode()
    assert 'data-valid="false"' in broken and "القيد رقم 1" in broken  # entry #1, in Arabic
    assert AuditEvent.objects.filter(action="register.verified").count() == 2
    assert signed_in(clerk).get(f"/desk/{commune.code}/log/").status_code == 404
