"""The parapheur's acts: circuits, submitting a folder, visas, signatures, the seal, opinions,
rejection, return to an earlier step, comments, withdrawal.

Every act locks its folder (``select_for_update``), checks that it is the actor's turn and that
the document is the one they saw (its fingerprint), does everything or nothing, and writes one
line of history with the document's fingerprint. Acts by delegation are audited.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.clock import now
from core.errors import NotFound, Refused
from documents import storage
from parapheur.certificates import Signer, current_certificate, draw_block, unlock
from parapheur.models import (
    ActorKind,
    Circuit,
    CircuitStep,
    Delegation,
    Folder,
    FolderAnnex,
    FolderEvent,
    FolderStep,
    StepActor,
    StepKind,
)
from parapheur.proof import proof_issue
from parapheur.selectors import delegators_of
from parapheur.tags import find_tag
from tenancy.models import Administration, Membership, Service, User
from tenancy.selectors import roles_in
from trust.pdf_update import POINTS_PER_MM, Appearance, BlockImage, UnsupportedPdf, page_size
from trust.sealing import add_validation_data, seal_pdf, sign_pdf
from trust.services import installation_pki
from workflow.access import subtree
from workflow.calendar import local_date
from workflow.letters import SIGNATURE_TAG
from workflow.models import Case, LetterTemplate, Reply
from workflow.services import LetterText, case_reply, case_reply_draft

logger = logging.getLogger(__name__)
Role = Membership.Role
Kind = FolderEvent.Kind
State = FolderStep.State
BLOCK_WIDTH_MM = 70
STAFF_ROLES = frozenset({Role.CLERK, Role.AGENT, Role.HEAD, Role.SIGNATORY, Role.ADMIN})
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


def _check_steps(administration: Administration, specs: Sequence[StepSpec]) -> _Checked:
    """Refuse steps that cannot be carried out: nobody to act, people from elsewhere."""
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
            if spec.role not in Role.values or spec.role == Role.AUDITOR:
                raise FolderRefused("bad_step", _("Step %(n)d names no role that can act.") % where, field="steps")
            if spec.service_id is not None and spec.service_id not in services:
                raise FolderRefused("bad_step", _("Step %(n)d names a service from elsewhere.") % where, field="steps")
            if not role_holders(administration, spec.role, spec.service_id):
                raise FolderRefused("nobody", _("Nobody holds the role asked at step %(n)d.") % where, field="steps")
            continue
        wanted = 1 if spec.actor_kind == ActorKind.PERSON else None
        if not spec.people or (wanted is not None and len(spec.people) != wanted):
            raise FolderRefused("bad_step", _("Step %(n)d must name who acts.") % where, field="steps")
        for user_id in spec.people:
            if not members.get(user_id, set()) & STAFF_ROLES:
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
    actor: User,
    administration: Administration,
    circuit: Circuit | None,
    values: dict[str, object],
    steps: Sequence[StepSpec],
) -> Circuit:
    """Create or change a circuit template (folders under way keep their own copy of steps)."""
    _check_steps(administration, steps)
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
        audit_record(actor=actor, action="circuit.saved", obj=circuit, administration=administration)
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


def check_pdf(data: bytes) -> None:
    """Refuse what cannot go through a circuit: not a PDF, encrypted, unreadable."""
    if not data.startswith(b"%PDF-"):
        raise FolderRefused("not_pdf", _("The main document must be a PDF file."), field="document")
    try:
        from io import BytesIO

        from pyhanko.pdf_utils.reader import PdfFileReader

        if PdfFileReader(BytesIO(data), strict=False).encrypted:
            raise FolderRefused(
                "encrypted_pdf",
                _("This PDF is protected by a password or encrypted: send it without protection."),
                field="document",
            )
        page_size(data, 0)
    except UnsupportedPdf:
        raise FolderRefused("unreadable_pdf", _("This PDF cannot be read."), field="document") from None
    except FolderRefused:
        raise
    except Exception:  # pyHanko raises many kinds of errors on broken files
        raise FolderRefused("unreadable_pdf", _("This PDF cannot be read."), field="document") from None


def folder_submit(
    *,
    actor: User,
    administration: Administration,
    title: str,
    document: bytes,
    document_name: str,
    circuit: Circuit | None = None,
    steps: Sequence[StepSpec] | None = None,
    annexes: Sequence[tuple[str, bytes, str]] = (),
    service: Service | None = None,
    case_id: int | None = None,
    reply: dict[str, object] | None = None,
) -> Folder:
    """Start a folder: the document goes to the circuit's first step.

    ``steps`` replace the circuit's when given: allowed only for adjustable circuits (or without
    a circuit). ``annexes``: (name, bytes, content type), already checked by the upload checks.
    """
    if not roles_in(actor, administration) & STAFF_ROLES:
        raise NotFound
    title = title.strip()
    if not title:
        raise FolderRefused("no_title", _("Give the folder a title."), field="title")
    if circuit is not None and (circuit.administration_id != administration.pk or not circuit.is_active):
        raise FolderRefused("bad_circuit", _("This circuit is not offered here."), field="circuit")
    if circuit is not None:
        template = [StepSpec.of(step) for step in circuit.steps.prefetch_related("people")]
        if steps is not None and list(steps) != template and not circuit.adjustable:
            raise FolderRefused("fixed_circuit", _("This circuit cannot be adjusted."), field="steps")
        specs = list(steps) if steps is not None else template
    elif steps is not None:
        specs = list(steps)
    else:
        raise FolderRefused("no_circuit", _("Choose a circuit or give the steps."), field="circuit")
    if service is not None and service.administration_id != administration.pk:
        raise NotFound
    checked = _check_steps(administration, specs)
    check_pdf(document)
    specs = [_placed(spec, document) for spec in specs]
    sha = storage.store_bytes(document)
    annex_rows = [(name, storage.store_bytes(data), len(data), content_type) for name, data, content_type in annexes]
    moment = now()
    with transaction.atomic():
        folder = Folder.objects.create(
            administration=administration,
            title=title[:300],
            document_type=circuit.document_type if circuit is not None else "",
            submitter=actor,
            service=service if service is not None else (circuit.service if circuit is not None else None),
            circuit=circuit,
            current=0,
            document_name=document_name[:200] or "document.pdf",
            document=sha,
            original=sha,
            submitted_at=moment,
            updated_at=moment,
            case_id=case_id,
            reply=reply or {},
        )
        FolderAnnex.objects.bulk_create(
            FolderAnnex(folder=folder, name=name[:200], sha256=blob, size=size, content_type=content_type)
            for name, blob, size, content_type in annex_rows
        )
        for position, spec in enumerate(specs, start=1):
            step = FolderStep.objects.create(folder=folder, position=position, **spec.fields())
            StepActor.objects.bulk_create(StepActor(step=step, user=checked.people[user_id]) for user_id in spec.people)
        _event(folder, Kind.SUBMITTED, actor=actor, at=moment, data={"steps": len(specs)})
        _advance(folder, moment)
        audit_record(actor=actor, action="folder.submitted", obj=folder, administration=administration)
    return folder


def _placed(spec: StepSpec, document: bytes) -> StepSpec:
    """Resolve a text tag to its page and position once, at submission (signing stays cheap)."""
    if spec.kind != StepKind.SIGNATURE or not spec.tag:
        return spec
    found = find_tag(document, spec.tag)
    if found is None:
        return spec
    page, x_mm, y_mm = found
    return StepSpec(**{**spec.__dict__, "page": page + 1, "x_mm": x_mm, "y_mm": y_mm})


# ---------------------------------------------------------------- moving on


def _event(
    folder: Folder,
    kind: str,
    *,
    actor: User | None,
    at: datetime,
    step: FolderStep | None = None,
    on_behalf_of: User | None = None,
    text: str = "",
    page: int | None = None,
    data: dict[str, object] | None = None,
) -> FolderEvent:
    return FolderEvent.objects.create(
        folder=folder,
        at=at,
        kind=kind,
        actor=actor,
        on_behalf_of=on_behalf_of,
        step=step.position if step is not None else None,
        text=text,
        page=page,
        document=folder.document,
        data=data or {},
    )


def _advance(folder: Folder, moment: datetime) -> None:
    """Open the next steps: opinions are opened and passed, the seal is applied, and the first
    visa or signature waits for its people. Without one, the circuit is complete."""
    for step in folder.steps.filter(state=State.WAITING).order_by("position"):
        if step.kind == StepKind.OPINION:
            step.state, step.started_at = State.ACTIVE, moment
            step.save(update_fields=["state", "started_at"])
            continue
        if step.kind == StepKind.SEAL:
            _apply_seal(folder, step, moment)
            continue
        step.state, step.started_at = State.ACTIVE, moment
        step.save(update_fields=["state", "started_at"])
        folder.current = step.position
        folder.updated_at = moment
        folder.save(update_fields=["current", "updated_at", "document"])
        return
    _complete(folder, moment)


def _apply_seal(folder: Folder, step: FolderStep, moment: datetime) -> None:
    administration = folder.administration
    pdf = storage.read_bytes(folder.document)
    pki = installation_pki()
    sealed = seal_pdf(
        pdf, pki=pki, administration_code=administration.code, reason=f"Cachet de {administration.name_fr}"
    )
    sealed = add_validation_data(sealed, pki=pki, identity=pki.seal_for(code=administration.code))
    folder.document = storage.store_bytes(sealed)
    step.state, step.started_at, step.finished_at = State.DONE, moment, moment
    step.save(update_fields=["state", "started_at", "finished_at"])
    _event(folder, Kind.SEALED, actor=None, at=moment, step=step)


def _complete(folder: Folder, moment: datetime) -> None:
    if folder.case_id is not None and folder.reply:
        # An answer drafted on the processing desk: registered now, as it was signed.
        folder.document = _register_reply(folder)
    folder.status = Folder.Status.COMPLETED
    folder.current = 0
    folder.finished_at = folder.updated_at = moment
    folder.save(update_fields=["status", "current", "finished_at", "updated_at", "document"])
    # Opinions never given stay open no longer.
    folder.steps.filter(state=State.ACTIVE).update(state=State.DONE, finished_at=moment)
    _event(folder, Kind.COMPLETED, actor=None, at=moment)
    proof_issue(folder)


# ---------------------------------------------------------------- answers of the processing desk


def reply_submit(
    *,
    actor: User,
    case_id: int,
    text: LetterText,
    reject: bool = False,
    template: LetterTemplate | None = None,
    circuit: Circuit | None = None,
    steps: Sequence[StepSpec] | None = None,
) -> Folder:
    """Send an answer drafted on the processing desk through a circuit before it is registered.

    The draft letter is the folder's document: its visas and signatures are given on it; when
    the circuit completes, the letter is registered in the outgoing register and sealed with
    its number (the seal of registration replaces a seal step of the circuit) and delivered."""
    case = Case.objects.select_related("correspondence", "administration").filter(pk=case_id).first()
    if case is None:
        raise NotFound
    if Folder.objects.filter(case_id=case_id, status=Folder.Status.IN_PROGRESS).exists():
        raise FolderRefused(
            "reply_in_circuit", _("An answer to this request is already going through a circuit."), status=409
        )
    if circuit is not None and (circuit.administration_id != case.administration_id or not circuit.is_active):
        raise FolderRefused("bad_circuit", _("This circuit is not offered here."), field="circuit")
    specs = (
        list(steps)
        if steps is not None
        else [StepSpec.of(s) for s in circuit.steps.prefetch_related("people")]
        if circuit
        else []
    )
    specs = [spec for spec in specs if spec.kind != StepKind.SEAL]
    _check_steps(case.administration, specs)
    signing = sum(1 for spec in specs if spec.kind == StepKind.SIGNATURE)
    pdf, token = case_reply_draft(
        actor=actor,
        case_id=case_id,
        text=text,
        reject=reject,
        signer=_letter_signer(case.administration, specs),
        signatures=signing,
    )
    room = find_tag(pdf, SIGNATURE_TAG)
    seal_at = None
    if room is not None:
        # Blocks two a row in the room, from its top: the seal on the left, then each signature.
        page, x_mm, y_mm = room
        seal_at = [page, x_mm, y_mm]
        slot = 1
        placed = []
        for spec in specs:
            if spec.kind == StepKind.SIGNATURE:
                x, y = (x_mm if slot % 2 == 0 else x_mm + 95), y_mm - 30 * (slot // 2)
                placed.append(StepSpec(**{**spec.__dict__, "page": page + 1, "x_mm": x, "y_mm": max(0, y), "tag": ""}))
                slot += 1
            else:
                placed.append(spec)
        specs = placed
    number = case.correspondence.number
    return folder_submit(
        actor=actor,
        administration=case.administration,
        title=(_("Rejection of %(number)s") if reject else _("Answer to %(number)s")) % {"number": number},
        document=pdf,
        document_name=f"{number}-reponse.pdf",
        steps=specs,
        service=case.service,
        case_id=case_id,
        reply={
            "body_ar": text.body_ar,
            "body_fr": text.body_fr,
            "recourse_ar": text.recourse_ar,
            "recourse_fr": text.recourse_fr,
            "reject": reject,
            "template": template.pk if template is not None else None,
            "token": token,
            "seal_at": seal_at,
        },
    )


def _letter_signer(administration: Administration, specs: Sequence[StepSpec]) -> dict[str, str] | None:
    """Who signs the letter, as it prints them: the named person of the circuit's last signature."""
    for spec in reversed(specs):
        if spec.kind == StepKind.SIGNATURE and spec.actor_kind != ActorKind.ROLE and spec.people:
            user = User.objects.filter(pk=spec.people[-1]).first()
            if user is None:
                return None
            certificate = current_certificate(user, administration)
            return {
                "name": user.full_name,
                "title_ar": certificate.title_ar if certificate else "",
                "title_fr": certificate.title_fr if certificate else "",
            }
    return None


