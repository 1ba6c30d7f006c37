"""The refusal that work on an untrusted file raises, in the child process or in the caller.

Its own module, importing nothing, so that :mod:`documents.decoding` (the work) and
:mod:`documents.sandbox` (which runs it) both use it without importing each other.
"""

from __future__ import annotations


class Refused(Exception):
    """Raised by work in a child to refuse its file for a reason the sender can act on; it
    comes back to the caller as itself. ``code`` names the reason, ``params`` carry the
    figures of its message (the limit)."""

    def __init__(self, code: str, params: dict[str, int] | None = None) -> None:
        super().__init__(code, params or {})
        self.code = code
        self.params = params or {}
