"""Writing rows built in advance in few round trips, for the sections that hold a lock.

A registration holds its register's lock from the number to the commit, so what it writes
there should cost as little as possible: no query compiled, no model saved one at a time, no
wait for the database between statements. Rows are model instances built beforehand, with
their primary keys taken from their sequences in advance (:func:`ids_allocate`), so that a row
can name another before either is written; :func:`statements_run` then sends them all:

- on PostgreSQL in one query (psycopg's client-side binding, Django's default, sends it with
  the simple protocol, which runs several statements in one round trip); foreign keys are
  checked at commit (Django makes them ``DEFERRABLE INITIALLY DEFERRED``), so the order of
  the rows does not matter to them;
- elsewhere (SQLite) one statement after the other, in the given order.

No signal is sent and no ``save()`` runs: only for models that have neither (those of the
registration). Each field's value is prepared by the field itself, as ``save()`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db import connection, models


@dataclass(frozen=True)
class Statement:
    """One SQL statement and its parameters (``%s`` placeholders)."""

    sql: str
    params: Sequence[Any] = ()


_SQL_CACHE: dict[tuple[type[models.Model], int, str], str] = {}


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return list(model._meta.concrete_fields)


def insert_statement(objs: Sequence[models.Model]) -> Statement:
    """One INSERT of ``objs`` (instances of one model, primary keys set): the values each field
    prepares for saving (``pre_save`` then ``get_db_prep_save``, as ``save()`` does), foreign
    keys taken from the related instances they hold."""
    model = type(objs[0])
    fields = _columns(model)
    key = (model, len(objs), connection.vendor)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        columns = ", ".join(quote(str(f.column)) for f in fields)
        sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([row] * len(objs))}"  # noqa: S608
        _SQL_CACHE[key] = sql
    params: list[Any] = []
    for obj in objs:
        if type(obj) is not model or obj.pk is None:
            raise ValueError(f"insert_statement takes {model.__name__} rows with their primary keys")
        for f in fields:
            # A foreign key takes the key of the instance it holds (as save() does): one given its
            # key after it was assigned (a case given to its events, say).
            if isinstance(f, models.ForeignKey) and f.is_cached(obj):
                related = f.get_cached_value(obj)
                if related is not None:
                    if related.pk is None:
                        raise ValueError(f"{model.__name__}.{f.name} holds a row without its primary key")
                    setattr(obj, f.attname, related.pk)
        params += [f.get_db_prep_save(f.pre_save(obj, True), connection=connection) for f in fields]
    return Statement(sql, params)


def insert_statements(rows: Iterable[models.Model]) -> list[Statement]:
    """One INSERT per run of consecutive rows of the same model, in order."""
    return [insert_statement(list(group)) for _model, group in groupby(rows, key=type)]


def rows_saved(rows: Iterable[models.Model]) -> None:
    """Mark instances written by :func:`statements_run` as saved (as ``save()`` does)."""
    for obj in rows:
        obj._state.adding = False
        obj._state.db = connection.alias


def statements_run(statements: Sequence[Statement]) -> None:
    """Run ``statements`` in order: one round trip on PostgreSQL, one each elsewhere."""
    if not statements:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(statements) > 1:
            # Each statement bound alone, then the whole sent without parameters: psycopg keeps
            # the parsed form of a short query, but parses again every time one of more than 4 KB
            # or 50 parameters (a registration's rows have about 80).
            from psycopg import ClientCursor  # only installations on PostgreSQL need psycopg

            binder = ClientCursor(cursor.connection)
            cursor.execute(";\n".join(binder.mogrify(s.sql, s.params) for s in statements))
            return
        for statement in statements:
            cursor.execute(statement.sql, statement.params)


class Ids:
    """Primary keys taken in advance (:func:`ids_allocate`), handed out one by one."""

    def __init__(self, ids: dict[type[models.Model], list[int]]) -> None:
        self._ids = {model: list(reversed(values)) for model, values in ids.items()}

    def take(self, model: type[models.Model]) -> int:
        return self._ids[model].pop()


def ids_allocate(counts: Sequence[tuple[type[models.Model], int]]) -> Ids:
    """Take ``n`` new primary keys of each model from its sequence, in one statement. Must run
    inside a transaction that writes those rows; on SQLite that transaction must hold the
    write lock already (Wasl opens them IMMEDIATE), since keys are read from the table's
    AUTOINCREMENT counter, which moves only when the rows are written."""
    merged: dict[type[models.Model], int] = {}
    for model, n in counts:  # a model named twice gets the keys of both
        merged[model] = merged.get(model, 0) + n
    counts = [(model, n) for model, n in merged.items() if n > 0]
    if not counts:
        return Ids({})
    tables = [model._meta.db_table for model, _n in counts]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            params: list[Any] = []
            for (model, n), table in zip(counts, tables, strict=True):
                params += [table, _auto_pk(model).column, n]
            allocate = "ARRAY(SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s))"
            cursor.execute("SELECT " + ", ".join([allocate] * len(counts)), params)
            row = cursor.fetchone()
            return Ids({model: [int(i) for i in ids] for (model, _n), ids in zip(counts, row, strict=True)})
        for model, _n in counts:
            _auto_pk(model)
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"ids_allocate on {connection.vendor}")
        if not connection.in_atomic_block:
            raise RuntimeError("ids_allocate runs inside the transaction that writes the rows")
        placeholders = ", ".join(["%s"] * len(tables))
        cursor.execute(f"SELECT name, seq FROM sqlite_sequence WHERE name IN ({placeholders})", tables)  # noqa: S608
        last = {name: int(seq) for name, seq in cursor.fetchall()}
    return Ids(
        {
            model: list(range(last.get(table, 0) + 1, last.get(table, 0) + 1 + n))
            for (model, n), table in zip(counts, tables, strict=True)
        }
    )


def _auto_pk(model: type[models.Model]) -> models.Field[Any, Any]:
    pk = model._meta.pk
    if not isinstance(pk, models.AutoField | models.BigAutoField | models.SmallAutoField):
        raise ValueError(f"{model.__name__}'s primary key comes from no sequence")
    return pk
