"""Small pieces the benchmark reports share: reading a result, writing a number, a statement,
a verdict."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def decimal(value: float, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def statement(sql: str) -> str:
    """``SELECT "tenancy_apitoken"...`` -> ``SELECT tenancy_apitoken`` (verb and first table)."""
    words = sql.split()
    verb = words[0].upper() if words else "?"
    keyword = {"SELECT": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM"}.get(verb)
    table = ""
    if keyword and keyword in words:
        table = words[words.index(keyword) + 1].strip('"')
    suffix = " FOR UPDATE" if verb == "SELECT" and sql.rstrip().upper().endswith("FOR UPDATE") else ""
    return f"`{verb} {table}{suffix}`".replace(" `", "`")


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"
