"""Rows built once for a whole test module.

Inside :func:`built_for_the_module` (a module-scoped fixture's body), rows are made in a
transaction that stays open while the module's tests run, each in a savepoint of it (the
``django_db`` mark), and is rolled back at the end: what a test changes goes with its savepoint,
what the fixture built goes with the module. Objects made there are shared across tests: hand
tests primary keys and read the rows again in each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from pytest_django import DjangoDbBlocker


@contextmanager
def built_for_the_module(django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)
