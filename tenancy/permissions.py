"""Who may do what, by role: the one table every check reads.

Code never names a set of roles: it asks ``scope.may(Action.X)`` (see ``tenancy.access``), or,
where it holds roles rather than a scope, ``allowed(roles, Action.X)``; a query that needs the
roles themselves (who may be named at a step, who is reminded) reads ``roles_who(Action.X)``.
Where an action also depends on the object (the service a case is with, the people of a
folder's steps), the object's ``<kind>_for`` helper or the service adds that condition to the
role's.

A new kind of object (complaints, information requests) adds its actions here, its
``<kind>_for(scope, id, *, for_update=False)`` in its app's selectors, and its rows to the
table's test (``tenancy/tests/test_permissions.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from tenancy.models import Membership

Role = Membership.Role


class Action(StrEnum):
    # The administration's mail: the register, its cases, its pages.
    READ = "read"  # open the desk: the register, the inbox, the catalogue, the parapheur
    READ_CONFIDENTIAL = "read_confidential"  # letters and cases marked confidential
    REGISTER = "register"  # register mail at the counter, in batches, through the API
    IMPORT_REGISTER = "import_register"  # load a former register
    READ_REGISTER_LOG = "read_register_log"  # the register's log and its checkpoints
    # Cases. Reach: HANDLE and SUPERVISE apply to the service a membership names and the
    # services under it (to every service when the membership names none); EVERY_SERVICE
    # reaches every service whatever the membership names.
    ROUTE = "route"  # assign any case to any service (the mail office)
    READ_EVERY_CASE = "read_every_case"  # see every case of the administration
    HANDLE = "handle"  # work on the cases of one's services: start, answer, ask to complete
    SUPERVISE = "supervise"  # route within one's services, give a case to an agent
    EVERY_SERVICE = "every_service"  # handle and supervise every service
    # The parapheur.
    ACT_IN_CIRCUIT = "act_in_circuit"  # submit folders, act at steps, delegate, hold a certificate
    READ_EVERY_FOLDER = "read_every_folder"  # read every folder, not only one's own
    # Between administrations.
    SEND = "send"  # write to another administration
    ANSWER_DOCUMENT_REQUESTS = "answer_document_requests"  # hold and deliver documents (once-only)
    DECLARE_DOCUMENTS = "declare_documents"  # declare the kinds of documents delivered to others
    # Administering the administration.
    MANAGE_CATALOGUE = "manage_catalogue"  # procedures, calendar, routing, letters, circuits, starter
    ADMINISTER_STAFF = "administer_staff"  # services and staff
    # Who is reminded of late cases.
    REMINDED_OF_SERVICE = "reminded_of_service"  # the cases late in their service
    REMINDED_OF_UNASSIGNED = "reminded_of_unassigned"  # the cases late with no service


_EVERYONE = frozenset(Role)
_ACTING = _EVERYONE - {Role.AUDITOR}  # the auditor reads, never acts

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.READ: _EVERYONE,
    Action.READ_CONFIDENTIAL: frozenset({Role.CLERK, Role.HEAD, Role.SIGNATORY, Role.ADMIN}),
    Action.REGISTER: frozenset({Role.CLERK, Role.ADMIN}),
    Action.IMPORT_REGISTER: frozenset({Role.ADMIN}),
    Action.READ_REGISTER_LOG: frozenset({Role.ADMIN, Role.AUDITOR}),
    Action.ROUTE: frozenset({Role.CLERK, Role.ADMIN}),
    Action.READ_EVERY_CASE: frozenset({Role.CLERK, Role.ADMIN, Role.AUDITOR}),
    Action.HANDLE: frozenset({Role.HEAD, Role.AGENT}),
    Action.SUPERVISE: frozenset({Role.HEAD}),
    Action.EVERY_SERVICE: frozenset({Role.ADMIN}),
    Action.ACT_IN_CIRCUIT: _ACTING,
    Action.READ_EVERY_FOLDER: frozenset({Role.ADMIN, Role.AUDITOR}),
    Action.SEND: _ACTING,
    Action.ANSWER_DOCUMENT_REQUESTS: _ACTING,
    Action.DECLARE_DOCUMENTS: frozenset({Role.ADMIN}),
    Action.MANAGE_CATALOGUE: frozenset({Role.ADMIN}),
    Action.ADMINISTER_STAFF: frozenset({Role.ADMIN}),
    Action.REMINDED_OF_SERVICE: frozenset({Role.HEAD}),
    Action.REMINDED_OF_UNASSIGNED: frozenset({Role.CLERK}),
}


def roles_who(action: Action) -> frozenset[Role]:
    """The roles that may do ``action``."""
    return PERMISSIONS[action]


def allowed(roles: Iterable[str], action: Action) -> bool:
    """Whether one of ``roles`` may do ``action``."""
    return not PERMISSIONS[action].isdisjoint(roles)


def permissions_of(roles: Iterable[str]) -> dict[str, bool]:
    """Every action, by name, and whether ``roles`` may do it: what templates ask
    (``{% if can.register %}``)."""
    held = frozenset(roles)
    return {action.value: allowed(held, action) for action in Action}