def _register_reply(folder: Folder) -> str:
    spec = folder.reply
    template = LetterTemplate.objects.filter(pk=spec.get("template"), administration=folder.administration).first()
    reply = case_reply(
        actor=folder.submitter,
        case_id=folder.case_id,  # type: ignore[arg-type]
        text=LetterText(
            body_ar=spec.get("body_ar", ""),
            body_fr=spec.get("body_fr", ""),
            recourse_ar=spec.get("recourse_ar", ""),
            recourse_fr=spec.get("recourse_fr", ""),
        ),
        template=template,
        reject=bool(spec.get("reject")),
        signed_pdf=storage.read_bytes(folder.document),
        token=str(spec["token"]),
        seal_at=tuple(spec["seal_at"]) if spec.get("seal_at") else None,
    )
    assert isinstance(reply, Reply)
    letter = reply.outgoing.attachments.order_by("position").first()
    assert letter is not None
    return letter.blob_id


# ---------------------------------------------------------------- who may act


def _acting_as(user: User, folder: Folder, step: FolderStep, today: date) -> tuple[StepActor | None, User | None]:
    """Whom ``user`` acts for at ``step``: (the actor row, the person they stand in for), or
    (None, None) when it is not theirs to act."""
    if step.actor_kind == ActorKind.ROLE:
        holders = role_holders(folder.administration, step.role, step.service_id)
        if user.pk in holders:
            actor, _created = StepActor.objects.get_or_create(step=step, user=user)
            return actor, None
        for delegator_id in (
            delegators_of(user, folder.administration, today, document_type=folder.document_type) & holders
        ):
            actor, _created = StepActor.objects.get_or_create(step=step, user_id=delegator_id)
            return actor, actor.user
        return None, None
    waiting = {row.user_id: row for row in step.actors.filter(acted_at=None).select_related("user")}
    if user.pk in waiting:
        return waiting[user.pk], None
    for delegator_id in delegators_of(user, folder.administration, today, document_type=folder.document_type):
        if delegator_id in waiting:
            return waiting[delegator_id], waiting[delegator_id].user
    return None, None


