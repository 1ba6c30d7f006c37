"""Importing a former register: every rejected row reported, nothing half imported, numbering
that continues after the imported numbers, and the register log still verifying."""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import translation
from openpyxl import Workbook

from audit.models import AuditEvent
from core.clock import now
from documents.samples import pdf_bytes
from registry.imports import ImportRefused, ImportReport, register_import
from registry.integrity import verify_administration_log
from registry.models import Channel, Correspondence, Direction, RegisterCounter, RegisterLogEntry
from registry.services import LOCAL_ZONE
from registry.testing import counter_mail
from tenancy.models import Administration, User

pytestmark = pytest.mark.django_db

GOOD = (
    "\ufeffNuméro;Date;Expéditeur;Objet;Service;Fichiers\n"
    "2019/1;02/01/2019;Ahmed Alaoui;Demande de certificat;SG;\n"
    "2/2019;2019-01-03;جمعية الأمل;طلب دعم;;\n"
    "3;04/01/2019;Fatima Zahra;Réclamation éclairage;;\n"
)


def run(
    commune: Administration,
    clerk: User,
    data: str | bytes,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    raw = data.encode() if isinstance(data, str) else data
    return register_import(
        actor=clerk, administration=commune, direction=Direction.INCOMING, data=raw, dry_run=dry_run, progress=progress
    )


def test_an_outgoing_registers_column_names_each_letters_addressee(commune: Administration, clerk: User) -> None:
    data = "number,date,destinataire,subject\n2019/7,2019-02-01,Wilaya de Rabat,Rapport annuel\n"
    report = register_import(
        actor=clerk, administration=commune, direction=Direction.OUTGOING, data=data.encode(), dry_run=False
    )
    assert report.imported == 1, report.rejected
    letter = Correspondence.objects.get()
    assert (letter.number, letter.addressee_name, letter.sender_name) == ("D-2019-000007", "Wilaya de Rabat", "")
    assert verify_administration_log(commune) is None


def test_a_dry_run_checks_every_row_and_writes_nothing(commune: Administration, clerk: User) -> None:
    report = run(commune, clerk, GOOD, dry_run=True)
    assert report.rows == 3 and report.accepted == 3 and report.rejected == []
    assert report.imported == 0
    assert not Correspondence.objects.exists()


def test_the_letters_keep_their_numbers_and_the_log_still_verifies(commune: Administration, clerk: User) -> None:
    counter_mail(commune, clerk, "Avant l'import")
    report = run(commune, clerk, GOOD)
    assert report.imported == 3
    imported = list(Correspondence.objects.filter(channel=Channel.IMPORT).order_by("sequence"))
    assert [c.number for c in imported] == ["A-2019-000001", "A-2019-000002", "A-2019-000003"]
    assert imported[0].recipient_service is not None and imported[0].recipient_service.code == "SG"
    assert imported[1].sender_name == "جمعية الأمل"
    assert imported[2].registered_at == datetime(2019, 1, 4, tzinfo=LOCAL_ZONE)
    assert not hasattr(imported[0], "receipt") or imported[0].receipt is None
    assert RegisterLogEntry.objects.filter(correspondence__channel=Channel.IMPORT).count() == 3
    assert verify_administration_log(commune) is None
    assert AuditEvent.objects.get(action="register.imported").data["letters"] == 3


def test_numbering_continues_after_the_highest_imported_number(commune: Administration, clerk: User) -> None:
    year = now().astimezone(LOCAL_ZONE).year
    today = now().astimezone(LOCAL_ZONE).date().isoformat()
    rows = "number,date,sender,subject\n" + "".join(f"{n},{today},S{n},Objet {n}\n" for n in (1, 2, 5))
    report = run(commune, clerk, rows)
    assert report.imported == 3 and report.gaps == {year: 2}
    assert RegisterCounter.objects.get(administration=commune, direction=Direction.INCOMING, year=year).last_number == 5
    assert counter_mail(commune, clerk, "Après").number == f"A-{year}-000006"


def test_every_rejected_row_is_reported_and_nothing_is_imported(commune: Administration, clerk: User) -> None:
    counter_mail(commune, clerk, "déjà là")
    year = now().astimezone(LOCAL_ZONE).year
    rows = (
        "number,date,sender,subject,service\n"
        "2019/10,2019-02-01,A,Bonne ligne,\n"  # 2
        ",2019-02-01,A,Sans numéro,\n"  # 3
        "abc,2019-02-01,A,Numéro illisible,\n"  # 4
        "11,31/02/2019,A,Date impossible,\n"  # 5
        "2018/12,2019-02-01,A,Année différente,\n"  # 6
        "2019/10,2019-02-03,A,Deux fois,\n"  # 7
        f"1,{year}-01-02,A,Déjà dans le registre,\n"  # 8
        "13,2099-01-01,A,Date future,\n"  # 9
        "14,2019-02-01,,Sans expéditeur,\n"  # 10
        "15,2019-02-01,A,,\n"  # 11
        "16,2019-02-01,A,Service inconnu,XYZ\n"  # 12
    )
    report = run(commune, clerk, rows, dry_run=False)
    codes = {r.line: r.code for r in report.rejected}
    assert codes == {
        3: "number_missing",
        4: "number_unreadable",
        5: "date_unreadable",
        6: "year_mismatch",
        7: "number_twice",
        8: "number_taken",
        9: "date_future",
        10: "sender_missing",
        11: "subject_missing",
        12: "service_unknown",
    }
    rejected = {r.line: r for r in report.rejected}
    assert rejected[12].params == {"code": "XYZ"}
    with translation.override("fr"):
        assert rejected[3].reason == "Le numéro manque."
        assert rejected[12].reason == "Le service \u2068XYZ\u2069 n'existe pas ici."
    with translation.override("ar"):
        assert rejected[3].reason == "الرقم ناقص."
    assert report.imported == 0 and Correspondence.objects.count() == 1
    assert {r.number for r in report.rejected if r.line == 7} == {"2019/10"}


def test_files_are_read_from_the_import_folder_only(commune: Administration, clerk: User, tmp_path: Path) -> None:
    folder = tmp_path / "import" / "COMMUNE-TEST"  # WASL_IMPORT_DIR/<CODE>/
    (folder / "2019").mkdir(parents=True)
    (folder / "2019" / "scan-1.pdf").write_bytes(pdf_bytes(pages=2))
    (tmp_path / "secret.pdf").write_bytes(pdf_bytes())
    (folder / "2019" / "notes.txt").write_text("not a scan")
    rows = (
        "number,date,sender,subject,files\n"
        "1,2019-01-02,A,Avec scan,2019/scan-1.pdf\n"
        "2,2019-01-02,A,Hors du dossier,../secret.pdf\n"
        "3,2019-01-02,A,Absent,2019/absent.pdf\n"
        "4,2019-01-02,A,Pas un document,2019/notes.txt\n"
    )
    with override_settings(IMPORT_DIR=folder.parent):
        report = run(commune, clerk, rows, dry_run=True)
        assert [(r.line, r.code) for r in report.rejected] == [
            (3, "file_outside"),
            (4, "file_outside"),
            (5, "file_rejected"),
        ]
        assert report.rejected[2].params == {"name": "notes.txt", "file_code": "file_type_not_allowed"}
        with translation.override("fr"):
            assert "notes.txt" in report.rejected[2].reason and "PDF, JPEG, PNG" in report.rejected[2].reason
        report = run(commune, clerk, rows.split("2,2019")[0])
    assert report.imported == 1
    attachment = Correspondence.objects.get().attachments.get()
    assert attachment.filename == "scan-1.pdf" and attachment.blob.pages == 2
    assert verify_administration_log(commune) is None


def test_an_administration_cannot_import_another_administrations_files(
    commune: Administration, elsewhere: Administration, clerk: User, tmp_path: Path
) -> None:
    root = tmp_path / "import"
    theirs = root / "PROVINCE-AUTRE" / "archive"
    theirs.mkdir(parents=True)
    (theirs / "confidentiel.pdf").write_bytes(pdf_bytes(text="Dossier de la province"))
    (root / "COMMUNE-TEST").mkdir()
    (root / "COMMUNE-TEST" / "lien").symlink_to(theirs)  # a link out of the folder does not help either
    rows = (
        "number,date,sender,subject,files\n"
        "1,2019-01-02,A,Chemin relatif,../PROVINCE-AUTRE/archive/confidentiel.pdf\n"
        f"2,2019-01-02,A,Chemin absolu,{theirs / 'confidentiel.pdf'}\n"
        "3,2019-01-02,A,Par un lien,lien/confidentiel.pdf\n"
        "4,2019-01-02,A,Depuis la racine,PROVINCE-AUTRE/archive/confidentiel.pdf\n"
    )
    with override_settings(IMPORT_DIR=root):
        report = run(commune, clerk, rows)
    assert [r.line for r in report.rejected] == [2, 3, 4, 5]
    assert report.imported == 0 and not Correspondence.objects.exists()


def test_an_xlsx_register_with_arabic_headings_and_date_cells(commune: Administration, clerk: User) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["الرقم", "التاريخ", "المرسل", "الموضوع"])
    sheet.append(["2020/7", datetime(2020, 5, 4), "عبد الله", "طلب رخصة"])
    sheet.append([8, date(2020, 5, 5), "سلمى", "شكاية"])
    out = io.BytesIO()
    book.save(out)
    report = run(commune, clerk, out.getvalue())
    assert report.imported == 2
    assert sorted(Correspondence.objects.values_list("number", flat=True)) == ["A-2020-000007", "A-2020-000008"]


