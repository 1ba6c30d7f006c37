"""The desk's search page: words in any spelling or a registration number, with filters."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from desk.tabs import desk_scope
from search.forms import SearchForm
from search.selectors import Results, search
from tenancy.http import SignedInRequest
from workflow.selectors import procedure_choices


@login_required
def search_page(request: SignedInRequest, code: str) -> HttpResponse:
    scope = desk_scope(request, code)
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
