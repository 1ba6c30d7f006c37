"""The file a letter signed in a circuit waits with, until its seal of registration is added:
named by fingerprint in its pending sealed document's draft (``signed``), with no Blob row.
Registered with :mod:`documents.references` so that no sweep removes it."""

from __future__ import annotations

from collections.abc import Sequence

from registry.models import SealedDocument


def signed_drafts(hashes: Sequence[str]) -> set[str]:
    if not hashes:
        return set()
    return set(SealedDocument.objects.filter(draft__signed__in=list(hashes)).values_list("draft__signed", flat=True))
