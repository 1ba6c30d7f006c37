"""Reads of the parapheur: a person's pending steps, their folders, a folder they may read."""

from __future__ import annotations

from datetime import date

from django.db.models import F, Q, QuerySet

from core.clock import now
from core.errors import NotFound
from parapheur.models import ActorKind, Circuit, Delegation, Folder, FolderEvent, FolderStep, StepActor, StepKind
from tenancy.access import Scope
from tenancy.models import Administration, Membership, Service, User
from tenancy.permissions import Action, roles_who
from workflow.calendar import local_date

State = FolderStep.State


def _ancestors(services: list[Service], service_id: int) -> set[int]:
    """``service_id`` and every service above it."""
    parent = {s.pk: s.parent_id for s in services}
    found: set[int] = set()
    current: int | None = service_id
    while current is not None and current not in found:
        found.add(current)
        current = parent.get(current)
    return found


def _role_steps(people: list[int], administration: Administration) -> Q:
    """Steps open to a role one of ``people`` holds: a step naming a service is for the members
    of that service and of the services under it; a step naming none, for every holder."""
    memberships = list(
        Membership.objects.filter(user_id__in=people, administration=administration, is_active=True).values_list(
            "role", "service_id"
        )
    )
    condition = Q(pk__in=[])
    services = list(Service.objects.filter(administration=administration).only("id", "parent_id"))
    for role, service_id in memberships:
        condition |= Q(role=role, service_id__isnull=True)
        if service_id is not None:
            condition |= Q(role=role, service_id__in=_ancestors(services, service_id))
    return Q(actor_kind=ActorKind.ROLE) & condition


def pending_steps(user: User, administration: Administration, today: date) -> QuerySet[FolderStep]:
    """The steps waiting for ``user`` now: named, by role, or for someone they stand in for."""
    people = [user.pk, *delegators_of(user, administration, today)]
    named = StepActor.objects.filter(user_id__in=people, acted_at=None).values("step_id")
    turn = Q(kind__in=[StepKind.VISA, StepKind.SIGNATURE], position=F("folder__current")) | Q(kind=StepKind.OPINION)
    return (
        FolderStep.objects.filter(
            Q(pk__in=named) | _role_steps(people, administration),
            folder__administration=administration,
            folder__status=Folder.Status.IN_PROGRESS,
            state=State.ACTIVE,
        )
        .filter(turn)
        .exclude(actors__user=user, actors__acted_at__isnull=False)
        .select_related("folder", "folder__submitter")
        .order_by("started_at", "pk")
        .distinct()
    )


def delegators_of(
    user: User, administration: Administration, today: date, *, document_type: str | None = None
) -> set[int]:
    """The people ``user`` stands in for today (for this type of document, when one is given)."""
    found = set()
    for delegator_id, types in Delegation.objects.filter(
        administration=administration, delegate=user, starts_on__lte=today, ends_on__gte=today, ended_at=None
    ).values_list("delegator_id", "document_types"):
        if document_type is None or not types or document_type in types:
            found.add(delegator_id)
    return found


def my_folders(user: User, administration: Administration) -> QuerySet[Folder]:
    return Folder.objects.filter(administration=administration, submitter=user).order_by("-updated_at")


def folder_for(scope: Scope, folder_id: int, *, for_update: bool = False) -> Folder:
    """A folder of the scope's administration its user may read: its submitter, anyone named at
    or acting in it or waited for at one of its steps, and the roles that read every folder;
    NotFound for anyone else. ``for_update`` locks its row until the end of the caller's
    transaction."""
    if not scope.may(Action.READ):
        raise NotFound
    folders = Folder.objects.select_related("submitter")
    if for_update:
        folders = folders.select_for_update(of=("self",))
    folder = folders.filter(pk=folder_id, administration=scope.administration).first()
    if folder is None:
        raise NotFound
    user = scope.user
    if scope.may(Action.READ_EVERY_FOLDER) or folder.submitter_id == user.pk:
        return folder
    if (
        user.pk in participants(folder)
        or pending_steps(user, scope.administration, _today()).filter(folder=folder).exists()
    ):
        return folder
    raise NotFound


def proof_pending(folder: Folder) -> bool:
    """Whether the folder's proof slip is on its way: its circuit is complete and the slip not
    issued yet (parapheur.services.finishing). The desk and the API answer 202 then, and 404 for
    a folder whose circuit is not complete (no slip is coming, even while a seal step is under way)."""
    return folder.status == Folder.Status.COMPLETED and not folder.proof


def active_circuits(administration: Administration) -> list[Circuit]:
    return list(Circuit.objects.filter(administration=administration, is_active=True).order_by("code"))


def circuits_of(administration: Administration) -> QuerySet[Circuit]:
    """Every circuit of ``administration`` with its steps, by code."""
    return Circuit.objects.filter(administration=administration).prefetch_related("steps").order_by("code")


def circuit_for(administration: Administration, circuit_id: int) -> Circuit:
    circuit = Circuit.objects.filter(pk=circuit_id, administration=administration).first()
    if circuit is None:
        raise NotFound
    return circuit


def circuit_by_code(administration: Administration, code: str) -> Circuit | None:
    return Circuit.objects.filter(administration=administration, code=code.strip().upper()).first()


def delegations_given(user: User, administration: Administration) -> QuerySet[Delegation]:
    """The absences ``user`` declared, latest first, with who stands in."""
    return Delegation.objects.filter(administration=administration, delegator=user).select_related("delegate")


def delegations_received(user: User, administration: Administration) -> QuerySet[Delegation]:
    """The absences ``user`` stands in for, latest first."""
    return Delegation.objects.filter(administration=administration, delegate=user).select_related("delegator")


def circuit_people(administration: Administration) -> list[User]:
    """The people who may be named at a step of ``administration``'s circuits, by name."""
    ids = Membership.objects.filter(
        administration=administration, is_active=True, user__is_active=True, role__in=roles_who(Action.ACT_IN_CIRCUIT)
    ).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=ids).order_by("full_name"))


def _today() -> date:
    return local_date(now())


def participants(folder: Folder) -> set[int]:
    """Who may read a folder: its submitter and everyone named at one of its steps or who acted."""
    people = {folder.submitter_id}
    people.update(StepActor.objects.filter(step__folder=folder).values_list("user_id", flat=True))
    people.update(
        user_id for user_id in FolderEvent.objects.filter(folder=folder).values_list("actor_id", flat=True) if user_id
    )
    return people


def folder_by_file_hash(sha256: str) -> tuple[str, Folder] | None:
    """("document", folder) when ``sha256`` is the final document of a completed circuit,
    ("proof", folder) when it is its proof slip, ("finishing", folder) when it is the document of
    a folder being sealed or finished (parapheur.services.finishing: final in a moment, or
    replaced by the registered letter); None otherwise."""
    folder = (
        Folder.objects.filter(Q(status=Folder.Status.COMPLETED) | Q(finishing=True))
        .filter(Q(document=sha256) | Q(proof=sha256))
        .select_related("administration")
        .first()
    )
    if folder is None:
        return None
    if folder.proof == sha256:
        return "proof", folder
    return ("finishing" if folder.finishing else "document"), folder