def _locked_folder(folder_id: int) -> Folder:
    folder = Folder.objects.select_for_update().select_related("administration").filter(pk=folder_id).first()
    if folder is None:
        raise NotFound
    return folder


def _turn(folder: Folder, actor: User, kinds: Sequence[str]) -> tuple[FolderStep, StepActor, User | None]:
    if folder.status != Folder.Status.IN_PROGRESS:
        raise FolderRefused("finished", _("This folder is no longer in a circuit."), status=409)
    today = local_date(now())
    steps = folder.steps.filter(state=State.ACTIVE, kind__in=kinds).order_by("position")
    for step in steps:
        if step.kind in BLOCKING and step.position != folder.current:
            continue
        row, delegator = _acting_as(actor, folder, step, today)
        if row is not None:
            return step, row, delegator
    raise FolderRefused("not_your_turn", _("It is not your turn to act on this folder."), status=409)


def _same_document(folder: Folder, fingerprint: str) -> None:
    if fingerprint != folder.document:
        raise FolderRefused(
            "document_changed",
            _("The document changed since you opened it: open it again and check it before acting."),
            field="fingerprint",
            status=409,
        )


def _done(step: FolderStep, row: StepActor, actor: User, moment: datetime) -> bool:
    """Record ``row``'s act; True when the whole step is done."""
    row.acted_at = moment
    row.acted_by = actor if actor.pk != row.user_id else None
    row.save(update_fields=["acted_at", "acted_by"])
    if step.actor_kind == ActorKind.ALL and step.actors.filter(acted_at=None).exists():
        return False
    step.state, step.finished_at = State.DONE, moment
    step.save(update_fields=["state", "finished_at"])
    return True


