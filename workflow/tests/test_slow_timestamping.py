"""Nothing slow under a register's lock: a slow timestamping unit (``WASL_TSA_URL``) delays the
letter it stamps, never the registrations of others into the same registers.

Proved by order, not by time: the unit takes 2 s to answer, and before it answers the first
letter's request, a deposit and a second answer are registered in the same incoming and outgoing
registers and committed (the second answer's letter even reaches the unit). Were the letter
timestamped while its register's counter is locked (and on SQLite the database write lock held),
as it was, those registrations could not commit before the unit answered.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from pytest_django import Settings

from documents.intake import bytes_upload, check_files
from documents.samples import pdf_bytes
from registry.models import Channel, Correspondence, Direction, SealedDocument
from registry.services import Party
from tenancy.models import Administration, User
from tenancy.testing import make_service
from trust.services import installation_pki
from trust.testing import TimestampingServer
from workflow import services
from workflow.models import Case, Status
from workflow.services import LetterText
from workflow.testing import deposit

# Slow: its timestamping unit takes 2 s to answer, on purpose (not in `make check`).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_registrations_go_on_while_a_letter_waits_for_a_slow_timestamping_unit(
    commune: Administration, citizen: User, clerk: User, agent: User, settings: Settings
) -> None:
    urb = make_service(commune, "URB")
    first, second = (deposit(commune, citizen, subject=s).correspondence for s in ("طلب أول", "طلب ثان"))
    for request in (first, second):
        services.case_assign(actor=clerk, case_id=request.pk, service=urb)
    files = check_files([bytes_upload(pdf_bytes(text="ثالث"), "demande.pdf")])
    tsa_identity = installation_pki().tsa
    assert tsa_identity is not None
    failures: list[BaseException] = []

    def answer(case_id: int) -> None:
        try:
            services.case_reply(actor=agent, case_id=case_id, text=LetterText(body_fr="Accord."))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    answering = [threading.Thread(target=answer, args=(request.pk,)) for request in (first, second)]
    with TimestampingServer(tsa_identity, hold=2) as tsa:
        settings.TSA_URL = tsa.url
        answering[0].start()
        # The first letter is at the timestamping unit: its registration is committed.
        assert tsa.wait_for(1)
        # Before the unit answers, a deposit takes the next number of the incoming register…
        during = services.request_register(
            actor=citizen,
            administration=commune,
            channel=Channel.ONLINE,
            sender=Party.of_account(citizen),
            subject="طلب ثالث",
            files=files,
        ).correspondence
        assert tsa.answered == 0
        assert during.number.endswith("000003")
        # …and a second answer the next number of the outgoing register; its letter reaches the
        # unit while the first one's is still there (two requests in, none answered: the
        # second is not the first letter's next one).
        answering[1].start()
        assert tsa.wait_for(2)
        assert tsa.answered == 0
        outgoing = Correspondence.objects.filter(administration=commune, direction=Direction.OUTGOING)
        assert sorted(c.number[-6:] for c in outgoing) == ["000001", "000002"]
        assert SealedDocument.objects.filter(kind="letter", blob=None).count() == 2
        statuses = set(Case.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
        assert statuses == {Status.ANSWERED}
        for thread in answering:
            thread.join(timeout=60)
    assert failures == []
    letters = SealedDocument.objects.filter(kind="letter")
    assert letters.count() == 2 and not letters.filter(blob=None).exists()
    assert tsa.answered >= 2  # (a seal's first stamp also measures the room a token takes)
