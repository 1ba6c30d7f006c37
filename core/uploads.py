"""Answers for forms sent by the upload script (static/wasl/wasl.js) or as plain posts, and
the parsing of their files.

The script asks for JSON: ``{"redirect": url}`` when the form was accepted, or
``{"html": <the form with its errors>}`` when it was refused. A browser without the script
gets an ordinary redirect, or the whole page again.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParser
from django.shortcuts import redirect, render
from django.template.loader import render_to_string


def wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


def upload_accepted(request: HttpRequest, url: str) -> HttpResponse:
    return JsonResponse({"redirect": url}) if wants_json(request) else redirect(url)


def upload_refused(request: HttpRequest, *, page: str, form_template: str, context: dict[str, Any]) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"html": render_to_string(form_template, context, request=request)}, status=400)
    return render(request, page, context, status=400)


# The name of a file sent with a name that cleans to nothing; the intake adds its extension.
UNNAMED_FILE = "document"


class UploadNamesParser(MultiPartParser):
    """Django's multipart parser, except that a file part whose name cleans to nothing ("/",
    "..", only control characters) is kept under :data:`UNNAMED_FILE` instead of being dropped
    while the rest of the request goes on. A part with an empty name (``filename=""``) is how
    a browser sends a file input left empty: it is still no file. Installed on every request by
    core.middleware.RequestSizeLimitMiddleware."""

    def sanitize_file_name(self, file_name: str) -> str | None:
        return super().sanitize_file_name(file_name) or UNNAMED_FILE
