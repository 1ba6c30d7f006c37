"""Two real installations on loopback, each a server process with its own database and PKI,
pinned to each other: letters go both ways and are acknowledged; nothing is lost or registered
twice when the recipient is down or the sender is killed mid-delivery; replays, tampering and
unknown certificates are refused with their reason and register nothing."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from exchange.protocol import INBOX_PATH, INSTALLATION, sign
from exchange.tests.installations import ROOT, Installation, free_port
from trust.services import installation_pki

# Two real installations (servers on loopback, each with its own SQLite database).
pytestmark = [pytest.mark.slow, pytest.mark.own_installations]


def send(side: Installation, sender: str, address: str, subject: str = "Demande d'avis", *, pages: int = 1) -> str:
    return str(
        side.run(
            f"""
            from documents.intake import bytes_upload, check_files
            from exchange.services import mail_send
            from tenancy.models import Administration, User
            from trust.testing import sample_pdf
            files = check_files([bytes_upload(sample_pdf("Lettre", paragraphs={pages}), "lettre.pdf")])
            envelope = mail_send(
                actor=User.objects.get(email="clerk@{sender.lower()}.ma"),
                administration=Administration.objects.get(code="{sender}"),
                recipient_code="{address}", subject={subject!r}, body="Objet : avis.", files=files,
            )
            result = str(envelope.pk)
            """
        )
    )


def deliver(side: Installation) -> int:
    return int(
        side.run(
            """
            from core.clock import now
            from exchange.models import Envelope
            from exchange.services import envelopes_deliver
            Envelope.objects.filter(status="pending").update(next_attempt_at=now())
            result = envelopes_deliver()
            """
        )
    )


def envelope(side: Installation, envelope_id: str) -> dict[str, Any] | None:
    return side.run(
        f"""
        from exchange.models import Envelope
        from exchange.services import acknowledgement_valid
        from workflow.models import Case
        e = Envelope.objects.filter(pk="{envelope_id}").select_related("incoming", "outgoing", "peer").first()
        result = e and {{
            "status": e.status, "last_error": e.last_error, "attempts": e.attempts,
            "outgoing_number": e.outgoing_number, "incoming_number": e.incoming_number,
            "has_incoming": e.incoming_id is not None, "case": Case.objects.filter(correspondence_id=e.incoming_id).exists(),
            "sender_code": e.sender_code, "recipient_code": e.recipient_code,
            "acknowledgement": e.acknowledgement, "valid": acknowledgement_valid(e),
            "seal": __import__("base64").b64encode(bytes(e.acknowledgement_seal)).decode(),
        }}
        """
    )


def incoming_count(side: Installation, code: str) -> int:
    return int(
        side.run(
            f"""
            from registry.models import Correspondence
            result = Correspondence.objects.filter(administration__code="{code}", direction="incoming").count()
            """
        )
    )


def openssl_verifies(acknowledgement: str, seal_b64: str, ca_pem: str, directory: Path) -> bool:
    """An independent check of the acknowledgement's seal (OpenSSL CMS)."""
    (directory / "ack.json").write_text(acknowledgement, encoding="utf-8")
    (directory / "ack.p7s").write_bytes(base64.b64decode(seal_b64))
    (directory / "ca.pem").write_text(ca_pem)
    done = subprocess.run(
        [
            *("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(directory / "ack.p7s")),
            *("-content", str(directory / "ack.json"), "-CAfile", str(directory / "ca.pem"), "-purpose", "any"),
            *("-out", "/dev/null"),
        ],
        capture_output=True,
    )
    return done.returncode == 0


def test_a_letter_lands_in_the_other_installation_with_its_number_and_a_sealed_acknowledgement(
    pair: tuple[Installation, Installation], tmp_path: Path
) -> None:
    a, b = pair
    envelope_id = send(a, "COMMUNE-A", "PROVINCE-B@b")
    sent = envelope(a, envelope_id)
    assert sent is not None and sent["status"] == "pending" and sent["outgoing_number"]
    assert deliver(a) == 1
    sent, received = envelope(a, envelope_id), envelope(b, envelope_id)
    assert received is not None and sent is not None
    assert received["has_incoming"] and received["case"] and received["status"] == "delivered"
    assert received["outgoing_number"] == sent["outgoing_number"]  # the sender's number, kept by the recipient
    assert sent["status"] == "delivered" and sent["incoming_number"] == received["incoming_number"]
    assert sent["sender_code"] == "COMMUNE-A" and sent["recipient_code"] == "PROVINCE-B@b"
    assert received["sender_code"] == "COMMUNE-A@a" and received["recipient_code"] == "PROVINCE-B"
    assert sent["valid"] and received["valid"]
    facts = json.loads(sent["acknowledgement"])
    assert facts["recipient"] == "PROVINCE-B" and facts["recipient_number"] == received["incoming_number"]
    assert sent["acknowledgement"] == received["acknowledgement"]
    b_root = b.run(
        "from trust.services import installation_pki\nresult = installation_pki().ca_certificate_pem.decode()"
    )
    a_root = a.run(
        "from trust.services import installation_pki\nresult = installation_pki().ca_certificate_pem.decode()"
    )
    assert openssl_verifies(sent["acknowledgement"], sent["seal"], b_root, tmp_path)
    assert not openssl_verifies(sent["acknowledgement"], sent["seal"], a_root, tmp_path)  # B's seal, not A's
    # The recipient's clerk finds it in the incoming register, from the sending administration.
    letter = b.run(
        f"""
        from exchange.models import Envelope
        c = Envelope.objects.get(pk="{envelope_id}").incoming
        result = [c.channel, c.sender_kind, c.sender_name, c.sender_identifier, c.subject,
                  [a.filename for a in c.attachments.all()]]
        """
    )
    assert letter == [
        "exchange",
        "administration",
        "Commune COMMUNE-A",
        "COMMUNE-A@A",
        "Demande d'avis",
        ["lettre.pdf"],
    ]
    assert deliver(a) == 0  # nothing left to deliver, nothing delivered twice
    assert incoming_count(b, "PROVINCE-B") == 1


def test_and_the_other_way(pair: tuple[Installation, Installation]) -> None:
    a, b = pair
    envelope_id = send(b, "PROVINCE-B", "commune-a2@A", subject="Réponse")  # addresses are not case-sensitive
    assert deliver(b) == 1
    received = envelope(a, envelope_id)
    assert received is not None and received["recipient_code"] == "COMMUNE-A2" and received["case"]
    sent = envelope(b, envelope_id)
    assert sent is not None and sent["status"] == "delivered" and sent["valid"]
    assert sent["incoming_number"] == received["incoming_number"]


def test_the_recipient_down_then_up_gets_it_once(pair: tuple[Installation, Installation]) -> None:
    a, b = pair
    before = incoming_count(b, "PROVINCE-B")
    b.stop()
    try:
        envelope_id = send(a, "COMMUNE-A", "PROVINCE-B@b", subject="Pendant la panne")
        assert deliver(a) == 0
        waiting = envelope(a, envelope_id)
        assert waiting is not None and waiting["status"] == "pending" and waiting["attempts"] == 1
        assert "Connection" in waiting["last_error"] or "refused" in waiting["last_error"].lower()
        assert deliver(a) == 0  # still down: still waiting, the registration untouched
    finally:
        b.start()
    assert deliver(a) == 1
    delivered = envelope(a, envelope_id)
    assert delivered is not None and delivered["status"] == "delivered" and delivered["valid"]
    assert incoming_count(b, "PROVINCE-B") == before + 1


def test_a_recipient_that_cannot_seal_registers_once_and_acknowledges_on_the_retry(
    pair: tuple[Installation, Installation],
) -> None:
    a, b = pair
    before = incoming_count(b, "PROVINCE-B")
    # B's timestamping unit is down (nothing listens there): B registers, but cannot seal.
    b.stop()
    b.env["WASL_TSA_URL"] = f"http://127.0.0.1:{free_port()}/"
    try:
        b.start()
        envelope_id = send(a, "COMMUNE-A", "PROVINCE-B@b", subject="Sans horodatage")
        assert deliver(a) == 0
        waiting = envelope(a, envelope_id)
        assert waiting is not None and waiting["status"] == "pending" and "HTTP 503" in waiting["last_error"]
        received = envelope(b, envelope_id)
        assert received is not None and received["status"] == "delivered" and not received["seal"]
        assert incoming_count(b, "PROVINCE-B") == before + 1  # registered at once, without its seal
    finally:
        b.stop()
        del b.env["WASL_TSA_URL"]
        b.start()
    assert deliver(a) == 1  # the retry gets the acknowledgement, sealed now
    delivered = envelope(a, envelope_id)
    assert delivered is not None and delivered["status"] == "delivered" and delivered["valid"]
    received = envelope(b, envelope_id)
    assert received is not None and received["valid"]
    assert incoming_count(b, "PROVINCE-B") == before + 1  # registered once


def test_the_sender_killed_after_the_recipient_registered_delivers_once(
    pair: tuple[Installation, Installation],
) -> None:
    a, b = pair
    before = incoming_count(b, "PROVINCE-B")
    envelope_id = send(a, "COMMUNE-A", "PROVINCE-B@b", subject="Coupure")
    # The exact window: B registered and answered, A dies before recording the answer.
    driver = a.driver()
    assert driver.stdin is not None
    driver.stdin.write(
        json.dumps(
            "import os\nfrom exchange import remote\nremote._acknowledged = lambda *args: os._exit(9)\n"
            f"remote.envelope_post('{envelope_id}')\n"
        )
        + "\n"
    )
    driver.stdin.flush()
    assert driver.wait(timeout=60) == 9
    assert incoming_count(b, "PROVINCE-B") == before + 1
    waiting = envelope(a, envelope_id)
    assert waiting is not None and waiting["status"] == "pending"
    assert deliver(a) == 1  # restarted: posted again, answered with the acknowledgement already given
    assert incoming_count(b, "PROVINCE-B") == before + 1
    delivered = envelope(a, envelope_id)
    assert delivered is not None and delivered["valid"]


def test_kill_9_in_the_middle_of_a_batch_then_restart_delivers_each_once(
    pair: tuple[Installation, Installation],
) -> None:
    a, b = pair
    before = incoming_count(b, "PROVINCE-B")
    ids = [send(a, "COMMUNE-A", "PROVINCE-B@b", subject=f"Lot {n}") for n in range(12)]
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "exchange_deliver"], env=a.env, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while incoming_count(b, "PROVINCE-B") == before:
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.05)
    worker.kill()  # kill -9, in the middle of the batch
    worker.wait()
    middle = incoming_count(b, "PROVINCE-B") - before
    assert 0 < middle < len(ids)
    deliver(a)
    assert incoming_count(b, "PROVINCE-B") == before + len(ids)
    states = [envelope(a, i) for i in ids]
    assert all(s is not None and s["status"] == "delivered" and s["valid"] for s in states)
    numbers = b.run(
        """
        from registry.models import Correspondence
        result = list(Correspondence.objects.filter(administration__code="PROVINCE-B", direction="incoming")
                      .order_by("sequence").values_list("sequence", flat=True))
        """
    )
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # gapless, once each


