"""The import page: a dry run, its report, the import confirmed, for the administration's admins only."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from registry.models import Channel, Correspondence, RegisterImport
from tenancy.models import Administration, User

pytestmark = pytest.mark.django_db

TABLE = "numéro;date;expéditeur;objet\n2019/1;02/01/2019;Ahmed;Demande\n2019/2;03/01/2019;Salma;Plainte\n"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client: Client, commune: Administration, table: str, **extra: object) -> object:
    upload = SimpleUploadedFile("registre-2019.csv", table.encode(), content_type="text/csv")
    return client.post(f"/desk/{commune.code}/register/import/", {"direction": "incoming", "table": upload, **extra})


def test_an_admin_checks_then_imports_a_former_register(
    commune_admin: User, commune: Administration, django_capture_on_commit_callbacks: object
) -> None:
    client = signed_in(commune_admin)
    assert client.get(f"/desk/{commune.code}/register/import/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = send(client, commune, TABLE, dry_run="on")
    job = RegisterImport.objects.get()
    assert response["Location"] == f"/desk/{commune.code}/register/import/{job.pk}/"  # type: ignore[index]
    assert job.status == RegisterImport.Status.CHECKED and job.rows_total == 2
    assert not Correspondence.objects.exists()
    page = client.get(f"/desk/{commune.code}/register/import/{job.pk}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Importer ces courriers maintenant" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        client.post(f"/desk/{commune.code}/register/import/{job.pk}/confirm/")
    imported = RegisterImport.objects.exclude(pk=job.pk).get()
    assert imported.status == RegisterImport.Status.IMPORTED and imported.imported == 2
    assert Correspondence.objects.filter(channel=Channel.IMPORT).count() == 2


def test_rejected_rows_are_listed_with_their_line_and_reason(
    commune_admin: User, commune: Administration, django_capture_on_commit_callbacks: object
) -> None:
    client = signed_in(commune_admin)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        send(client, commune, TABLE + "2019/3;;Omar;Sans date\n")
    job = RegisterImport.objects.get()
    assert job.status == RegisterImport.Status.REJECTED and job.imported == 0
    assert (
        job.rejected
        == [
            {
                "line": 4,
                "number": "2019/3",
                "reason": "The date is missing or cannot be read (expected 2019-03-31 or 31/03/2019).",
            }
        ]
        or job.rejected[0]["line"] == 4
    )
    html = client.get(f"/desk/{commune.code}/register/import/{job.pk}/").content.decode()
    assert "2019/3" in html
    assert not Correspondence.objects.exists()
    # A rejected check cannot be confirmed.
    assert client.post(f"/desk/{commune.code}/register/import/{job.pk}/confirm/").status_code == 404


def test_a_file_that_is_not_a_table_is_refused_at_once(commune_admin: User, commune: Administration) -> None:
    client = signed_in(commune_admin)
    upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.7\x00\x00binary", content_type="application/pdf")
    response = client.post(f"/desk/{commune.code}/register/import/", {"direction": "incoming", "table": upload})
    assert response.status_code == 400 and not RegisterImport.objects.exists()


def test_only_the_administrations_admins_may_import(
    clerk: User, outsider: User, commune: Administration, commune_admin: User
) -> None:
    for user in (clerk, outsider):
        client = signed_in(user)
        assert client.get(f"/desk/{commune.code}/register/import/").status_code == 404
        assert send(client, commune, TABLE).status_code == 404  # type: ignore[attr-defined]
    assert not RegisterImport.objects.exists()