def _audit_delegation(folder: Folder, actor: User, delegator: User | None, act: str) -> None:
    if delegator is not None:
        audit_record(
            actor=actor,
            action=f"folder.{act}_by_delegation",
            obj=folder,
            administration=folder.administration,
            subject_user=delegator,
            data={"delegator": delegator.pk},
        )


# ---------------------------------------------------------------- acts


def folder_approve(
    *, actor: User, folder_id: int, fingerprint: str, text: str = "", passphrase: str = "", signer: Signer | None = None
) -> Folder:
    """A visa: the actor approves the document whose fingerprint they were shown. With their
    passphrase (or an unlocked ``signer``), the visa is also signed into the PDF: an invisible
    PAdES signature ("Visa"), so that the document itself carries it; without, it is recorded
    in the history and the proof slip (a simple electronic signature)."""
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        step, row, delegator = _turn(folder, actor, [StepKind.VISA])
        _same_document(folder, fingerprint)
        moment = now()
        data: dict[str, object] = {"level": "simple"}
        if passphrase or signer is not None:
            if signer is None:
                signer = signer_for(actor, folder.administration, passphrase)
            pki = installation_pki()
            visa = sign_pdf(
                storage.read_bytes(folder.document),
                identity=signer.identity,
                pki=pki,
                reason=f"Visa ({step.position})" + (f" p.o. {delegator.email}" if delegator else ""),
                field_name=f"Visa{step.position}",
                signing_time=moment,
            )
            folder.document = storage.store_bytes(add_validation_data(visa, pki=pki, identity=signer.identity))
            folder.save(update_fields=["document"])
            data = {
                "level": "advanced",
                "pades": "B-LT",
                "signed": fingerprint,
                "certificate": signer.certificate.serial,
            }
        _event(folder, Kind.APPROVED, actor=actor, at=moment, step=step, on_behalf_of=delegator, text=text, data=data)
        _audit_delegation(folder, actor, delegator, "approved")
        if _done(step, row, actor, moment):
            _advance(folder, moment)
        else:
            folder.updated_at = moment
            folder.save(update_fields=["updated_at"])
    return folder


