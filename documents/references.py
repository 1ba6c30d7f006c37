"""Which stored files rows still need, by their fingerprint.

Most stored files have a :class:`~documents.models.Blob` row. Some are named by a fingerprint
in another app's rows instead (a parapheur folder's versions, annexes and proof slip; the
signed draft of a letter waiting for its seal). Those apps register a reader here, when they
are ready (``AppConfig.ready``), and whatever removes files (:func:`documents.storage.discard`,
:func:`documents.storage.sweep_orphans`) asks :func:`referenced` first: a file any reader
names is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from documents.models import Blob

# A reader: of these fingerprints, those its rows name.
Reader = Callable[[Sequence[str]], Iterable[str]]
_readers: list[Reader] = []


def blob_reader(reader: Reader) -> Reader:
    """Register ``reader`` (once, however often an app is made ready)."""
    if reader not in _readers:
        _readers.append(reader)
    return reader


def referenced(hashes: Sequence[str]) -> set[str]:
    """Those of ``hashes`` that a Blob row or a registered reader names."""
    found = set(Blob.objects.filter(sha256__in=hashes).values_list("sha256", flat=True))
    for reader in _readers:
        found.update(reader([sha256 for sha256 in hashes if sha256 not in found]))
    return found
