"""Importing a former register: the upload, the progress of the check or import, its report."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.uploads import upload_accepted, upload_refused
from desk.forms import RegisterImportForm
from registry.imports import register_import_confirmed, register_import_request
from registry.models import RegisterImport
from registry.selectors import register_import_for, register_imports_of
from tenancy.http import SignedInRequest
from tenancy.permissions import Action
from tenancy.selectors import administration_for_staff


@login_required
@require_http_methods(["GET", "POST"])
def register_import_page(request: SignedInRequest, code: str) -> HttpResponse:
    """The upload of a former register. The upload script (static/wasl/wasl.js) sends it and
    is answered in JSON (core.uploads); a browser without it gets a redirect or the page."""
    user = request.user
    administration = administration_for_staff(user, code, Action.IMPORT_REGISTER)
    form = RegisterImportForm(request.POST or None, request.FILES or None)
    recent = register_imports_of(administration)
    context = {"administration": administration, "section": "register", "form": form, "recent": recent}
    if request.method == "POST":
        if form.is_valid():
            job = register_import_request(
                actor=user,
                administration=administration,
                direction=form.cleaned_data["direction"],
                data=form.cleaned_data["table"],
                filename=getattr(request.FILES.get("table"), "name", "") or "register.csv",
                dry_run=form.cleaned_data["dry_run"],
            )
            return upload_accepted(request, reverse("desk:register_import_status", args=[administration.code, job.pk]))
        return upload_refused(
            request, page="desk/register_import.html", form_template="desk/register_import_form.html", context=context
        )
    return render(request, "desk/register_import.html", context)


@login_required
def register_import_status(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    user = request.user
    administration = administration_for_staff(user, code, Action.IMPORT_REGISTER)
    job = register_import_for(administration, pk)
    return render(
        request,
        "desk/register_import_status.html",
        {"administration": administration, "section": "register", "job": job},
    )


@login_required
@require_POST
def register_import_confirm(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    """Import for real what a dry run checked without a rejected row."""
    user = request.user
    administration = administration_for_staff(user, code, Action.IMPORT_REGISTER)
    checked = register_import_for(administration, pk, status=RegisterImport.Status.CHECKED)
    job = register_import_confirmed(actor=user, checked=checked)
    return redirect("desk:register_import_status", code=administration.code, pk=job.pk)