def test_a_file_that_is_no_table_is_refused_whole(commune: Administration, clerk: User) -> None:
    with pytest.raises(ImportRefused):
        run(commune, clerk, b"")
    with pytest.raises(ImportRefused):
        run(commune, clerk, "nom,prenom\nA,B\n")
    with pytest.raises(ImportRefused):
        run(commune, clerk, b"PK\x03\x04 broken zip")
    assert not Correspondence.objects.exists()


@pytest.mark.slow
def test_ten_thousand_rows_with_errors_are_all_reported(commune: Administration, clerk: User) -> None:
    lines = ["number,date,sender,subject"]
    for n in range(1, 10_001):
        lines.append(f"2018/{n},2018-03-01,Expéditeur {n},Objet {n}" if n % 1000 else f"2018/{n},,X,Sans date")
    report = run(commune, clerk, "\n".join(lines), dry_run=True)
    assert report.rows == 10_000 and len(report.rejected) == 10
    assert [r.line for r in report.rejected][:2] == [1001, 2001]
    fixed = "\n".join(line for line in lines if "Sans date" not in line)
    calls: list[tuple[int, int]] = []
    report = run(commune, clerk, fixed, progress=lambda done, total: calls.append((done, total)))
    assert report.imported == 9_990
    assert calls[-1] == (2 * 9_990, 2 * 9_990)
    assert Correspondence.objects.filter(year=2018).count() == 9_990


