"""Fixtures of the parapheur's tests."""

from __future__ import annotations

import pytest

from tenancy.models import Administration, User
from tenancy.testing import make_service
from workflow import services as desk
from workflow.models import Case
from workflow.testing import deposit


@pytest.fixture
def case(commune: Administration, citizen: User, clerk: User) -> Case:
    """A request assigned to the commune's urbanism service: what a reply folder answers."""
    urb = make_service(commune, "URB", name_fr="Urbanisme")
    c = deposit(commune, citizen, subject="طلب رخصة").correspondence
    desk.case_assign(actor=clerk, case_id=c.pk, service=urb)
    return Case.objects.get(pk=c.pk)