def folder_give_opinion(*, actor: User, folder_id: int, text: str) -> Folder:
    """An opinion, asked for but never waited for."""
    if not text.strip():
        raise FolderRefused("no_text", _("Write your opinion."), field="text")
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        step, row, delegator = _turn(folder, actor, [StepKind.OPINION])
        moment = now()
        _event(folder, Kind.OPINION, actor=actor, at=moment, step=step, on_behalf_of=delegator, text=text.strip())
        _audit_delegation(folder, actor, delegator, "opinion")
        _done(step, row, actor, moment)
    return folder


def signer_for(actor: User, administration: Administration, passphrase: str) -> Signer:
    """The actor's unlocked signing key (refused: none, revoked, expired, wrong passphrase)."""
    return unlock(current_certificate(actor, administration), passphrase)


def folder_sign(
    *,
    actor: User,
    folder_id: int,
    fingerprint: str,
    passphrase: str = "",
    signer: Signer | None = None,
    placement: tuple[int, int, int] | None = None,
) -> Folder:
    """A signature: the document shown (``fingerprint``) is signed, visibly, with the actor's
    certificate; one more incremental signature, earlier ones untouched. ``placement`` (page
    from 1, 0 for the last; millimetres from the left and from the bottom) is where the
    signatory puts their block, instead of where the circuit or the document's tag says."""
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        step, row, delegator = _turn(folder, actor, [StepKind.SIGNATURE])
        _same_document(folder, fingerprint)
        if signer is None:
            signer = signer_for(actor, folder.administration, passphrase)
        elif signer.certificate.user_id != actor.pk or signer.certificate.administration_id != folder.administration_id:
            raise NotFound
        moment = now()
        pdf = storage.read_bytes(folder.document)
        block = signer.block
        if delegator is not None:
            certificate = signer.certificate
            block = draw_block(
                signer=actor.full_name,
                administration=folder.administration,
                title_fr=certificate.title_fr,
                title_ar=certificate.title_ar,
                delegator=delegator.full_name,
            )
        signed = sign_pdf(
            pdf,
            identity=signer.identity,
            pki=installation_pki(),
            reason=f"Signature ({step.position})" + (f" p.o. {delegator.email}" if delegator else ""),
            field_name=f"Signature{step.position}",
            appearance=_appearance(pdf, _placed_at(step, placement), block, moment),
            signing_time=moment,
        )
        # B-LT: the chain and the CRL travel with the document.
        signed = add_validation_data(signed, pki=installation_pki(), identity=signer.identity)
        folder.document = storage.store_bytes(signed)
        _event(
            folder,
            Kind.SIGNED,
            actor=actor,
            at=moment,
            step=step,
            on_behalf_of=delegator,
            data={
                "signed": fingerprint,
                "certificate": signer.certificate.serial,
                "level": "advanced",
                "pades": "B-LT",
            },
        )
        _audit_delegation(folder, actor, delegator, "signed")
        if _done(step, row, actor, moment):
            _advance(folder, moment)
        else:
            folder.updated_at = moment
            folder.save(update_fields=["updated_at", "document"])
    return folder


