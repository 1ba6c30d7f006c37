"""The files a parapheur folder names by fingerprint (it has no Blob rows for them): every
version of its document (the original, one per act, the current one), its annexes and its proof
slip. Registered with :mod:`documents.references` so that no sweep removes them."""

from __future__ import annotations

from collections.abc import Sequence

from parapheur.models import Folder, FolderAnnex, FolderEvent


def folder_files(hashes: Sequence[str]) -> set[str]:
    if not hashes:
        return set()
    found: set[str] = set()
    for field in ("document", "original", "proof"):
        found.update(Folder.objects.filter(**{f"{field}__in": hashes}).values_list(field, flat=True))
    found.update(FolderAnnex.objects.filter(sha256__in=hashes).values_list("sha256", flat=True))
    found.update(FolderEvent.objects.filter(document__in=hashes).values_list("document", flat=True))
    return found
