"""The site's icon: every page links it, and /favicon.ico (which browsers ask for anyway)
leads to it instead of a 404."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_link_the_icon_and_favicon_ico_leads_to_it() -> None:
    client = Client()
    page = client.get("/").content.decode()
    assert 'rel="icon"' in page and "wasl/favicon.svg" in page
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/wasl/favicon.svg")
    icon = finders.find("wasl/favicon.svg")
    assert icon is not None and Path(icon).read_bytes().startswith(b"<svg")
