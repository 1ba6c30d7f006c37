"""Circuits and their steps: what a step asks, checked against the administration's staff;
the circuit templates, the circuit a folder takes, and its adjustment by the submitter."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.errors import Refused
from parapheur.models import (
    ActorKind,
    Circuit,
    CircuitStep,
    FolderEvent,
    FolderStep,
    StepKind,
)
from tenancy.access import subtree
from tenancy.models import Administration, Membership, Service, User
from tenancy.permissions import Action, allowed, roles_who

logger = logging.getLogger(__name__)
Kind = FolderEvent.Kind
State = FolderStep.State
BLOCK_WIDTH_MM = 70
BLOCKING = (StepKind.VISA, StepKind.SIGNATURE)


class FolderRefused(Refused):
    pass


# ---------------------------------------------------------------- steps as given


@dataclass(frozen=True)
class StepSpec:
    """A step as a circuit or a submitter gives it."""

    kind: str
    actor_kind: str = ActorKind.PERSON
    people: tuple[int, ...] = ()
    role: str = ""
    service_id: int | None = None
    page: int = 0
    x_mm: int = 120
    y_mm: int = 25
    tag: str = ""

    def fields(self) -> dict[str, object]:
        """The step's columns, as a circuit's or a folder's step stores them (people apart)."""
        return {
            "kind": self.kind,
            "actor_kind": self.actor_kind,
            "role": self.role,
            "service_id": self.service_id,
            "page": self.page,
            "x_mm": self.x_mm,
            "y_mm": self.y_mm,
            "tag": self.tag,
        }

    @classmethod
    def of(cls, step: CircuitStep) -> StepSpec:
        return cls(
            kind=step.kind,
            actor_kind=step.actor_kind,
            people=tuple(user.pk for user in step.people.all()),
            role=step.role,
            service_id=step.service_id,
            page=step.page,
            x_mm=step.x_mm,
            y_mm=step.y_mm,
            tag=step.tag,
        )


@dataclass
class _Checked:
    specs: list[StepSpec]
    people: dict[int, User] = field(default_factory=dict)


def _members(administration: Administration) -> dict[int, set[str]]:
    """Active staff of ``administration``: user id → roles."""
    found: dict[int, set[str]] = {}
    for user_id, role in Membership.objects.filter(
        administration=administration, is_active=True, user__is_active=True
    ).values_list("user_id", "role"):
        found.setdefault(user_id, set()).add(role)
    return found


def _check_steps(administration: Administration, specs: Sequence[StepSpec], *, vacant_roles: bool = False) -> _Checked:
    """Refuse steps that cannot be carried out: nobody to act, people from elsewhere.

    ``vacant_roles``: a step may name a role nobody holds yet (a circuit template saved before
    the staff are appointed); a folder sent through it is refused until someone holds it."""
    if not any(spec.kind in BLOCKING for spec in specs):
        raise FolderRefused("no_steps", _("A circuit needs at least one visa or signature."), field="steps")
    members = _members(administration)
    services = {s.pk for s in Service.objects.filter(administration=administration)}
    checked = _Checked(specs=list(specs))
    for number, spec in enumerate(specs, start=1):
        where = {"n": number}
        if spec.kind not in StepKind.values or spec.actor_kind not in ActorKind.values:
            raise FolderRefused("bad_step", _("Step %(n)d is not a known kind of step.") % where, field="steps")
        if spec.kind == StepKind.SEAL:
            continue  # the administration's seal: applied by the installation
        if spec.actor_kind == ActorKind.ROLE:
            if spec.role not in roles_who(Action.ACT_IN_CIRCUIT):
                raise FolderRefused("bad_step", _("Step %(n)d names no role that can act.") % where, field="steps")
            if spec.service_id is not None and spec.service_id not in services:
                raise FolderRefused("bad_step", _("Step %(n)d names a service from elsewhere.") % where, field="steps")
            if not vacant_roles and not role_holders(administration, spec.role, spec.service_id):
                raise FolderRefused("nobody", _("Nobody holds the role asked at step %(n)d.") % where, field="steps")
            continue
        wanted = 1 if spec.actor_kind == ActorKind.PERSON else None
        if not spec.people or (wanted is not None and len(spec.people) != wanted):
            raise FolderRefused("bad_step", _("Step %(n)d must name who acts.") % where, field="steps")
        for user_id in spec.people:
            if not allowed(members.get(user_id, ()), Action.ACT_IN_CIRCUIT):
                raise FolderRefused(
                    "not_a_member",
                    _("Step %(n)d names someone who does not work for this administration.") % where,
                    field="steps",
                )
    ids = {user_id for spec in specs for user_id in spec.people}
    checked.people = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    return checked


