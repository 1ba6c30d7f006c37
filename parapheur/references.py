"""The files a parapheur folder names by fingerprint (it has no Blob rows for them): every
version of its document (the original, one per act, the current one), its annexes and its proof
slip. Registered with :mod:`documents.references` so that no sweep removes them."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Q

from parapheur.models import Folder, FolderAnnex, FolderEvent


def folder_files(hashes: Sequence[str]) -> set[str]:
    if not hashes:
        return set()
    wanted, found = set(hashes), set[str]()
    named = Q(document__in=hashes) | Q(original__in=hashes) | Q(proof__in=hashes)
    for files in Folder.objects.filter(named).values_list("document", "original", "proof"):
        found |= wanted.intersection(files)
    found.update(FolderAnnex.objects.filter(sha256__in=hashes).values_list("sha256", flat=True))
    found.update(FolderEvent.objects.filter(document__in=hashes).values_list("document", flat=True))
    return found
