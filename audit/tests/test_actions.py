"""The audit trail's actions: one enum, stored as its plain value, told in the reader's language."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.utils import translation

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from tests.sources import project_files, relative_parts, tree_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_an_event_stores_the_plain_value_and_reads_back_in_the_readers_language() -> None:
    audit_record(actor=None, action=AuditAction.RECEIPT_ISSUED)
    event = AuditEvent.objects.get()
    assert event.action == "receipt.issued"
    assert AuditEvent.objects.filter(action="receipt.issued").count() == 1
    with translation.override("ar"):
        assert event.get_action_display() == "تم إصدار الوصل"
    with translation.override("fr"):
        assert event.get_action_display() == "Récépissé délivré"


@pytest.mark.parametrize("language", ["ar", "fr", "zgh"])
def test_every_action_is_translated(language: str) -> None:
    with translation.override("en"):
        english = {action: str(action.label) for action in AuditAction}
    with translation.override(language):
        untranslated = [action.value for action in AuditAction if str(action.label) == english[action]]
    assert untranslated == []


def test_no_code_writes_an_action_the_enum_does_not_name() -> None:
    """``audit_record(action=...)`` is typed, but a string could still slip in through a variable:
    every call passes an ``AuditAction`` member, a conditional of two, or a parameter."""
    offenders = []
    for path in project_files(".py"):
        parts = relative_parts(path)
        if "tests" in parts or "migrations" in parts:
            continue
        for node in ast.walk(tree_of(path)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "audit_record":
                for keyword in node.keywords:
                    if keyword.arg == "action" and any(
                        isinstance(part, (ast.Constant, ast.JoinedStr)) for part in ast.walk(keyword.value)
                    ):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
