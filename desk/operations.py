"""One operation on one object, posted from the object's page (a case's actions, a folder's acts):
the object as the reader's scope may reach it, the operation done, then back to the page with
what happened — the message of a refusal, or the errors of the operation's form when it returns
one. Each operation is its own view and address; this is what they share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import Refused
from core.forms import report_form_errors
from desk.tabs import desk_scope
from tenancy.access import Scope
from tenancy.http import SignedInRequest


def operation_on[T](
    find: Callable[[Scope, int], T], page: str, refused: type[Refused] = Refused
) -> Callable[[Callable[[SignedInRequest, Scope, T], Form | None]], Callable[..., HttpResponse]]:
    """A decorator making an operation on the object ``find(scope, pk)`` a view that answers by
    going back to ``page`` (a URL name taking the administration's code and ``pk``)."""

    def decorate(operation: Callable[[SignedInRequest, Scope, T], Form | None]) -> Callable[..., HttpResponse]:
        @login_required
        @require_POST
        @wraps(operation)
        def view(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
            scope = desk_scope(request, code)
            found = find(scope, pk)
            try:
                form = operation(request, scope, found)
            except refused as refusal:
                messages.error(request, refusal.message)
            else:
                if form is not None:
                    report_form_errors(request, form)
            return redirect(reverse(page, args=[code, pk]))

        return view

    return decorate
