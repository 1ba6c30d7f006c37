"""The permission table, role by role, as Wasl behaved before it was one table; and a walk of the
source proving that nothing else names a set of roles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tenancy.access import scope_of
from tenancy.models import Administration, Membership, User
from tenancy.permissions import PERMISSIONS, Action, allowed, permissions_of, roles_who
from tests.sources import project_files, relative_parts, source_of, tree_of

Role = Membership.Role
C, AG, H, S, AD, AU = Role.CLERK, Role.AGENT, Role.HEAD, Role.SIGNATORY, Role.ADMIN, Role.AUDITOR

# Who may do each action, written out role by role (not computed): a change to the table must be
# a change here too.
EXPECTED = {
    Action.READ: {C, AG, H, S, AD, AU},
    Action.READ_CONFIDENTIAL: {C, H, S, AD},
    Action.REGISTER: {C, AD},
    Action.IMPORT_REGISTER: {AD},
    Action.READ_REGISTER_LOG: {AD, AU},
    Action.ROUTE: {C, AD},
    Action.READ_EVERY_CASE: {C, AD, AU},
    Action.HANDLE: {AG, H},
    Action.SUPERVISE: {H},
    Action.EVERY_SERVICE: {AD},
    Action.ACT_IN_CIRCUIT: {C, AG, H, S, AD},
    Action.READ_EVERY_FOLDER: {AD, AU},
    Action.SEND: {C, AG, H, S, AD},
    Action.ANSWER_DOCUMENT_REQUESTS: {C, AG, H, S, AD},
    Action.DECLARE_DOCUMENTS: {AD},
    Action.MANAGE_CATALOGUE: {AD},
    Action.ADMINISTER_STAFF: {AD},
    Action.REMINDED_OF_SERVICE: {H},
    Action.REMINDED_OF_UNASSIGNED: {C},
}


def test_every_action_has_its_row_and_nothing_more() -> None:
    assert set(PERMISSIONS) == set(Action) == set(EXPECTED)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_each_role_may_do_exactly_what_it_did(role: Role, action: Action) -> None:
    assert allowed({role}, action) is (role in EXPECTED[action])
    assert (role in roles_who(action)) is (role in EXPECTED[action])


def test_several_roles_add_up_and_none_may_do_nothing() -> None:
    assert allowed({AU, C}, Action.REGISTER)
    assert not any(permissions_of(()).values())
    assert not allowed({"someone"}, Action.READ)


def test_templates_ask_by_the_action_s_name(commune: Administration, clerk: User) -> None:
    can = scope_of(clerk, commune).can
    assert set(can) == {a.value for a in Action}
    assert can["register"] and can["read_confidential"] and not can["administer_staff"]


def test_a_scope_asks_the_table(commune: Administration, auditor: User, head: User) -> None:
    assert scope_of(auditor, commune).may(Action.READ_EVERY_FOLDER)
    assert not scope_of(auditor, commune).may(Action.SEND)
    assert scope_of(head, commune).may(Action.SUPERVISE)
    assert not scope_of(head, commune).may(Action.ROUTE)


# -- the table is the only place ------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
# Where roles may be named: the table, the models (the choices), the demo and benchmark data
# that create members with roles, and tests.
ALLOWED = {"tenancy/permissions.py", "tenancy/models.py", "operations/demo.py", "conftest.py"}
SKIPPED_DIRS = {".venv", "node_modules", "migrations", "tests", "bench", "static", "locale", "locale_django"}


def _sources() -> list[Path]:
    found = []
    for path in project_files(".py"):
        parts = relative_parts(path)
        if any(part in SKIPPED_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        if path.relative_to(ROOT).as_posix() in ALLOWED or path.name in ("testing.py",):
            continue
        found.append(path)
    return found


def _role_members(tree: ast.AST) -> list[tuple[int, str]]:
    """Every ``Role.X`` (or ``Membership.Role.X``) naming a role, every set intersection or
    difference with ``.roles``, and every ``roles_in(...)`` combined with ``&`` or ``-``."""
    names = set(Role.names)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "Role") or (
                isinstance(owner, ast.Attribute) and owner.attr == "Role"
            ):
                found.append((node.lineno, f"Role.{node.attr}"))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.Sub | ast.BitOr):
            for side in (node.left, node.right):
                if isinstance(side, ast.Attribute) and side.attr == "roles":
                    found.append((node.lineno, "a set operation on .roles"))
                if (
                    isinstance(side, ast.Call)
                    and getattr(side.func, "id", getattr(side.func, "attr", "")) == "roles_in"
                ):
                    found.append((node.lineno, "a set operation on roles_in(...)"))
        if isinstance(node, ast.Compare) and any(
            isinstance(side, ast.Attribute) and side.attr == "roles" for side in node.comparators
        ):
            found.append((node.lineno, "a role tested against .roles"))
    return found


def test_no_code_but_the_table_names_a_role() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line}: {what}" for path in _sources() for line, what in _role_members(tree_of(path))
    ]
    assert offences == [], "ask scope.may(Action.X) (tenancy/permissions.py) instead:\n" + "\n".join(offences)


def test_the_walk_finds_what_the_code_used_to_do() -> None:
    # The check cannot pass by looking at nothing: each way the code named roles is caught.
    before = """
READ_ROLES = {Role.CLERK, Role.AUDITOR}
may_read_all = bool(scope.roles & {Role.ADMIN})
may_declare = Membership.Role.ADMIN in scope.roles
if not roles_in(actor, administration) & SEND_ROLES: pass
if not scope.roles - {AUDITOR}: pass
"""
    found = _role_members(ast.parse(before))
    assert {line for line, _ in found} == {2, 3, 4, 5, 6}
    assert len(_sources()) > 100


def test_no_template_tests_a_role() -> None:
    # Templates ask the table too: ``can.register``, ``scope.can.manage_catalogue``.
    names = "|".join(role.value for role in Role)
    import re

    pattern = re.compile(rf"""\{{%[^%]*(\broles\b|["']({names})["'])[^%]*%\}}""")
    offences = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in project_files(".html")
        for match in pattern.finditer(source_of(path))
    ]
    assert offences == []
