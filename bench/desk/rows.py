"""The desk benchmark's table rows: correspondence, cases, timeline lines and reminders."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import TYPE_CHECKING, Any

from bench.desk.vocabulary import (
    PROCEDURES,
    TRACKING_ALPHABET,
)

if TYPE_CHECKING:
    from bench.desk.dataset import Incoming, Org


CORRESPONDENCE_COLUMNS = [
    "id",
    "administration_id",
    "direction",
    "year",
    "sequence",
    "number",
    "channel",
    "registered_at",
    "registered_by_id",
    "sender_account_id",
    "sender_kind",
    "sender_name",
    "sender_identifier",
    "sender_email",
    "sender_address",
    "addressee_account_id",
    "addressee_kind",
    "addressee_name",
    "addressee_identifier",
    "addressee_email",
    "addressee_address",
    "recipient_service_id",
    "subject",
    "body",
    "confidential",
    "in_reply_to_id",
    "terms",
    "tracking_code",
]

CASE_COLUMNS = [
    "correspondence_id",
    "administration_id",
    "procedure_id",
    "status",
    "service_id",
    "agent_id",
    "registered_on",
    "delay_days",
    "delay_kind",
    "silence_rule",
    "due_on",
    "suspended_on",
    "suspended_days",
    "completion_requested",
    "answered_at",
    "closed_at",
    "updated_at",
    "remind_on",
    "remind_point",
    "confidential",
]

EVENT_COLUMNS = ["case_id", "at", "kind", "actor_id", "service_id", "public", "text", "data", "emailed_at"]


def _terms(item: Incoming, cache: dict[tuple[int, date | None], str]) -> str:
    key = (item.procedure, item.due_on)
    text = cache.get(key)
    if text is None:
        if item.procedure >= 0:
            code, _service, delay, silence, _inv, name_ar, name_fr, _subjects = PROCEDURES[item.procedure]
        else:
            code, delay, silence, name_ar, name_fr = "", 60, "none", "", ""
        text = cache[key] = json.dumps(
            {
                "procedure_code": code,
                "procedure_name_ar": name_ar,
                "procedure_name_fr": name_fr,
                "delay_days": delay,
                "delay_kind": "calendar",
                "due_on": item.due_on.isoformat() if item.due_on else "",
                "silence_rule": silence,
            },
            ensure_ascii=False,
        )
    return text


def correspondence_rows(
    ordered: list[Incoming], org: Org, replies: list[tuple[Incoming, Incoming]]
) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(11)
    reply_to = {id(letter): request.pk for request, letter in replies}
    cache: dict[tuple[int, date | None], str] = {}
    for item in ordered:
        admin_id = org.admin_ids[item.admin]
        kind, name, identifier, email = item.sender
        request_pk = reply_to.get(id(item))
        if request_pk is None:  # incoming
            clerk = org.clerks[item.admin] if item.channel == "counter" else None
            code = "".join(rng.choices(TRACKING_ALPHABET, k=8))
            yield (
                item.pk, admin_id, "incoming", item.year, item.sequence, item.number, item.channel, item.moment,
                clerk, None, kind, name, identifier, email, "", None, "", "", "", "", "", None, item.subject,
                item.body, item.confidential, None, _terms(item, cache), f"{code[:4]}-{code[4:]}",
            )  # fmt: skip
        else:  # a reply: the request's sender is its addressee
            yield (
                item.pk, admin_id, "outgoing", item.year, item.sequence, item.number, item.channel, item.moment,
                item.agent, None, "", "", "", "", "", None, kind, name, identifier, email, "", item.service,
                item.subject, "", item.confidential, request_pk, "{}", "",
            )  # fmt: skip


def case_rows(items: list[Incoming], org: Org) -> Iterator[tuple[Any, ...]]:
    for item in items:
        procedure_id = org.procedures[item.admin][item.procedure] if item.procedure >= 0 else None
        if item.procedure >= 0:
            delay, silence = PROCEDURES[item.procedure][2], PROCEDURES[item.procedure][3]
        else:
            delay, silence = 60, "none"
        updated = item.closed_at or item.answered_at or item.moment
        yield (
            item.pk, org.admin_ids[item.admin], procedure_id, item.status, item.service, item.agent,
            item.registered_on, delay, "calendar", silence, item.due_on, item.suspended_on, 0,
            item.status == "awaiting_completion", item.answered_at, item.closed_at, updated, item.remind_on,
            item.remind_point, item.confidential,
        )  # fmt: skip


def _recipients(item: Incoming, org: Org) -> list[int]:
    people = [org.clerks[item.admin]] if item.service is None else [org.heads[item.admin][item.service]]
    if item.agent is not None and item.agent not in people:
        people.append(item.agent)
    return people


def _sent_at(day: date) -> datetime:
    return datetime.combine(day, dtime(6, 0), UTC)


def event_rows(items: list[Incoming], org: Org, rng: random.Random, now_utc: datetime) -> Iterator[tuple[Any, ...]]:
    for item in items:
        at = item.moment
        yield (item.pk, at, "registered", None, None, True, "", "{}", None)
        if item.service is not None:
            routed = item.procedure >= 0
            at = min(at + (timedelta(seconds=1) if routed else timedelta(hours=rng.uniform(0.5, 30))), now_utc)
            actor = None if routed else org.clerks[item.admin]
            yield (item.pk, at, "routed" if routed else "assigned", actor, item.service, True, "", "{}", None)
        head = org.heads[item.admin].get(item.service or 0)
        if item.agent is not None:
            at = min(at + timedelta(hours=rng.uniform(1, 48)), now_utc)
            data = json.dumps({"agent_id": item.agent})
            yield (item.pk, at, "agent_assigned", head, item.service, False, "", data, None)
        if item.status in ("in_progress", "awaiting_completion"):
            at = min(at + timedelta(hours=rng.uniform(1, 72)), now_utc)
            yield (item.pk, at, "started", item.agent, item.service, True, "", "{}", None)
        if item.status == "awaiting_completion":
            yield (item.pk, _sent_at(item.suspended_on or item.registered_on), "completion_requested",
                   item.agent, item.service, True, "", "{}", None)  # fmt: skip
        if item.answered_at is not None:
            kind = "rejected" if item.status == "rejected" else "answered"
            yield (item.pk, item.answered_at, kind, item.agent, item.service, True, "", "{}", None)
        if item.closed_at is not None:
            yield (item.pk, item.closed_at, "closed", head, item.service, True, "", "{}", None)
        if item.past_points:
            people = _recipients(item, org)
            for point, day in item.past_points:
                data = json.dumps({"point": point, "users": people})
                yield (item.pk, _sent_at(day), "reminder", None, item.service, False, "", data, None)


def reminder_rows(items: list[Incoming], org: Org) -> Iterator[tuple[Any, ...]]:
    for item in items:
        if not item.past_points:
            continue
        people = _recipients(item, org)
        for point, day in item.past_points:
            sent = _sent_at(day)
            for user_id in people:
                yield (item.pk, point, user_id, sent, sent + timedelta(minutes=2))


def sizes() -> dict[str, Any]:
    from django.db import connection

    tables = [
        "registry_correspondence",
        "workflow_case",
        "workflow_caseevent",
        "workflow_casecopy",
        "workflow_reminder",
        "workflow_reply",
    ]
    sizes: dict[str, Any] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            sizes["database_mb"] = round(cursor.fetchone()[0] / 1e6)
            for table in tables:
                cursor.execute("SELECT pg_table_size(%s), pg_indexes_size(%s)", [table, table])
                data, indexes = cursor.fetchone()
                sizes[table] = {"data_mb": round(data / 1e6), "indexes_mb": round(indexes / 1e6)}
        else:
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            sizes["database_mb"] = round(pages * cursor.fetchone()[0] / 1e6)
    return sizes
