"""A folder's lifecycle: in its circuit until completed, rejected or withdrawn, all final."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product

import pytest

from core.clock import now
from core.lifecycle import TransitionRefused
from parapheur.lifecycle import FOLDER, folder_move
from parapheur.models import Folder
from tenancy.models import Administration, Membership
from tenancy.testing import make_staff

Status = Folder.Status
MOVES = {
    (Status.IN_PROGRESS, Status.COMPLETED),
    (Status.IN_PROGRESS, Status.REJECTED),
    (Status.IN_PROGRESS, Status.CANCELLED),
}


@pytest.fixture
def folder_in(commune: Administration) -> Callable[[str], Folder]:
    submitter = make_staff(commune, Membership.Role.AGENT, "writer@commune.ma")

    def make(status: str) -> Folder:
        moment = now()
        return Folder.objects.create(
            administration=commune,
            title="Arrêté",
            submitter=submitter,
            status=status,
            document_name="arrete.pdf",
            document="0" * 64,
            original="0" * 64,
            submitted_at=moment,
            updated_at=moment,
        )

    return make


def test_the_table_names_every_status_and_only_these_moves() -> None:
    assert set(FOLDER.moves) == set(Status.values)
    assert {(a, b) for a, targets in FOLDER.moves.items() for b in targets} == MOVES


@pytest.mark.parametrize(("current", "to"), sorted(product(Status.values, repeat=2)))
def test_a_folder_moves_only_as_its_table_allows(folder_in: Callable[[str], Folder], current: str, to: str) -> None:
    folder = folder_in(current)
    if (current, to) in MOVES:
        assert folder_move(folder, Status(to), current=0)
        folder.refresh_from_db()
        assert (folder.status, folder.current) == (to, 0)
    else:
        with pytest.raises(TransitionRefused, match=f"folder: {current} → {to} is not allowed"):
            folder_move(folder, Status(to), current=0)
        folder.refresh_from_db()
        assert (folder.status, folder.current) == (current, 1)


def test_a_withdrawn_folder_cannot_be_completed_by_a_late_signature(folder_in: Callable[[str], Folder]) -> None:
    folder = folder_in(Status.IN_PROGRESS)
    assert folder_move(folder, Status.CANCELLED, current=0)
    with pytest.raises(TransitionRefused, match="cancelled → completed"):
        folder_move(folder, Status.COMPLETED)