def _placed_at(step: FolderStep, placement: tuple[int, int, int] | None) -> FolderStep:
    if placement is None:
        return step
    page, x_mm, y_mm = placement
    if page < 0 or x_mm < 0 or y_mm < 0:
        raise FolderRefused("bad_placement", _("Give a page and a position inside it."), field="page")
    step.page, step.x_mm, step.y_mm = page, x_mm, y_mm  # for this signature only (not saved)
    return step


def _appearance(pdf: bytes, step: FolderStep, block: BlockImage, moment: datetime) -> Appearance:
    page = step.page - 1 if step.page > 0 else -1
    try:
        x0, y0, x1, y1 = page_size(pdf, page)
    except UnsupportedPdf:
        raise FolderRefused("bad_placement", _("The document has no such page."), field="page") from None
    width = min(BLOCK_WIDTH_MM * POINTS_PER_MM, (x1 - x0) - 10)
    x = min(max(x0 + step.x_mm * POINTS_PER_MM, x0), x1 - width)
    y = min(max(y0 + step.y_mm * POINTS_PER_MM, y0), y1 - 20)
    stamp = moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    return Appearance(page=page, x=x, y=y, width=width, image=block, lines=(stamp,))


def folder_reject(*, actor: User, folder_id: int, reason: str) -> Folder:
    """Back to the submitter, with the reason; the folder leaves the circuit."""
    if not reason.strip():
        raise FolderRefused("no_reason", _("Say why the folder is rejected."), field="reason")
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        step, _row, delegator = _turn(folder, actor, BLOCKING)
        moment = now()
        folder.status = Folder.Status.REJECTED
        folder.current = 0
        folder.finished_at = folder.updated_at = moment
        folder.save(update_fields=["status", "current", "finished_at", "updated_at"])
        folder.steps.filter(state=State.ACTIVE).update(state=State.WAITING, started_at=None)
        _event(folder, Kind.REJECTED, actor=actor, at=moment, step=step, on_behalf_of=delegator, text=reason.strip())
        _audit_delegation(folder, actor, delegator, "rejected")
    return folder


