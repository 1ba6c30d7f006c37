"""The import page: a dry run, its report, the import confirmed, for the administration's admins only."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks

from registry.models import Channel, Correspondence, RegisterImport
from tenancy.models import Administration, User

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db

TABLE = "numéro;date;expéditeur;objet\n2019/1;02/01/2019;Ahmed;Demande\n2019/2;03/01/2019;Salma;Plainte\n"


def text_of(response: Response) -> str:
    """The page's text as read: entities decoded, French no-break spaces as spaces."""
    return html.unescape(response.content.decode()).replace("\u00a0", " ").replace("\u202f", " ")


def send(
    client: Client, commune: Administration, table: str, *, HTTP_ACCEPT_LANGUAGE: str = "ar", **extra: str
) -> Response:
    upload = SimpleUploadedFile("registre-2019.csv", table.encode(), content_type="text/csv")
    return client.post(
        f"/desk/{commune.code}/register/import/",
        {"direction": "incoming", "table": upload, **extra},
        HTTP_ACCEPT_LANGUAGE=HTTP_ACCEPT_LANGUAGE,
    )


def test_an_admin_checks_then_imports_a_former_register(
    commune_admin: User,
    commune: Administration,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    signed_in: Callable[..., Client],
) -> None:
    client = signed_in(commune_admin)
    assert client.get(f"/desk/{commune.code}/register/import/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, commune, TABLE, dry_run="on")
    job = RegisterImport.objects.get()
    assert response["Location"] == f"/desk/{commune.code}/register/import/{job.pk}/"
    assert job.status == RegisterImport.Status.CHECKED and job.rows_total == 2
    assert not Correspondence.objects.exists()
    page = client.get(f"/desk/{commune.code}/register/import/{job.pk}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Importer ces courriers maintenant" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/desk/{commune.code}/register/import/{job.pk}/confirm/")
    imported = RegisterImport.objects.exclude(pk=job.pk).get()
    assert imported.status == RegisterImport.Status.IMPORTED and imported.imported == 2
    assert Correspondence.objects.filter(channel=Channel.IMPORT).count() == 2


def test_rejected_rows_are_listed_with_their_line_and_reason_in_the_readers_language(
    commune_admin: User,
    commune: Administration,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    signed_in: Callable[..., Client],
) -> None:
    client = signed_in(commune_admin)
    with django_capture_on_commit_callbacks(execute=True):
        send(client, commune, TABLE + "2019/3;;Omar;Sans date\n", HTTP_ACCEPT_LANGUAGE="ar")  # checked in Arabic
    job = RegisterImport.objects.get()
    assert job.status == RegisterImport.Status.REJECTED and job.imported == 0
    # Kept as a code, in no language.
    assert job.rejected == [{"line": 4, "number": "2019/3", "code": "date_unreadable", "params": {}}]
    url = f"/desk/{commune.code}/register/import/{job.pk}/"
    french = text_of(client.get(url, HTTP_ACCEPT_LANGUAGE="fr"))
    assert "La date manque ou ne peut pas être lue (attendu : 2019-03-31 ou 31/03/2019)." in french
    assert "التاريخ ناقص" not in french
    arabic = client.get(url, HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "التاريخ ناقص أو تتعذر قراءته" in arabic and "2019/3" in arabic
    assert not Correspondence.objects.exists()
    # A rejected check cannot be confirmed.
    assert client.post(f"{url}confirm/").status_code == 404


def test_a_file_that_cannot_be_read_says_why_in_the_readers_language(
    commune_admin: User,
    commune: Administration,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    signed_in: Callable[..., Client],
) -> None:
    client = signed_in(commune_admin)
    with django_capture_on_commit_callbacks(execute=True):
        send(client, commune, "nom;prénom\nA;B\n", HTTP_ACCEPT_LANGUAGE="ar")
    job = RegisterImport.objects.get()
    assert (job.status, job.error_code, job.error) == (RegisterImport.Status.FAILED, "columns_missing", "")
    assert job.error_params == {"columns": "number, date, sender, subject"}
    page = client.get(f"/desk/{commune.code}/register/import/{job.pk}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Le fichier n'a pas de colonne pour : number, date, sender, subject." in text_of(page)


def test_a_file_that_is_not_a_table_is_refused_at_once(
    commune_admin: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(commune_admin)
    upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.7\x00\x00binary", content_type="application/pdf")
    response = client.post(f"/desk/{commune.code}/register/import/", {"direction": "incoming", "table": upload})
    assert response.status_code == 400 and not RegisterImport.objects.exists()


def test_only_the_administrations_admins_may_import(
    clerk: User, outsider: User, commune: Administration, commune_admin: User, signed_in: Callable[..., Client]
) -> None:
    for user in (clerk, outsider):
        client = signed_in(user)
        assert client.get(f"/desk/{commune.code}/register/import/").status_code == 404
        assert send(client, commune, TABLE).status_code == 404
    assert not RegisterImport.objects.exists()


def test_the_upload_script_is_answered_in_json_and_one_post_makes_one_job(
    commune_admin: User, commune: Administration, signed_in: Callable[..., Client]
) -> None:
    client = signed_in(commune_admin)
    script = {"X-Requested-With": "XMLHttpRequest", "Accept": "application/json"}
    table = SimpleUploadedFile("registre-2019.csv", TABLE.encode(), content_type="text/csv")
    accepted = client.post(
        f"/desk/{commune.code}/register/import/",
        {"direction": "incoming", "table": table, "dry_run": "on"},
        headers=script,
    )
    job = RegisterImport.objects.get()
    assert accepted.json() == {"redirect": f"/desk/{commune.code}/register/import/{job.pk}/"}
    upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.7\x00\x00binary", content_type="application/pdf")
    refused = client.post(
        f"/desk/{commune.code}/register/import/", {"direction": "incoming", "table": upload}, headers=script
    )
    assert refused.status_code == 400 and 'name="table"' in refused.json()["html"]
    assert RegisterImport.objects.count() == 1