def test_reasons_kept_as_text_by_earlier_versions_are_read_back_into_codes(
    commune: Administration, clerk: User
) -> None:
    """The migration reads each old reason back, in whatever language the worker wrote it."""
    from django.apps import apps

    from documents.models import Blob
    from registry.models import RegisterImport

    migration = importlib.import_module("registry.migrations.0011_import_reasons_as_codes")
    old_rows = [
        {"line": 2, "number": "", "reason": "الرقم ناقص."},
        {"line": 3, "number": "7", "reason": "Le service \u2068XYZ\u2069 n'existe pas ici."},
        {"line": 4, "number": "8", "reason": "The file “a.txt” is not a PDF, JPEG, PNG or TIFF document."},
        {"line": 5, "number": "9", "reason": "Une raison d'une autre version."},
    ]
    job = RegisterImport.objects.create(
        administration=commune,
        direction="incoming",
        filename="old.csv",
        blob=Blob.objects.create(sha256="0" * 64, size=1, content_type="text/csv"),
        requested_by=clerk,
        created_at=now(),
        status="rejected",
        rejected=old_rows,
    )
    failed = RegisterImport.objects.create(
        administration=commune,
        direction="incoming",
        filename="old2.csv",
        blob_id=job.blob_id,
        requested_by=clerk,
        created_at=now(),
        status="failed",
        error="يتضمن الملف أكثر من 100000 سطر: قسموه.",
    )
    migration.reasons_to_codes(apps, None)
    job.refresh_from_db()
    assert job.rejected == [
        {"line": 2, "number": "", "code": "number_missing", "params": {}},
        {"line": 3, "number": "7", "code": "service_unknown", "params": {"code": "XYZ"}},
        {
            "line": 4,
            "number": "8",
            "code": "file_rejected",
            "params": {"name": "a.txt", "file_code": "file_type_not_allowed"},
        },
        {"line": 5, "number": "9", "reason": "Une raison d'une autre version."},
    ]
    with translation.override("fr"):
        assert [row["reason"] for row in job.rejected_rows()][::3] == [
            "Le numéro manque.",
            "Une raison d'une autre version.",
        ]
    failed.refresh_from_db()
    assert (failed.error_code, failed.error_params, failed.error) == ("too_many_rows", {"limit": 100000}, "")