def folder_return(*, actor: User, folder_id: int, to_position: int, reason: str) -> Folder:
    """Send the folder back to an earlier visa or signature, which is then done again."""
    if not reason.strip():
        raise FolderRefused("no_reason", _("Say why the folder goes back."), field="reason")
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        step, _row, delegator = _turn(folder, actor, BLOCKING)
        target = folder.steps.filter(position=to_position, kind__in=BLOCKING, position__lt=step.position).first()
        if target is None:
            raise FolderRefused("bad_return", _("Choose an earlier visa or signature."), field="to_position")
        moment = now()
        again = folder.steps.filter(position__gte=target.position, position__lte=step.position, kind__in=BLOCKING)
        StepActor.objects.filter(step__in=again, step__actor_kind=ActorKind.ROLE).delete()
        StepActor.objects.filter(step__in=again).update(acted_at=None, acted_by=None)
        again.update(state=State.WAITING, started_at=None, finished_at=None)
        _event(
            folder,
            Kind.RETURNED,
            actor=actor,
            at=moment,
            step=step,
            on_behalf_of=delegator,
            text=reason.strip(),
            data={"to": target.position},
        )
        target.refresh_from_db()
        target.state, target.started_at = State.ACTIVE, moment
        target.save(update_fields=["state", "started_at"])
        folder.current = target.position
        folder.updated_at = moment
        folder.save(update_fields=["current", "updated_at"])
    return folder


def participants(folder: Folder) -> set[int]:
    """Who may read a folder: its submitter and everyone named at one of its steps or who acted."""
    people = {folder.submitter_id}
    people.update(StepActor.objects.filter(step__folder=folder).values_list("user_id", flat=True))
    people.update(
        user_id for user_id in FolderEvent.objects.filter(folder=folder).values_list("actor_id", flat=True) if user_id
    )
    return people


def folder_comment(*, actor: User, folder_id: int, text: str, page: int | None = None) -> FolderEvent:
    if not text.strip():
        raise FolderRefused("no_text", _("Write the comment."), field="text")
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        if page is not None and page < 1:
            raise FolderRefused("bad_page", _("Pages are numbered from 1."), field="page")
        return _event(folder, Kind.ANNOTATED, actor=actor, at=now(), text=text.strip()[:4000], page=page)


