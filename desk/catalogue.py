"""Administration admin pages: procedures catalogue, calendar, routing rules, letter templates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core.clock import now
from core.errors import Refused
from core.forms import AccessibleForm, BoundedDateField
from desk.forms import procedures_field, services_field
from desk.tabs import desk_scope
from starter.selectors import starter_offer, starter_preview
from starter.services import starter_catalogue_load
from tenancy.http import SignedInRequest
from tenancy.models import Administration, Service, User
from tenancy.permissions import Action
from tenancy.selectors import administration_for_staff, administration_with_code
from workflow import catalogue as changes
from workflow import selectors as wf
from workflow.calendar import local_date, national_holidays
from workflow.letters import TemplateTextError, check_template_text, template_variables
from workflow.models import LetterTemplate, Procedure
from workflow.services import calendar_for


class ProcedureForm(forms.ModelForm[Procedure], AccessibleForm):
    class Meta:
        model = Procedure
        fields = list(changes.PROCEDURE_FIELDS)
        # Each name is typed in its own script's direction, whatever the page's.
        widgets = {
            "name_ar": forms.TextInput(attrs={"dir": "rtl"}),
            "name_fr": forms.TextInput(attrs={"dir": "ltr"}),
            "name_zgh": forms.TextInput(attrs={"dir": "ltr"}),
            "legal_basis": forms.TextInput(attrs={"dir": "auto"}),
        }

    documents = forms.CharField(
        label=gettext_lazy("Documents that may be required"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
        help_text=gettext_lazy(
            "One per line: name in Arabic | name in French | code of the administration that holds it | "
            "the code it gives that document (only for documents another administration holds: they can never be "
            "asked of the depositor; with the holder's code for the document, an agent can ask the holder for it)."
        ),
    )

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.administration = administration
        services_field(self.fields["service"], administration)
        self.fields["delay_days"].help_text = _("At most 60 days by law 55-19; 30 for investment files.")
        if self.instance.pk:
            self.fields["documents"].initial = "\n".join(
                " | ".join(filter(None, [d.name_ar, d.name_fr, d.held_by_code, d.held_document_code]))
                for d in self.instance.documents.all()
            )

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip().upper()
        if wf.procedure_code_taken(self.administration, code, other_than=self.instance.pk):
            raise ValidationError(_("A procedure already has this code."))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        days = data.get("delay_days")
        limit = 30 if data.get("is_investment") else 60
        if days and days > limit:
            self.add_error("delay_days", _("The legal maximum is %(limit)d days.") % {"limit": limit})
        return data

    def clean_documents(self) -> list[changes.DocumentLine]:
        lines = []
        for number, raw in enumerate(str(self.cleaned_data["documents"]).splitlines(), start=1):
            if not raw.strip():
                continue
            parts = [p.strip() for p in raw.split("|")]
            if len(parts) < 2 or not parts[0] or not parts[1]:
                raise ValidationError(
                    _("Line %(line)d: give the name in Arabic and in French, separated by |.") % {"line": number}
                )
            holder = parts[2] if len(parts) > 2 else ""
            holder_name = ""
            if holder:
                found = administration_with_code(holder)
                holder_name = found.name_fr if found else holder
            kind = parts[3].upper()[:40] if len(parts) > 3 and holder else ""
            lines.append(
                changes.DocumentLine(parts[0][:200], parts[1][:200], holder.upper()[:40], holder_name[:200], kind)
            )
        return lines


def _admin(request: SignedInRequest, code: str) -> tuple[User, Administration]:
    user = request.user
    return user, administration_for_staff(user, code, Action.MANAGE_CATALOGUE)


@login_required
def procedures(request: SignedInRequest, code: str) -> HttpResponse:
    scope = desk_scope(request, code)
    administration = scope.administration
    rows = list(wf.catalogue(administration, only_open=False))
    # An empty catalogue of a commune: its admins are offered the starter catalogue.
    offer = starter_offer(administration) if scope.may(Action.MANAGE_CATALOGUE) and not rows else None
    return render(
        request,
        "desk/procedures.html",
        {
            "administration": administration,
            "section": "catalogue",
            "procedures": rows,
            "scope": scope,
            "starter": offer,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def starter(request: SignedInRequest, code: str) -> HttpResponse:
    """The starter catalogue: what it holds and what loading it creates here (GET), loading it (POST)."""
    user, administration = _admin(request, code)
    if request.method == "POST":
        try:
            report = starter_catalogue_load(actor=user, administration=administration)
        except Refused as refused:
            messages.error(request, refused.message)
            return redirect("desk:starter", code=administration.code)
        messages.success(
            request,
            _("Starter catalogue loaded. Created: %(created)d; kept as they were: %(kept)d. Edit them here.")
            % {"created": report.created_count, "kept": report.kept_count},
        )
        return redirect("desk:procedures", code=administration.code)
    return render(
        request,
        "desk/starter.html",
        {
            "administration": administration,
            "section": "catalogue",
            "preview": starter_preview(administration),
            "is_commune": administration.kind == Administration.Kind.COMMUNE,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def procedure_edit(request: SignedInRequest, code: str, pk: int | None = None) -> HttpResponse:
    user, administration = _admin(request, code)
    procedure = wf.procedure_for(administration, pk) if pk else None
    form = ProcedureForm(request.POST or None, instance=procedure, administration=administration)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in changes.PROCEDURE_FIELDS}
        saved = changes.procedure_save(
            actor=user,
            administration=administration,
            procedure=procedure,
            values=values,
            documents=form.cleaned_data["documents"],
        )
        messages.success(request, _("Procedure %(code)s saved.") % {"code": saved.code})
        return redirect("desk:procedures", code=administration.code)
    return render(
        request,
        "desk/procedure_edit.html",
        {"administration": administration, "section": "catalogue", "form": form, "procedure": procedure},
        status=400 if form.is_bound else 200,
    )


class CalendarDayForm(AccessibleForm):
    day = BoundedDateField(label=gettext_lazy("Day"))
    is_working = forms.TypedChoiceField(
        label=gettext_lazy("This day is"),
        coerce=lambda v: v == "1",
        choices=[
            ("0", gettext_lazy("a day off (added holiday)")),
            ("1", gettext_lazy("a working day (holiday cancelled)")),
        ],
    )
    label = forms.CharField(label=gettext_lazy("Reason"), max_length=120, required=False)


@login_required
@require_http_methods(["GET", "POST"])
def calendar(request: SignedInRequest, code: str) -> HttpResponse:
    scope = desk_scope(request, code)
    user, administration = scope.user, scope.administration
    form = CalendarDayForm(request.POST or None)
    if request.method == "POST":
        if not scope.may(Action.MANAGE_CATALOGUE):
            return HttpResponse(status=404)
        if form.is_valid():
            data = form.cleaned_data
            changes.calendar_day_set(
                actor=user,
                administration=administration,
                day=data["day"],
                is_working=data["is_working"],
                label=data["label"],
            )
            messages.success(request, _("Calendar updated."))
            return redirect("desk:calendar", code=administration.code)
    year = local_date(now()).year
    requested = request.GET.get("year", "")
    if requested.isdigit() and 2000 <= int(requested) <= 2100:
        year = int(requested)
    business = calendar_for(administration)
    language = "fr" if (request.LANGUAGE_CODE or "ar") == "fr" else "ar"
    holidays = [
        {"day": day, "name": name, "cancelled": business.is_working_day(day) and day.weekday() < 5}
        for day, name in sorted(national_holidays(year, language).items())
    ]
    return render(
        request,
        "desk/calendar.html",
        {
            "administration": administration,
            "section": "catalogue",
            "form": form,
            "year": year,
            "holidays": holidays,
            "adjustments": wf.calendar_days_of(administration, year),
            "scope": scope,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def calendar_delete(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    user, administration = _admin(request, code)
    entry = wf.calendar_day_for(administration, pk)
    changes.calendar_day_delete(actor=user, entry=entry)
    messages.success(request, _("Calendar updated."))
    return redirect("desk:calendar", code=administration.code)


class RoutingRuleForm(AccessibleForm):
    service = forms.ModelChoiceField(label=gettext_lazy("Route to"), queryset=Service.objects.none())
    procedure = forms.ModelChoiceField(
        label=gettext_lazy("Requests for the procedure"), queryset=Procedure.objects.none(), required=False
    )
    keywords = forms.CharField(
        label=gettext_lazy("or containing one of these words"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("Separated by commas."),
    )
    position = forms.IntegerField(label=gettext_lazy("Order"), min_value=0, max_value=999, initial=10)

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services_field(self.fields["service"], administration)
        procedures_field(self.fields["procedure"], administration, only_open=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("procedure") and not str(data.get("keywords") or "").strip():
            raise ValidationError(_("Choose a procedure or give keywords."))
        return data


@login_required
@require_http_methods(["GET", "POST"])
def routing(request: SignedInRequest, code: str) -> HttpResponse:
    user, administration = _admin(request, code)
    form = RoutingRuleForm(request.POST or None, administration=administration)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes.routing_rule_add(
            actor=user,
            administration=administration,
            service=data["service"],
            procedure=data["procedure"],
            keywords=data["keywords"],
            position=data["position"],
        )
        messages.success(request, _("Rule added."))
        return redirect("desk:routing", code=administration.code)
    rules = wf.routing_rules_of(administration)
    return render(
        request,
        "desk/routing.html",
        {"administration": administration, "section": "catalogue", "form": form, "rules": rules},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def routing_delete(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    user, administration = _admin(request, code)
    rule = wf.routing_rule_for(administration, pk)
    changes.routing_rule_delete(actor=user, rule=rule)
    messages.success(request, _("Rule removed."))
    return redirect("desk:routing", code=administration.code)


class LetterTemplateForm(forms.ModelForm[LetterTemplate], AccessibleForm):
    class Meta:
        model = LetterTemplate
        fields = list(changes.TEMPLATE_FIELDS)
        widgets = {
            "body_ar": forms.Textarea(attrs={"rows": 8, "dir": "rtl"}),
            "body_fr": forms.Textarea(attrs={"rows": 8, "dir": "ltr"}),
            "recourse_ar": forms.Textarea(attrs={"rows": 3, "dir": "rtl"}),
            "recourse_fr": forms.Textarea(attrs={"rows": 3, "dir": "ltr"}),
        }

    def __init__(self, *args: Any, administration: Administration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.administration = administration

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip().upper()
        if wf.letter_template_code_taken(self.administration, code, other_than=self.instance.pk):
            raise ValidationError(_("A template already has this code."))
        return code

    def _checked(self, name: str) -> str:
        text = str(self.cleaned_data[name])
        try:
            check_template_text(text)
        except TemplateTextError as error:
            raise ValidationError(str(error)) from None
        return text

    def clean_body_ar(self) -> str:
        return self._checked("body_ar")

    def clean_body_fr(self) -> str:
        return self._checked("body_fr")

    def clean_recourse_ar(self) -> str:
        return self._checked("recourse_ar")

    def clean_recourse_fr(self) -> str:
        return self._checked("recourse_fr")


@login_required
@require_http_methods(["GET", "POST"])
def letters(request: SignedInRequest, code: str, pk: int | None = None) -> HttpResponse:
    user, administration = _admin(request, code)
    template = wf.letter_template_for(administration, pk) if pk else None
    form = LetterTemplateForm(request.POST or None, instance=template, administration=administration)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in changes.TEMPLATE_FIELDS}
        changes.letter_template_save(actor=user, administration=administration, template=template, values=values)
        messages.success(request, _("Template saved."))
        return redirect("desk:letters", code=administration.code)
    return render(
        request,
        "desk/letters.html",
        {
            "administration": administration,
            "section": "catalogue",
            "form": form,
            "template": template,
            "templates": wf.letter_templates_of(administration),
            "variables": template_variables(),
        },
        status=400 if form.is_bound else 200,
    )
