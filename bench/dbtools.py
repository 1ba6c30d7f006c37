"""Database side of the deposit benchmark: prepare before the server starts, verify after.

    python -m bench.dbtools setup --users N --tokens OUT.json
    python -m bench.dbtools verify --expected N [--json OUT.json]

Run with the same ``WASL_*`` environment as the server (``bench/run.py`` does this).
``setup`` migrates, creates the benchmark administration and ``N`` verified users, each with
an API token (an ``ApiToken`` row, as ``api_token_issue`` makes, without the password hash:
PBKDF2 per user would only slow the set-up). ``verify`` checks what the run left behind:
one correspondence per successful deposit, numbers consecutive from 1 with no gap, every
receipt issued (sealed file recorded), and one queued e-mail task per deposit.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ADMINISTRATION = "BENCH-COMMUNE"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wasl.settings")
    import django

    django.setup()


def setup(users: int, tokens_out: Path) -> None:
    _django()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0, interactive=False)

    from core.canonical import sha256_hex
    from core.clock import now
    from tenancy.models import Administration, ApiToken, User
    from tenancy.services import credential_stamp
    from trust.services import installation_pki

    with transaction.atomic():
        administration, _ = Administration.objects.get_or_create(
            code=ADMINISTRATION,
            defaults={
                "kind": Administration.Kind.COMMUNE,
                "name_ar": "جماعة القياس النموذجية",
                "name_fr": "Commune de mesure",
                "name_zgh": "ⵜⴰⵎⵙⵙⵓⵔⵜ ⵏ ⵓⵙⵎⴰⵍ",
            },
        )
        tokens: list[str] = []
        for i in range(1, users + 1):
            user = User.objects.filter(email=f"bench{i}@example.ma").first()
            if user is None:
                user = User.objects.create_user(
                    f"bench{i}@example.ma",
                    None,  # unusable password: the bench authenticates with tokens only
                    full_name=f"مواطن القياس {i}",
                    national_id=f"BK{i:06d}",
                    email_verified_at=now(),
                )
            raw = secrets.token_urlsafe(32)
            ApiToken.objects.create(
                user=user,
                key_hash=sha256_hex(raw),
                credential_stamp=credential_stamp(user),
                expires_at=now() + timedelta(hours=6),
            )
            tokens.append(raw)
    # Create the PKI (demo mode) and the administration's seal now, not in the first request.
    installation_pki().seal_for(
        code=administration.code, name_fr=administration.name_fr, name_ar=administration.name_ar
    )
    tokens_out.write_text(json.dumps({"administration": ADMINISTRATION, "tokens": tokens}))
    print(f"set up {connection.vendor}: {ADMINISTRATION}, {users} users with tokens", file=sys.stderr)


def verify(expected: int) -> dict[str, Any]:
    _django()
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from registry.models import Correspondence, Receipt
    from tenancy.models import Administration

    administration = Administration.objects.get(code=ADMINISTRATION)
    rows = Correspondence.objects.filter(administration=administration)
    count = rows.count()
    sequences = list(rows.order_by("year", "sequence").values_list("year", "sequence"))
    years = sorted({year for year, _ in sequences})
    gaps = 0
    duplicates = 0
    for year in years:
        seq = [s for y, s in sequences if y == year]
        duplicates += len(seq) - len(set(seq))
        distinct = sorted(set(seq))
        gaps += (distinct[-1] - distinct[0] + 1 - len(distinct)) if distinct else 0
        if distinct and distinct[0] != 1:
            gaps += distinct[0] - 1
    receipts = Receipt.objects.filter(correspondence__administration=administration)
    issued = receipts.filter(blob__isnull=False).count()
    pending = receipts.filter(blob__isnull=True).count()
    email_tasks = DBTaskResult.objects.filter(task_path__endswith="receipt_email_task").count()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            version = "SQLite " + cursor.fetchone()[0]
        else:
            cursor.execute("show server_version")
            version = f"{connection.display_name} " + cursor.fetchone()[0]
    result = {
        "database": connection.vendor,
        "database_version": version,
        "expected": expected,
        "correspondence_rows": count,
        "number_gaps": gaps,
        "number_duplicates": duplicates,
        "receipts_issued": issued,
        "receipts_pending": pending,
        "email_tasks_queued": email_tasks,
    }
    result["ok"] = count == expected and gaps == 0 and duplicates == 0 and issued == count and pending == 0
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup")
    p_setup.add_argument("--users", type=int, required=True)
    p_setup.add_argument("--tokens", type=Path, required=True)
    p_verify = sub.add_parser("verify")
    p_verify.add_argument("--expected", type=int, required=True)
    p_verify.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(args.users, args.tokens)
    else:
        result = verify(args.expected)
        text = json.dumps(result, indent=2)
        if args.json:
            args.json.write_text(text)
        print(text, file=sys.stderr)


if __name__ == "__main__":
    main()
