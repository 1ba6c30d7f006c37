"""Pages of the exchange between administrations: the letters sent and received, and a new
letter to an administration of the directory."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, Refused
from core.forms import AccessibleForm, ObjectChoiceField
from desk.tabs import desk_scope
from documents.forms import CheckedFilesField
from exchange import selectors, services
from tenancy.access import Scope
from tenancy.http import SignedInRequest
from tenancy.models import Administration, Region
from tenancy.permissions import Action


class DirectorySearchForm(AccessibleForm):
    q = forms.CharField(label=_("Name or code"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *Administration.Kind.choices])
    region = forms.ChoiceField(label=_("Region"), required=False, choices=[("", _("All")), *Region.choices])


class LetterForm(AccessibleForm):
    recipient = ObjectChoiceField(label=_("To the administration"))
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 6}))
    documents = CheckedFilesField(label=_("Documents (PDF or pictures)"), required=False)

    def __init__(self, *args: Any, directory: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["recipient"]
        assert isinstance(field, ObjectChoiceField)
        field.set_objects(
            directory,
            lambda e: f"{e.name} ({e.address}, {e.installation})" if e.installation else f"{e.name} ({e.address})",
        )


def _scope(request: SignedInRequest, code: str) -> Scope:
    return desk_scope(request, code)


@login_required
def exchanges(request: SignedInRequest, code: str) -> HttpResponse:
    """Letters sent to and received from other administrations, with their acknowledgements."""
    scope = _scope(request, code)
    administration = scope.administration
    may_send = scope.may(Action.SEND)
    form = LetterForm(
        request.POST or None,
        request.FILES or None,
        directory=selectors.directory_entries(exclude=administration),
        initial={"recipient": request.GET.get("to", "")},
    )
    if request.method == "POST":
        if not may_send:
            raise NotFound
        if form.is_valid():
            data = form.cleaned_data
            try:
                envelope = services.mail_send(
                    actor=scope.user,
                    administration=administration,
                    recipient_code=data["recipient"].address,
                    subject=data["subject"],
                    body=data["body"],
                    files=data["documents"],
                )
            except Refused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            else:
                messages.success(
                    request,
                    _("Registered under number %(number)s and sent: the acknowledgement follows.")
                    % {"number": envelope.outgoing_number},
                )
                return redirect("desk:exchanges", code=code)
    envelopes = selectors.envelopes_of(administration, limit=100)
    return render(
        request,
        "desk/exchanges.html",
        {
            "administration": administration,
            "section": "exchanges",
            "envelopes": envelopes,
            "form": form if may_send else None,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
def directory(request: SignedInRequest, code: str) -> HttpResponse:
    """Every administration letters can be sent to: this installation's and its peers', by name
    or code, kind and region."""
    scope = _scope(request, code)
    search = DirectorySearchForm(request.GET or None)
    filters = search.cleaned_data if search.is_valid() else {}
    entries = selectors.directory_entries(
        exclude=scope.administration,
        q=filters.get("q", ""),
        kind=filters.get("kind", ""),
        region=filters.get("region", ""),
        limit=200,
    )
    return render(
        request,
        "desk/directory.html",
        {
            "administration": scope.administration,
            "section": "directory",
            "search": search,
            "entries": entries,
            "scope": scope,
        },
    )