def _exchange(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """Post to a peer's inbox: the status, headers and body of its answer, as received."""
    request = urllib.request.Request(url + INBOX_PATH, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    status, _headers, answer = _exchange(url, body, headers)
    return status, json.loads(answer)


def _signed_request(side: Installation, envelope_id: str) -> tuple[bytes, dict[str, str]]:
    """The request ``side`` would post for a pending envelope: body and signed headers."""
    body, headers = side.run(
        f"""
        from exchange import remote
        from exchange.models import Envelope
        from exchange.protocol import INBOX_PATH, sign
        from trust.services import installation_pki
        e = remote._sealed(Envelope.objects.select_related("sender", "outgoing").get(pk="{envelope_id}"))
        body = remote._payload(e)
        result = [body.decode(), sign(installation_pki(), kind="envelope", path=INBOX_PATH, body=body)]
        """
    )
    return body.encode(), headers


def test_a_replayed_request_is_refused_and_a_fresh_retry_gets_the_same_acknowledgement(
    pair: tuple[Installation, Installation],
) -> None:
    a, b = pair
    before = incoming_count(b, "PROVINCE-B")
    envelope_id = send(a, "COMMUNE-A", "PROVINCE-B@b", subject="Rejeu")
    body, headers = _signed_request(a, envelope_id)
    status, answered, first = _exchange(b.url, body, headers)
    assert status == 201 and "Idempotent-Replayed" not in answered
    assert json.loads(json.loads(first)["acknowledgement"])["envelope"] == envelope_id
    status, replayed = _post(b.url, body, headers)
    assert (status, replayed["error"]) == (409, "replayed")
    body, headers = _signed_request(a, envelope_id)  # the sender's retry: a new request
    status, answered, again = _exchange(b.url, body, headers)
    # Answered as the first time, as a retry with an Idempotency-Key is in the API.
    assert (status, answered["Idempotent-Replayed"], again) == (201, "true", first)
    assert incoming_count(b, "PROVINCE-B") == before + 1


def test_an_envelope_id_received_again_with_another_letter_is_a_conflict(
    pair: tuple[Installation, Installation],
) -> None:
    a, b = pair
    envelope_id = send(a, "COMMUNE-A", "PROVINCE-B@b", subject="Première lettre")
    status, first = _post(b.url, *_signed_request(a, envelope_id))
    assert status == 201
    before = incoming_count(b, "PROVINCE-B")
    # Another letter under the same envelope id, its manifest duly sealed by COMMUNE-A.
    other = (
        'manifest = json.loads(payload["manifest"]); manifest["subject"] = "Autre lettre"; '
        'payload["manifest"] = json.dumps(manifest); '
        "from trust.sealing import seal_data; "
        'payload["seal"] = base64.b64encode(seal_data(payload["manifest"].encode(), pki=installation_pki(), '
        'administration_code="COMMUNE-A")).decode()'
    )
    status, answer = _post(b.url, *_resigned(a, envelope_id, other))
    assert (status, answer["error"]) == (422, "conflict") and "another manifest" in answer["detail"]
    assert incoming_count(b, "PROVINCE-B") == before
    assert _post(b.url, *_signed_request(a, envelope_id)) == (201, first)  # the first letter's answer holds


def _resigned(side: Installation, envelope_id: str, change: str) -> tuple[bytes, dict[str, str]]:
    """A request for the envelope, altered by ``change`` (Python on ``payload``), then signed by
    the sending installation itself: the transport is genuine, the content is not."""
    body, headers = side.run(
        f"""
        import base64, json
        from exchange import remote
        from exchange.models import Envelope
        from exchange.protocol import INBOX_PATH, sign
        from trust.services import installation_pki
        e = remote._sealed(Envelope.objects.select_related("sender", "outgoing").get(pk="{envelope_id}"))
        payload = json.loads(remote._payload(e))
        {change}
        body = json.dumps(payload).encode()
        result = [body.decode(), sign(installation_pki(), kind="envelope", path=INBOX_PATH, body=body)]
        """
    )
    return body.encode(), headers


def test_tampering_and_unknown_certificates_are_refused_with_a_reason_and_register_nothing(
    pair: tuple[Installation, Installation],
) -> None:
    a, b = pair
    before = incoming_count(b, "PROVINCE-B")
    envelope_id = send(a, "COMMUNE-A", "PROVINCE-B@b", subject="Falsifié")
    body, headers = _signed_request(a, envelope_id)
    changed = body.replace(b"Falsifi", b"Modifi")
    assert changed != body
    assert _post(b.url, changed, headers)[1]["error"] == "bad_signature"  # changed on the way
    other_subject = 'payload["manifest"] = payload["manifest"].replace("Falsifié", "Autorisé")'
    status, answer = _post(b.url, *_resigned(a, envelope_id, other_subject))
    assert (status, answer["error"]) == (422, "tampered") and "not sealed by COMMUNE-A" in answer["detail"]
    other_document = 'payload["documents"][0] = base64.b64encode(b"%PDF-1.7 another").decode()'
    status, answer = _post(b.url, *_resigned(a, envelope_id, other_document))
    assert (status, answer["error"]) == (422, "tampered") and "fingerprint" in answer["detail"]
    # An installation B never pinned (this test process's own), then one claiming to be A.
    own = sign(installation_pki(), kind="envelope", path=INBOX_PATH, body=body)
    assert _post(b.url, body, own) == (403, {"error": "unknown_peer", "detail": "this installation is not pinned here"})
    impostor = {**own, INSTALLATION: headers[INSTALLATION]}
    status, answer = _post(b.url, body, impostor)
    assert (status, answer["error"]) == (403, "certificate_mismatch")
    assert incoming_count(b, "PROVINCE-B") == before
    assert envelope(b, envelope_id) is None
    # The genuine request still goes through afterwards: nothing was half-made.
    assert _post(b.url, body, headers)[0] == 201


def test_refusals_are_flagged_to_the_sender_with_their_reason(pair: tuple[Installation, Installation]) -> None:
    a, _ = pair
    a.run(
        """
        from exchange.models import Peer, RemoteAdministration
        RemoteAdministration.objects.create(peer=Peer.objects.get(name="b"), code="GONE", name_ar="x", name_fr="Gone")
        """
    )
    envelope_id = send(a, "COMMUNE-A", "GONE@b", subject="Adresse périmée")
    deliver(a)
    refused = envelope(a, envelope_id)
    assert refused is not None and refused["status"] == "failed"
    assert refused["last_error"].startswith("unknown_recipient")
    deliver(a)
    assert envelope(a, envelope_id) == refused  # not retried
    told = a.run(
        "from workflow.models import Notification\n"
        "result = list(Notification.objects.filter(user__email='clerk@commune-a.ma').values_list('text', flat=True))"
    )
    assert any("GONE@b" in text and "unknown_recipient" in text for text in told)


def test_pinning_refuses_a_wrong_fingerprint(pair: tuple[Installation, Installation]) -> None:
    a, b = pair
    wrong = a.manage("peer_add", "b2", b.url, "--fingerprint", "00" * 32, check=False)
    assert wrong.returncode != 0 and "Not pinned" in wrong.stderr
    assert a.run("from exchange.models import Peer\nresult = Peer.objects.filter(name='b2').count()") == 0
