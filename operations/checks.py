"""System check of the database: reachable, and migrated to this version of Wasl.

A deployment check (``manage.py check --deploy``, tag ``wasl_migrations``) also run when the web
server and the worker start (``operations.startup``); not with every management command, or
``migrate`` itself would refuse to run.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

TAG = "wasl_migrations"
# The database could not be reached: a problem that may end by itself (the server starting).
UNREACHABLE = "wasl.E030"


@register("wasl", TAG, deploy=True)
def check_migrations(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return migration_problems()


def migration_problems(alias: str = DEFAULT_DB_ALIAS) -> list[CheckMessage]:
    """The database ``alias`` cannot be reached, or has migrations left to apply; empty when neither."""
    connection = connections[alias]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        return [
            Error(
                f"The database cannot be reached: {first_line}",
                hint="Check WASL_DATABASE_URL and that the database server runs and accepts this user.",
                id=UNREACHABLE,
            )
        ]
    if not plan:
        return []
    apps = sorted({migration.app_label for migration, _ in plan})
    named = ", ".join(apps[:3]) + (f" and {len(apps) - 3} more apps" if len(apps) > 3 else "")
    return [
        Error(
            f"The database is not migrated: {len(plan)} migration(s) to apply ({named}).",
            hint="Run `manage.py migrate` (or `manage.py install`), then start again.",
            id="wasl.E031",
        )
    ]
