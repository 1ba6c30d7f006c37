"""Pages of the parapheur: what waits for me, my folders, a folder and its acts, a new folder,
batch signing, my signing certificate, my delegations."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import FileResponse, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.clock import now
from core.errors import NotFound, Refused
from core.uploads import wants_json
from desk.operations import operation_on
from desk.parapheur_forms import (
    ApproveForm,
    BatchSignForm,
    CircuitForm,
    CommentForm,
    DelegationForm,
    EnrolForm,
    FolderForm,
    ImportForm,
    OpinionForm,
    ReasonForm,
    ReturnForm,
    SignForm,
)
from desk.tabs import desk_scope
from documents import storage
from parapheur import certificates, selectors, services
from parapheur.models import ActorKind, Folder, StepKind
from parapheur.services import StepSpec
from registry.downloads import being_prepared, file_response
from tenancy.access import Scope
from tenancy.http import SignedInRequest
from tenancy.models import User
from tenancy.permissions import Action
from workflow.calendar import local_date


def _scope(request: SignedInRequest, code: str) -> Scope:
    return desk_scope(request, code)


def _people(scope: Scope) -> list[User]:
    return selectors.circuit_people(scope.administration)


def _context(scope: Scope, **extra: Any) -> dict[str, Any]:
    return {"administration": scope.administration, "section": "parapheur", "scope": scope, **extra}


@login_required
def home(request: SignedInRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    today = local_date(now())
    pending = list(selectors.pending_steps(scope.user, scope.administration, today)[:200])
    return render(
        request,
        "desk/parapheur/home.html",
        _context(
            scope,
            pending=pending,
            can_batch=any(step.kind == StepKind.SIGNATURE for step in pending),
            batch_form=BatchSignForm(),
            folders=selectors.my_folders(scope.user, scope.administration)[:50],
            certificate=certificates.current_certificate(scope.user, scope.administration),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def folder_new(request: SignedInRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    if not scope.may(Action.ACT_IN_CIRCUIT):
        raise NotFound
    circuits = selectors.active_circuits(scope.administration)
    own = [s for s in scope.services if s.pk in scope.own_services]
    default = services.circuit_for(scope.administration, service=own[0] if own else None)
    form = FolderForm(
        request.POST or None,
        request.FILES or None,
        circuits=circuits,
        people=_people(scope),
        initial={"circuit": default.pk if default else None},
    )
    if request.method == "POST" and form.is_valid():
        folder = _submit(scope, form)
        if folder is not None:
            messages.success(request, _("The folder is on its way: it waits for its first step."))
            return redirect("desk:folder", code=code, pk=folder.pk)
    return render(request, "desk/parapheur/new.html", _context(scope, form=form), status=400 if form.is_bound else 200)


def _submit(scope: Scope, form: FolderForm) -> Folder | None:
    """The folder the form describes, or None with the refusal on the form."""
    data = form.cleaned_data
    visas = [data[f"visa{n}"].pk for n in (1, 2, 3) if data[f"visa{n}"]]
    signatory = data["signatory"].pk if data["signatory"] else None
    circuit = data["circuit"]
    document_name, document = data["document"]
    annexes = []
    for annex in data["annexes"]:
        annex.upload.seek(0)
        annexes.append((annex.filename, annex.upload.read(), annex.content_type))
    try:
        steps = None
        if circuit is None:
            steps = [StepSpec(kind=StepKind.VISA, people=(user_id,)) for user_id in visas]
            if signatory is not None:
                steps.append(StepSpec(kind=StepKind.SIGNATURE, people=(signatory,)))
            if data["seal"]:
                steps.append(StepSpec(kind=StepKind.SEAL))
        elif visas or signatory is not None:
            steps = services.adjusted(circuit, extra_visas=visas, signatory=signatory)
        return services.folder_submit(
            actor=scope.user,
            administration=scope.administration,
            title=data["title"],
            document=document,
            document_name=document_name,
            circuit=circuit,
            steps=steps,
            annexes=annexes,
        )
    except Refused as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return None


def _folder(scope: Scope, pk: int) -> Folder:
    return selectors.folder_for(scope, pk)


@login_required
def folder(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    scope = _scope(request, code)
    found = _folder(scope, pk)
    today = local_date(now())
    mine = list(selectors.pending_steps(scope.user, scope.administration, today).filter(folder=found))
    blocking = next((s for s in mine if s.kind in (StepKind.VISA, StepKind.SIGNATURE)), None)
    steps = list(found.steps.prefetch_related("actors__user").select_related("service"))
    earlier = [
        (s.position, f"{s.position}. {s.get_kind_display()}")
        for s in steps
        if blocking and s.position < blocking.position and s.kind in (StepKind.VISA, StepKind.SIGNATURE)
    ]
    context = _context(
        scope,
        folder=found,
        steps=steps,
        events=found.events.select_related("actor", "on_behalf_of"),
        annexes=found.annexes.all(),
        step=blocking,
        opinion=next((s for s in mine if s.kind == StepKind.OPINION), None),
        approve_form=ApproveForm(initial={"fingerprint": found.document}),
        sign_form=SignForm(initial={"fingerprint": found.document}),
        reject_form=ReasonForm(prefix="reject"),
        return_form=ReturnForm(steps=earlier, prefix="return") if earlier else None,
        opinion_form=OpinionForm(prefix="opinion"),
        comment_form=CommentForm(prefix="comment"),
        is_submitter=found.submitter_id == scope.user.pk,
        role_kind=ActorKind.ROLE,
    )
    return render(request, "desk/parapheur/folder.html", context)


# One view per act on a folder (desk/operations.py).
folder_operation = operation_on(selectors.folder_for, "desk:folder")


@folder_operation
def folder_approve(request: SignedInRequest, scope: Scope, found: Folder) -> Form:
    form = ApproveForm(request.POST)
    if form.is_valid():
        services.folder_approve(
            actor=scope.user,
            folder_id=found.pk,
            fingerprint=form.cleaned_data["fingerprint"],
            text=form.cleaned_data["text"],
            passphrase=form.cleaned_data["passphrase"],
        )
        messages.success(request, _("Visa given."))
    return form


@folder_operation
def folder_sign(request: SignedInRequest, scope: Scope, found: Folder) -> Form:
    form = SignForm(request.POST)
    if form.is_valid():
        services.folder_sign(
            actor=scope.user,
            folder_id=found.pk,
            fingerprint=form.cleaned_data["fingerprint"],
            passphrase=form.cleaned_data["passphrase"],
            placement=form.placement(),
        )
        messages.success(request, _("Signed."))
    return form


@folder_operation
def folder_reject(request: SignedInRequest, scope: Scope, found: Folder) -> Form:
    form = ReasonForm(request.POST, prefix="reject")
    if form.is_valid():
        services.folder_reject(actor=scope.user, folder_id=found.pk, reason=form.cleaned_data["reason"])
        messages.success(request, _("Rejected: the folder went back to its submitter."))
    return form


@folder_operation
def folder_return(request: SignedInRequest, scope: Scope, found: Folder) -> Form:
    positions = [(s.position, str(s.position)) for s in found.steps.all()]
    form = ReturnForm(request.POST, steps=positions, prefix="return")
    if form.is_valid():
        services.folder_return(
            actor=scope.user,
            folder_id=found.pk,
            to_position=form.cleaned_data["to_position"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, _("Sent back to an earlier step."))
    return form


@folder_operation
def folder_opinion(request: SignedInRequest, scope: Scope, found: Folder) -> Form:
    form = OpinionForm(request.POST, prefix="opinion")
    if form.is_valid():
        services.folder_give_opinion(actor=scope.user, folder_id=found.pk, text=form.cleaned_data["text"])
        messages.success(request, _("Opinion given."))
    return form


@folder_operation
def folder_comment(request: SignedInRequest, scope: Scope, found: Folder) -> Form:
    form = CommentForm(request.POST, prefix="comment")
    if form.is_valid():
        services.folder_comment(
            actor=scope.user, folder_id=found.pk, text=form.cleaned_data["text"], page=form.cleaned_data["page"]
        )
        messages.success(request, _("Comment added."))
    return form


@folder_operation
def folder_withdraw(request: SignedInRequest, scope: Scope, found: Folder) -> None:
    services.folder_withdraw(actor=scope.user, folder_id=found.pk)
    messages.success(request, _("Folder withdrawn."))


@login_required
def folder_file(request: SignedInRequest, code: str, pk: int, which: str) -> HttpResponseBase:
    scope = _scope(request, code)
    found = _folder(scope, pk)
    if (which == "document" and found.finishing) or (which == "proof" and selectors.proof_pending(found)):
        return being_prepared()  # being sealed or finished (parapheur.services.finishing)
    if which == "document":
        sha, name = found.document, found.document_name
    elif which == "original":
        sha, name = found.original, found.document_name
    elif which == "proof" and found.proof:
        sha, name = found.proof, f"proof-P-{found.pk}.pdf"
    else:
        raise NotFound
    response = FileResponse(storage.open_file(sha), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name.replace(chr(34), "")}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def folder_annex(request: SignedInRequest, code: str, pk: int, annex_id: int) -> HttpResponseBase:
    """An annex of a folder, with the type it was checked to have when it was sent (a scan may
    be an image), as a download."""
    scope = _scope(request, code)
    annex = _folder(scope, pk).annexes.filter(pk=annex_id).first()
    if annex is None:
        raise NotFound
    return file_response(annex.sha256, annex.content_type, annex.name)


@login_required
@require_POST
def batch_sign(request: SignedInRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    form = BatchSignForm(request.POST)
    ids = [int(v) for v in request.POST.getlist("folders") if v.isdigit()][:200]
    if wants_json(request):
        return _batch_json(scope, form, ids)
    if not ids:
        messages.error(request, _("Select the folders to sign."))
    elif form.is_valid():
        try:
            results = services.folders_sign(
                actor=scope.user,
                administration=scope.administration,
                folder_ids=ids,
                passphrase=form.cleaned_data["passphrase"],
            )
        except Refused as refused:
            messages.error(request, refused.message)
        else:
            signed = sum(1 for r in results if r.ok)
            messages.success(
                request, _("%(signed)d of %(total)d folders signed.") % {"signed": signed, "total": len(results)}
            )
            for result in results:
                if not result.ok:
                    messages.error(request, f"{result.title or result.folder_id}: {result.message}")
    else:
        messages.error(request, _("Give the passphrase of your signing certificate."))
    return redirect("desk:parapheur", code=code)


def _batch_json(scope: Scope, form: BatchSignForm, ids: list[int]) -> JsonResponse:
    """The page's progress bar sends the folders a few at a time and shows each answer."""
    if not ids or not form.is_valid():
        return JsonResponse({"error": _("Give the passphrase of your signing certificate.")}, status=400)
    try:
        results = services.folders_sign(
            actor=scope.user,
            administration=scope.administration,
            folder_ids=ids,
            passphrase=form.cleaned_data["passphrase"],
        )
    except Refused as refused:
        return JsonResponse({"error": refused.message}, status=refused.status)
    return JsonResponse(
        {"results": [{"folder": r.folder_id, "title": r.title, "ok": r.ok, "message": r.message} for r in results]}
    )


