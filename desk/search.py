"""The desk's search page: words in any spelling or a registration number, with filters."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from search.forms import SearchForm
from search.selectors import Results, search
from tenancy.models import User
from workflow.access import readable_scope
from workflow.selectors import procedure_choices


@login_required
def search_page(request: HttpRequest, code: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    scope = readable_scope(user, code)
    form = SearchForm(request.GET or None, scope=scope, procedures=procedure_choices(scope.administration))
    results: Results | None = None
    if form.is_bound and form.is_valid() and form.asked:
        results = search(scope, form.cleaned_data["q"], form.filters(), page=form.cleaned_data["page"] or 1)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "desk/search.html",
        {
            "administration": scope.administration,
            "section": "search",
            "form": form,
            "results": results,
            "query": query.urlencode(),
        },
    )
