"""The API's documentation page loads Swagger UI from this site, under its Content-Security-Policy."""

from __future__ import annotations

import re

from django.contrib.staticfiles import finders
from django.test import Client


def test_the_docs_page_loads_nothing_from_another_site(db: None) -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    for url in assets:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
    assert "<script>" not in html  # no inline script: the CSP allows only this site's files
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "cdn" not in policy