def folder_withdraw(*, actor: User, folder_id: int) -> Folder:
    with transaction.atomic():
        folder = _locked_folder(folder_id)
        if folder.submitter_id != actor.pk:
            raise NotFound
        if folder.status != Folder.Status.IN_PROGRESS:
            raise FolderRefused("finished", _("This folder is no longer in a circuit."), status=409)
        moment = now()
        folder.status, folder.current = Folder.Status.CANCELLED, 0
        folder.finished_at = folder.updated_at = moment
        folder.save(update_fields=["status", "current", "finished_at", "updated_at"])
        _event(folder, Kind.WITHDRAWN, actor=actor, at=moment)
    return folder


def delegation_create(
    *,
    actor: User,
    administration: Administration,
    delegate: User,
    starts_on: date,
    ends_on: date,
    document_types: Sequence[str] = (),
) -> Delegation:
    """``actor`` declares an absence: ``delegate`` acts at their steps from ``starts_on`` to
    ``ends_on`` (for these types of document, or all)."""
    members = _members(administration)
    if not members.get(actor.pk, set()) & STAFF_ROLES:
        raise NotFound
    if delegate.pk == actor.pk or not members.get(delegate.pk, set()) & STAFF_ROLES:
        raise FolderRefused(
            "bad_delegate", _("Choose someone else who works for this administration."), field="delegate"
        )
    if ends_on < starts_on:
        raise FolderRefused("bad_period", _("The end comes before the start."), field="ends_on")
    if ends_on < local_date(now()):
        raise FolderRefused("bad_period", _("This period is already over."), field="ends_on")
    with transaction.atomic():
        delegation = Delegation.objects.create(
            administration=administration,
            delegator=actor,
            delegate=delegate,
            starts_on=starts_on,
            ends_on=ends_on,
            document_types=[t.strip() for t in document_types if t.strip()],
            created_at=now(),
        )
        audit_record(
            actor=actor,
            action="delegation.created",
            obj=delegation,
            administration=administration,
            subject_user=delegate,
            data={"from": starts_on.isoformat(), "until": ends_on.isoformat()},
        )
    return delegation


def delegation_end(*, actor: User, delegation_id: int) -> None:
    with transaction.atomic():
        delegation = Delegation.objects.select_for_update().filter(pk=delegation_id, delegator=actor).first()
        if delegation is None:
            raise NotFound
        if delegation.ended_at is None:
            delegation.ended_at = now()
            delegation.save(update_fields=["ended_at"])
            audit_record(
                actor=actor,
                action="delegation.ended",
                obj=delegation,
                administration=delegation.administration,
                subject_user=delegation.delegate,
            )


@dataclass(frozen=True)
class BatchResult:
    folder_id: int
    title: str
    ok: bool
    message: str = ""


def folders_sign(
    *, actor: User, administration: Administration, folder_ids: Sequence[int], passphrase: str
) -> list[BatchResult]:
    """Sign many folders: the key is unlocked once; each folder is signed in its own transaction,
    so a failure on one is reported and the others go on."""
    signer = signer_for(actor, administration, passphrase)  # refused as a whole: nothing signed
    results = []
    titles = dict(Folder.objects.filter(pk__in=folder_ids, administration=administration).values_list("pk", "title"))
    for folder_id in folder_ids:
        if folder_id not in titles:
            results.append(BatchResult(folder_id, "", False, _("Not found.")))
            continue
        current = Folder.objects.filter(pk=folder_id).values_list("document", flat=True).first() or ""
        try:
            folder_sign(actor=actor, folder_id=folder_id, fingerprint=current, signer=signer)
        except Refused as refused:
            results.append(BatchResult(folder_id, titles[folder_id], False, refused.message))
        except Exception:  # a broken document must not stop the others; logged, reported
            logger.exception("batch signature of folder %s failed", folder_id)
            results.append(BatchResult(folder_id, titles[folder_id], False, _("This folder could not be signed.")))
        else:
            results.append(BatchResult(folder_id, titles[folder_id], True))
    return results


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
