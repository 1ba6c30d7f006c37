"""The checks the web server and the worker run before they serve, and their refusal.

``manage.py`` commands run Django's system checks; gunicorn does not. So the web server (the
gunicorn hooks of ``operations.gunicorn_config``, and ``wasl/wsgi.py`` under a gunicorn started
without them), the worker (``manage.py run_worker``) and ``manage.py serve`` call
:func:`refuse_unless_ready` first. It runs every regular check (the configuration:
``core.checks``) and the checks of the installation's state, which are registered for
``check --deploy`` only so that the commands that create that state still run without it (the
PKI: ``trust.checks``, tag ``wasl_pki``; the database's migrations: ``operations.checks``, tag
``wasl_migrations``; the public URL's host among the allowed hosts: ``core.checks``, tag
``wasl_serving``). On an error each problem is printed on one line with its fix and the
process exits (statuses in :mod:`operations.startup`).

``manage.py install`` calls :func:`readiness_problems` after it has migrated and created the PKI.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.checks import CheckMessage, run_checks

from core.checks import SERVING_TAG
from operations.checks import TAG as MIGRATIONS_TAG
from operations.checks import UNREACHABLE
from operations.exits import REFUSED, UNAVAILABLE, print_refusal
from trust.checks import TAG as PKI_TAG

STATE_TAGS = (PKI_TAG, MIGRATIONS_TAG, SERVING_TAG)

logger = logging.getLogger("operations.startup")


def readiness_problems() -> list[CheckMessage]:
    """The errors and warnings (not silenced) of the checks run at start, errors first."""
    messages = [
        *run_checks(),
        *run_checks(tags=list(STATE_TAGS), include_deployment_checks=True),
    ]
    found = [message for message in messages if not message.is_silenced()]
    return sorted(found, key=lambda message: (-message.level, message.id or ""))


def describe(message: CheckMessage) -> str:
    """One line: what is wrong, then how to fix it."""
    text = " ".join(str(message.msg).split())
    if message.hint:
        text += " Fix: " + " ".join(str(message.hint).split())
    return f"{message.id}: {text}" if message.id else text


def exit_status(errors: Iterable[CheckMessage]) -> int:
    return UNAVAILABLE if all(error.id == UNREACHABLE for error in errors) else REFUSED


def refuse_unless_ready(program: str, *, status: int | None = None) -> None:
    """Exit (``status``, else :func:`exit_status`) when a check fails; log its warnings otherwise.

    ``program`` names what refuses, as the operator knows it ("web server", "worker").
    """
    problems = readiness_problems()
    errors = [message for message in problems if message.is_serious()]
    for warning in problems:
        if not warning.is_serious():
            logger.warning("%s", describe(warning))
    if not errors:
        return
    print_refusal(program, [describe(error) for error in errors])
    raise SystemExit(exit_status(errors) if status is None else status)
