"""A letter signed in a circuit waits for its seal of registration with its signed draft, named
by fingerprint in its pending sealed document (no Blob row): the hourly sweep of orphan files
must keep that draft until the seal is made, or the letter could never be made."""

from __future__ import annotations

import secrets

import pytest

from documents import storage
from registry.models import SealedDocument
from tenancy.models import Administration, User
from trust.testing import sample_pdf
from workflow.models import Case, Status
from workflow.services import LetterText, case_reply, sealing
from workflow.testing import deposit

pytestmark = pytest.mark.django_db


def test_the_sweep_keeps_the_signed_draft_of_a_letter_whose_seal_waits(
    commune: Administration, citizen: User, head: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = deposit(commune, citizen).correspondence.pk
    Case.objects.filter(pk=case_id).update(status=Status.IN_PROGRESS)

    def unavailable(document: SealedDocument) -> bytes:
        raise OSError("the timestamping unit does not answer")

    monkeypatch.setattr(sealing, "_render_and_seal", unavailable)
    signed = sample_pdf("Réponse signée")  # bytes no other row names
    case_reply(
        actor=head,
        case_id=case_id,
        text=LetterText(body_ar="جواب", body_fr="Réponse"),
        signed_pdf=signed,
        token=secrets.token_hex(16),
    )
    [pending] = SealedDocument.objects.filter(blob__isnull=True)
    draft = pending.draft["signed"]
    assert storage.exists(draft)

    assert storage.sweep_orphans(older_than_seconds=-1) == 0
    assert storage.exists(draft)
