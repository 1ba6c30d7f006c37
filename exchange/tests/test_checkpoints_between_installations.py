"""A pinned peer keeps our register checkpoints: when our database and our anchor file are both
rewritten, the checkpoints the other installation (a real server process) gives back show it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from exchange.anchors import CHECKPOINTS_PATH
from exchange.protocol import sign
from exchange.tests.installations import Installation
from trust.services import installation_pki

# Two real installations (servers on loopback, each with its own SQLite database).
pytestmark = [pytest.mark.slow, pytest.mark.own_installations]

CODE = "COMMUNE-A3"


def register_and_checkpoint(a: Installation) -> None:
    a.run(
        f"""
        from registry.checkpoints import checkpoint_make
        from registry.models import Channel
        from registry.services import Party, correspondence_register
        from tenancy.models import Administration
        administration = Administration.objects.create(
            code="{CODE}", kind="commune", name_ar="جماعة ثالثة", name_fr="Commune A3"
        )
        for i in range(3):
            correspondence_register(
                actor=None, administration=administration, channel=Channel.COUNTER,
                sender=Party(kind="person", name="Citoyen"), subject=f"طلب {{i}}", body="نص",
            )
        checkpoint_make(actor=None, administration=administration)
        """
    )


def verify(a: Installation) -> str:
    done = a.manage("verify_register", "--quick", "--administration", CODE, check=False)
    return done.stdout + done.stderr


def test_a_peer_keeps_our_checkpoints_and_catches_a_rewrite_of_database_and_anchor_file(
    pair: tuple[Installation, Installation],
) -> None:
    a, b = pair
    register_and_checkpoint(a)
    sent = a.run("from exchange.anchors import checkpoints_export\nresult = checkpoints_export()")
    assert sent["b"] >= 1
    kept = b.run(
        f"""
        from exchange.models import KeptCheckpoint
        result = [k.statement for k in KeptCheckpoint.objects.filter(administration_code="{CODE}")]
        """
    )
    assert len(kept) == 1 and json.loads(kept[0])["position"] == 3
    assert a.run("from exchange.anchors import checkpoints_export\nresult = checkpoints_export()") == {}  # sent once
    report = verify(a)
    assert f"ok {CODE}: 3 entries" in report and "the installation Wasl b keeps 1 checkpoint(s)" in report

    # Someone with write access to A's database and files: checkpoints and anchor file gone,
    # a registered subject changed and the whole chain recomputed.
    a.run(
        f"""
        import json
        from django.db import connection
        from core.canonical import canonical_json
        from registry.anchors import anchor_path
        from registry.log import chain_hash
        from registry.models import Correspondence, RegisterCheckpoint, RegisterLogEntry, RegisterLogHead
        administration_id = Correspondence.objects.filter(administration__code="{CODE}").first().administration_id
        anchor_path("{CODE}").unlink()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM registry_registercheckpoint WHERE administration_id = %s", [administration_id])
            target = Correspondence.objects.get(administration_id=administration_id, sequence=2)
            cursor.execute("UPDATE registry_correspondence SET subject = %s WHERE id = %s", ["مزور", target.pk])
            previous = RegisterLogEntry.objects.get(administration_id=administration_id, position=1).entry_hash
            for entry in RegisterLogEntry.objects.filter(administration_id=administration_id, position__gte=2).order_by("position"):
                payload = entry.payload
                if entry.position == 2:
                    data = json.loads(payload)
                    data["facts"]["subject"] = "مزور"
                    payload = canonical_json(data)
                new_hash = chain_hash(previous, payload)
                cursor.execute(
                    "UPDATE registry_registerlogentry SET payload = %s, previous_hash = %s, entry_hash = %s WHERE id = %s",
                    [payload, previous, new_hash, entry.pk],
                )
                previous = new_hash
            cursor.execute("UPDATE registry_registerloghead SET last_hash = %s WHERE administration_id = %s", [previous, administration_id])
        """
    )
    report = verify(a)
    assert "kept by the installation Wasl b is missing from the database" in report
    assert "history rewritten" in report
    assert f"BROKEN {CODE}" in report

    # The peer down: the verification says it could not ask, and still finds no more than it can.
    b.stop()
    try:
        assert "the installation Wasl b could not be asked" in verify(a)
    finally:
        b.start()


def test_a_peer_keeps_only_checkpoints_sealed_by_the_sender_and_only_from_a_pinned_installation(
    pair: tuple[Installation, Installation],
) -> None:
    a, b = pair
    count = "from exchange.models import KeptCheckpoint\nresult = KeptCheckpoint.objects.count()"
    kept_before = b.run(count)
    # A checkpoint whose seal is not over its statement: refused, nothing kept.
    status = a.run(
        """
        import base64, json
        from exchange.anchors import CHECKPOINTS_PATH
        from exchange.models import Peer
        from exchange.remote import signed_post
        from registry.checkpoints import checkpoint_make
        from tenancy.models import Administration
        real = checkpoint_make(actor=None, administration=Administration.objects.get(code="COMMUNE-A"))
        forged = json.loads(real.statement) | {"head_hash": "0" * 64}
        body = json.dumps({"checkpoints": [{"statement": json.dumps(forged), "seal": base64.b64encode(bytes(real.seal)).decode()}]})
        result = signed_post(Peer.objects.get(name="b"), CHECKPOINTS_PATH, "checkpoints", body.encode())
        """
    )
    assert status[0] == 422 and status[1]["error"] == "tampered"
    assert b.run(count) == kept_before
    # From an installation B has not pinned (this test process's own PKI): refused.
    body = json.dumps({"checkpoints": []}).encode()
    request = urllib.request.Request(
        f"{b.url}{CHECKPOINTS_PATH}",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            **sign(installation_pki(), kind="checkpoints", path=CHECKPOINTS_PATH, body=body),
        },
    )
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("an unpinned installation's checkpoints were accepted")
    except urllib.error.HTTPError as refused:
        assert refused.code == 403 and json.loads(refused.read())["error"] == "unknown_peer"
