"""Submitting a folder, and answers of the processing desk that go through a circuit before they
are registered (when it completes: :mod:`parapheur.services.finishing`)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from core.clock import now
from core.errors import NotFound
from core.text import one_line
from documents import storage
from parapheur.certificates import current_certificate
from parapheur.models import (
    ActorKind,
    Circuit,
    Folder,
    FolderAnnex,
    FolderEvent,
    FolderStep,
    StepActor,
    StepKind,
)
from parapheur.services.finishing import folder_finished
from parapheur.services.moving import _advance, _event
from parapheur.services.steps import FolderRefused, StepSpec, _check_steps
from parapheur.tags import find_tag
from registry.idempotency import Idempotency, idempotency_bind
from tenancy.access import member_may
from tenancy.models import Administration, Service, User
from tenancy.permissions import Action
from trust.pdf_update import UnsupportedPdf, page_size
from workflow.letters import SIGNATURE_TAG
from workflow.models import Case, LetterTemplate
from workflow.services import LetterText, case_reply_draft

Kind = FolderEvent.Kind
State = FolderStep.State


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
    idempotency: Idempotency | None = None,
) -> Folder:
    """Start a folder: the document goes to the circuit's first step.

    ``steps`` replace the circuit's when given: allowed only for adjustable circuits (or without
    a circuit). ``annexes``: (name, bytes, content type), already checked by the upload checks.
    ``idempotency`` (an API request's key) is bound to the folder in its transaction.
    """
    if not member_may(actor, administration, Action.ACT_IN_CIRCUIT):
        raise NotFound
    title = one_line(title)
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
        idempotency_bind(idempotency, folder.pk)
        FolderAnnex.objects.bulk_create(
            FolderAnnex(folder=folder, name=name[:200], sha256=blob, size=size, content_type=content_type)
            for name, blob, size, content_type in annex_rows
        )
        for position, spec in enumerate(specs, start=1):
            step = FolderStep.objects.create(folder=folder, position=position, **spec.fields())
            StepActor.objects.bulk_create(StepActor(step=step, user=checked.people[user_id]) for user_id in spec.people)
        _event(folder, Kind.SUBMITTED, actor=actor, at=moment, data={"steps": len(specs)})
        waiting = _advance(folder, moment)  # a circuit may start with the seal
        audit_record(actor=actor, action=AuditAction.FOLDER_SUBMITTED, obj=folder, administration=administration)
    return folder_finished(folder, waiting=waiting)


def _placed(spec: StepSpec, document: bytes) -> StepSpec:
    """Resolve a text tag to its page and position once, at submission (signing stays cheap)."""
    if spec.kind != StepKind.SIGNATURE or not spec.tag:
        return spec
    found = find_tag(document, spec.tag)
    if found is None:
        return spec
    page, x_mm, y_mm = found
    return StepSpec(**{**spec.__dict__, "page": page + 1, "x_mm": x_mm, "y_mm": y_mm})


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
    # One answer at a time: one in its circuit, or whose circuit completed and which is being
    # registered (parapheur.services.finishing).
    going = Q(status=Folder.Status.IN_PROGRESS) | Q(status=Folder.Status.COMPLETED, finishing=True, letter=None)
    if Folder.objects.filter(going, case_id=case_id).exists():
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
