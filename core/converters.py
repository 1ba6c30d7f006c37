"""Path converters shared by every URL configuration."""

from __future__ import annotations

# The largest id a database row can have (a signed 64-bit ``bigint``).
MAX_ID = 2**63 - 1


class IdConverter:
    """A row id in a path: 1 to 19 digits, at most :data:`MAX_ID`. A longer or larger number
    matches no route (404) instead of reaching a query that would overflow."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("past 64 bits")
        return number

    def to_url(self, value: int) -> str:
        return str(value)