def _certificate_scope(request: SignedInRequest, code: str) -> Scope:
    scope = _scope(request, code)
    if not scope.may(Action.ACT_IN_CIRCUIT):
        raise NotFound
    return scope


def _certificate_page(
    request: SignedInRequest,
    scope: Scope,
    *,
    enrol: EnrolForm | None = None,
    import_form: ImportForm | None = None,
    status: int = 200,
) -> HttpResponse:
    current = certificates.current_certificate(scope.user, scope.administration)
    return render(
        request,
        "desk/parapheur/certificate.html",
        _context(
            scope,
            current=current,
            enrol_form=enrol or EnrolForm(prefix="enrol"),
            import_form=import_form or ImportForm(prefix="import"),
        ),
        status=status,
    )


def _certificate_refused(form: EnrolForm | ImportForm, refused: Refused) -> None:
    field = {"pkcs12_password": "pkcs12_password", "pkcs12": "pkcs12", "passphrase": "passphrase"}.get(refused.field)
    form.add_error(field, refused.message)


@login_required
def certificate(request: SignedInRequest, code: str) -> HttpResponse:
    """My signing certificate, and the forms to get one here, import one, or revoke mine."""
    return _certificate_page(request, _certificate_scope(request, code))


@login_required
@require_http_methods(["GET", "POST"])
def certificate_enrol(request: SignedInRequest, code: str) -> HttpResponse:
    """Get a signing certificate from this installation. GET: the certificate page (where an
    invalid form was shown, the language switch comes back to this address)."""
    scope = _certificate_scope(request, code)
    if request.method == "GET":
        return redirect("desk:certificate", code=code)
    enrol = EnrolForm(request.POST, prefix="enrol")
    if enrol.is_valid():
        try:
            certificates.certificate_enrol(
                user=scope.user,
                administration=scope.administration,
                passphrase=enrol.cleaned_data["passphrase"],
                title_fr=enrol.cleaned_data["title_fr"],
                title_ar=enrol.cleaned_data["title_ar"],
            )
        except Refused as refused:
            _certificate_refused(enrol, refused)
        else:
            messages.success(request, _("Your signing certificate is ready."))
            return redirect("desk:certificate", code=code)
    return _certificate_page(request, scope, enrol=enrol, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def certificate_import(request: SignedInRequest, code: str) -> HttpResponse:
    """Import a certificate from a provider. GET: the certificate page, as :func:`certificate_enrol`."""
    scope = _certificate_scope(request, code)
    if request.method == "GET":
        return redirect("desk:certificate", code=code)
    import_form = ImportForm(request.POST, request.FILES, prefix="import")
    if import_form.is_valid():
        data = import_form.cleaned_data
        try:
            certificates.certificate_import(
                user=scope.user,
                administration=scope.administration,
                pkcs12_data=data["pkcs12"],
                pkcs12_password=data["pkcs12_password"],
                passphrase=data["passphrase"],
                title_fr=data["title_fr"],
                title_ar=data["title_ar"],
            )
        except Refused as refused:
            _certificate_refused(import_form, refused)
        else:
            messages.success(request, _("Your certificate is imported."))
            return redirect("desk:certificate", code=code)
    return _certificate_page(request, scope, import_form=import_form, status=400)


@login_required
@require_POST
def certificate_revoke(request: SignedInRequest, code: str) -> HttpResponse:
    scope = _certificate_scope(request, code)
    current = certificates.current_certificate(scope.user, scope.administration)
    if current is None:
        return redirect("desk:certificate", code=code)
    certificates.certificate_revoke(actor=scope.user, certificate=current)
    messages.success(request, _("Your certificate is revoked: it can no longer sign."))
    return redirect("desk:certificate", code=code)


@login_required
@require_http_methods(["GET", "POST"])
def delegations(request: SignedInRequest, code: str) -> HttpResponse:
    scope = _scope(request, code)
    if not scope.may(Action.ACT_IN_CIRCUIT):
        raise NotFound
    people = [p for p in _people(scope) if p.pk != scope.user.pk]
    form = DelegationForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.delegation_create(
                actor=scope.user,
                administration=scope.administration,
                delegate=data["delegate"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                document_types=data["document_types"].split(","),
            )
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(request, _("Delegation recorded."))
            return redirect("desk:delegations", code=code)
    given = selectors.delegations_given(scope.user, scope.administration)
    received = selectors.delegations_received(scope.user, scope.administration)
    return render(
        request,
        "desk/parapheur/delegations.html",
        _context(scope, form=form, given=given.order_by("-starts_on"), received=received.order_by("-starts_on")),
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def delegation_end(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    scope = _scope(request, code)
    if not selectors.delegations_given(scope.user, scope.administration).filter(pk=pk).exists():
        raise NotFound
    services.delegation_end(actor=scope.user, delegation_id=pk)
    messages.success(request, _("Delegation ended."))
    return redirect("desk:delegations", code=code)


@login_required
@require_http_methods(["GET", "POST"])
def circuits(request: SignedInRequest, code: str, pk: int | None = None) -> HttpResponse:
    """The administration's circuit templates (its admins edit them)."""
    scope = _scope(request, code)
    if not scope.may(Action.MANAGE_CATALOGUE):
        raise NotFound
    circuit = selectors.circuit_for(scope.administration, pk) if pk else None
    initial: dict[str, Any] = {}
    if circuit is not None:
        initial = {
            "code": circuit.code,
            "name": circuit.name,
            "document_type": circuit.document_type,
            "service": circuit.service,
            "adjustable": circuit.adjustable,
            "is_active": circuit.is_active,
        }
        for step in circuit.steps.prefetch_related("people"):
            people = list(step.people.all())
            initial[f"step{step.position}_kind"] = step.kind
            initial[f"step{step.position}_person"] = people[0] if people else None
            initial[f"step{step.position}_role"] = step.role
            initial[f"step{step.position}_service"] = step.service
    form = CircuitForm(request.POST or None, initial=initial, people=_people(scope), services=scope.active_services)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.circuit_save(
                actor=scope.user,
                administration=scope.administration,
                circuit=circuit,
                values={k: data[k] for k in ("code", "name", "document_type", "service", "adjustable", "is_active")},
                steps=form.steps(),
            )
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(request, _("Circuit %(code)s saved.") % {"code": saved.code})
            return redirect("desk:circuits", code=code)
    listed = selectors.circuits_of(scope.administration)
    return render(
        request,
        "desk/parapheur/circuits.html",
        _context(scope, form=form, circuits=listed, circuit=circuit),
        status=400 if form.is_bound else 200,
    )
