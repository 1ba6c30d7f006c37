"""The desk benchmark's database: Django set-up and bulk writing (COPY or executemany)."""

from __future__ import annotations

import json
import os
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------- set-up


def django(data_dir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "wasl.settings",
            "WASL_DATA_DIR": str(data_dir),
            "WASL_DEMO": "true",
            "WASL_PKI_AUTOCREATE": "true",
            "WASL_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
            "WASL_PUBLIC_URL": "https://wasl.example.ma",
            "WASL_CACHE_URL": "locmem://",
            "WASL_LOG_LEVEL": "WARNING",
            "WASL_TASKS": "database",
            "WASL_DEBUG": "false",
        }
    )
    import django

    django.setup()


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return "SQLite " + str(cursor.fetchone()[0])
        cursor.execute("show server_version")
        return "PostgreSQL " + str(cursor.fetchone()[0])


def run_stamp(started: datetime, commit: str, changed: list[str], today: date) -> dict[str, Any]:
    """What every database benchmark's result begins with: the database, when, on what machine,
    which code, whether PostgreSQL synced its writes, and the day the dataset was made for."""
    from datetime import UTC

    from django.db import connection

    from bench.report import machine

    return {
        "database": connection.vendor,
        "database_version": database_version(),
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "finished_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "commit": commit,
        "uncommitted_changes": changed,
        "durable": bool(os.environ.get("WASL_PG_DURABLE")) if connection.vendor == "postgresql" else None,
        "today": today.isoformat(),
    }


def ascii_code(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() else "-" for ch in plain.upper()).strip("-")


# ---------------------------------------------------------------- bulk writing


class Writer:
    """Writes rows straight into a table: COPY on PostgreSQL, executemany on SQLite.

    Columns the caller does not give are filled with the model field's default, so a field
    added to a model with a default does not break the benchmark; a new required field without
    one is reported by name.
    """

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.rows: Counter[str] = Counter()

    def _extra(self, model: Any, columns: Sequence[str]) -> tuple[list[str], tuple[Any, ...]]:
        from django.db import models

        names, values = [], []
        for f in model._meta.concrete_fields:
            if f.column in columns or isinstance(f, models.AutoField) or f.null:
                continue
            if not f.has_default():
                raise SystemExit(f"bench.desk: {model.__name__}.{f.name} is required and has no default: add it here")
            value = f.get_db_prep_save(f.get_default(), self.connection)
            if isinstance(value, dict | list):
                value = json.dumps(value)
            elif hasattr(value, "obj"):  # psycopg Json/Jsonb wrapper
                value = json.dumps(value.obj)
            names.append(f.column)
            values.append(value)
        return names, tuple(values)

    def write(self, model: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        extra_names, extra_values = self._extra(model, columns)
        names = [*columns, *extra_names]
        table = model._meta.db_table
        quoted = ", ".join(self.connection.ops.quote_name(c) for c in names)
        count = 0
        if self.vendor == "postgresql":
            with self.connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                if extra_values:
                    for row in rows:
                        copy.write_row(row + extra_values)
                        count += 1
                else:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
        else:
            marks = ", ".join(["%s"] * len(names))
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"
            adapt = self._sqlite_value
            batch: list[tuple[Any, ...]] = []
            with self.connection.cursor() as cursor:
                for row in rows:
                    batch.append(tuple(adapt(v) for v in row) + extra_values)
                    if len(batch) >= 20_000:
                        cursor.executemany(sql, batch)
                        count += len(batch)
                        batch = []
                if batch:
                    cursor.executemany(sql, batch)
                    count += len(batch)
        self.rows[table] += count
        return count

    def _sqlite_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return self.connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return int(value)
        return value