def role_holders(administration: Administration, role: str, service_id: int | None) -> set[int]:
    memberships = Membership.objects.filter(administration=administration, role=role, is_active=True)
    if service_id is not None:
        services = list(Service.objects.filter(administration=administration).only("id", "parent_id"))
        memberships = memberships.filter(service_id__in=subtree(services, [service_id]))
    return set(memberships.values_list("user_id", flat=True))


# ---------------------------------------------------------------- circuits


def circuit_save(
    *,
    actor: User | None,
    administration: Administration,
    circuit: Circuit | None,
    values: dict[str, object],
    steps: Sequence[StepSpec],
    vacant_roles: bool = False,
) -> Circuit:
    """Create or change a circuit template (folders under way keep their own copy of steps).

    ``vacant_roles``: accept steps that name a role nobody holds yet (the starter catalogue of
    a new administration, loaded before its staff are appointed). ``actor`` is None for an
    operator's command."""
    _check_steps(administration, steps, vacant_roles=vacant_roles)
    code = str(values["code"]).strip().upper()
    clash = Circuit.objects.filter(administration=administration, code=code)
    if circuit is not None:
        clash = clash.exclude(pk=circuit.pk)
    if clash.exists():
        raise FolderRefused("code_taken", _("Another circuit has this code."), field="code")
    with transaction.atomic():
        if circuit is None:
            circuit = Circuit(administration=administration)
        circuit.code = code
        for name in ("name", "document_type", "adjustable", "is_active"):
            if name in values:
                setattr(circuit, name, values[name])
        circuit.service = values.get("service")  # type: ignore[assignment]
        circuit.save()
        circuit.steps.all().delete()
        for position, spec in enumerate(steps, start=1):
            step = CircuitStep.objects.create(circuit=circuit, position=position, **spec.fields())
            if spec.people:
                step.people.set(spec.people)
        audit_record(actor=actor, action=AuditAction.CIRCUIT_SAVED, obj=circuit, administration=administration)
    return circuit


# ---------------------------------------------------------------- submitting


def circuit_for(administration: Administration, *, service: Service | None, document_type: str = "") -> Circuit | None:
    """The circuit a folder takes when none is chosen: the one for its type of document, else
    the one of its service (or of the nearest service above it), else the administration's one
    for any service and type."""
    circuits = list(Circuit.objects.filter(administration=administration, is_active=True).order_by("code"))
    if document_type:
        for circuit in circuits:
            if circuit.document_type and circuit.document_type.lower() == document_type.lower():
                return circuit
    if service is not None:
        parents = {s.pk: s.parent_id for s in Service.objects.filter(administration=administration)}
        current: int | None = service.pk
        while current is not None:
            for circuit in circuits:
                if circuit.service_id == current:
                    return circuit
            current = parents.get(current)
    generic = [c for c in circuits if c.service_id is None and not c.document_type]
    return generic[0] if len(generic) == 1 else None


def adjusted(circuit: Circuit, *, extra_visas: Sequence[int] = (), signatory: int | None = None) -> list[StepSpec]:
    """The steps of an adjustable ``circuit`` with the submitter's changes: visas added before
    its first step, the person of its signature step chosen. A circuit that is not adjustable
    is refused."""
    if not circuit.adjustable and (extra_visas or signatory):
        raise FolderRefused("fixed_circuit", _("This circuit cannot be adjusted."), field="circuit")
    steps = [StepSpec(kind=StepKind.VISA, people=(user_id,)) for user_id in extra_visas]
    for step in circuit.steps.prefetch_related("people"):
        spec = StepSpec.of(step)
        if signatory is not None and spec.kind == StepKind.SIGNATURE:
            spec = StepSpec(**{**spec.__dict__, "actor_kind": ActorKind.PERSON, "people": (signatory,), "role": ""})
        steps.append(spec)
    return steps
