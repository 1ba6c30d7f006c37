"""A folder's files have no Blob rows (a folder names them by fingerprint): the hourly sweep of
orphan files and a failed request's clean-up must still never remove them. Before, the sweep
removed a folder's original, its signed versions, its annexes and its proof slip an hour after
they were stored."""

from __future__ import annotations

import pytest

from documents import storage
from parapheur import services
from parapheur.models import Folder, FolderEvent, StepKind
from parapheur.services import StepSpec
from parapheur.testing import PASSPHRASE, document, enrolled, person
from tenancy.models import Administration, Membership

pytestmark = pytest.mark.django_db


def test_the_sweep_and_a_failed_requests_clean_up_keep_every_file_of_a_folder(commune: Administration) -> None:
    writer = person(commune, Membership.Role.AGENT, "writer@commune.ma")
    mayor = enrolled(person(commune, Membership.Role.SIGNATORY, "mayor@commune.ma"), commune)
    folder = services.folder_submit(
        actor=writer,
        administration=commune,
        title="Arrêté n° 12",
        document=document(),
        document_name="arrete.pdf",
        steps=[StepSpec(kind=StepKind.SIGNATURE, people=(mayor.pk,)), StepSpec(kind=StepKind.SEAL)],
        annexes=[("plan.pdf", document("Plan annexé"), "application/pdf")],
    )
    services.folder_sign(actor=mayor, folder_id=folder.pk, fingerprint=folder.document, passphrase=PASSPHRASE)
    services.folder_finish(folder_id=folder.pk)
    folder = Folder.objects.get(pk=folder.pk)
    assert folder.status == Folder.Status.COMPLETED and folder.proof
    files = {folder.original, folder.document, folder.proof, *folder.annexes.values_list("sha256", flat=True)}
    files |= set(FolderEvent.objects.filter(folder=folder).values_list("document", flat=True))
    assert len(files) >= 5  # the original, signed, sealed, the annex, the proof
    stray = storage.store_bytes(b"left by a request that failed")

    assert storage.sweep_orphans(older_than_seconds=-1) == 1
    assert not storage.exists(stray)
    assert all(storage.exists(sha256) for sha256 in files)

    storage.discard(folder.original)  # as a failed request storing the same bytes would
    assert storage.exists(folder.original)
