"""The fast check of another installation's seals agrees with pyHanko's general validator on
genuine, altered, foreign and malformed seals."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms

from trust import cms
from trust.pinned import verify_own_seal, verify_pinned_seal
from trust.pki import Pki
from trust.sealing import seal_data, timestamp_token
from trust.verification import verify_sealed_data

DATA = '{"envelope":"7f0c","subject":"طلب رأي"}'.encode()


def both(data: bytes, seal: bytes, root_pki: Pki, reader: Pki) -> tuple[bool, bool]:
    fast = verify_pinned_seal(data, seal, root_pki.ca_cert)
    general = verify_sealed_data(data, seal, pki=reader, pinned_root=root_pki.ca_cert)
    if fast.valid:
        assert (fast.signer_code, fast.timestamp_at) == (general.signer_code, general.timestamp_at)
    return fast.valid, general.valid


def test_a_genuine_seal_is_valid_with_its_code_and_time(pki: Pki, foreign_pki: Pki) -> None:
    seal = seal_data(DATA, pki=foreign_pki, administration_code="PROVINCE-B")
    verdict = verify_pinned_seal(DATA, seal, foreign_pki.ca_cert)
    assert verdict.valid and verdict.signer_code == "PROVINCE-B" and verdict.timestamp_at is not None
    assert both(DATA, seal, foreign_pki, pki) == (True, True)


def test_other_data_another_root_or_a_changed_byte_is_refused_by_both(pki: Pki, foreign_pki: Pki) -> None:
    seal = seal_data(DATA, pki=foreign_pki, administration_code="PROVINCE-B")
    assert both(DATA + b" ", seal, foreign_pki, pki) == (False, False)
    assert both(DATA, seal, pki, pki) == (False, False)  # pinned to the wrong installation
    assert verify_pinned_seal(DATA, seal, pki.ca_cert).problem == "untrusted"
    signature_at = seal.rindex(bytes(asn1_cms.ContentInfo.load(seal)["content"]["signer_infos"][0]["signature"]))
    for position in (signature_at + 10, len(seal) - 40):  # the signature, then the timestamp token's
        changed = bytearray(seal)
        changed[position] ^= 0x01
        fast, _ = both(DATA, bytes(changed), foreign_pki, pki)
        assert not fast


def test_a_seal_whose_timestamp_is_for_another_signature_is_refused(foreign_pki: Pki) -> None:
    identity = foreign_pki.seal_for(code="PROVINCE-B")
    token = timestamp_token(hashlib.sha256(b"another signature").digest(), pki=foreign_pki)
    seal = identity.signed_data(
        content_type=cms.ID_DATA,
        digest=hashlib.sha256(DATA).digest(),
        unsigned=lambda signature: cms.signature_timestamp_attribute(token),
    )
    verdict = verify_pinned_seal(DATA, seal, foreign_pki.ca_cert)
    assert not verdict.valid and verdict.problem == "timestamp_invalid"


@pytest.mark.parametrize("garbage", [b"", b"\x30\x03\x02\x01\x01", os.urandom(300)])
def test_garbage_is_unreadable(garbage: bytes, foreign_pki: Pki) -> None:
    verdict = verify_pinned_seal(DATA, garbage, foreign_pki.ca_cert)
    assert not verdict.valid and verdict.problem == "unreadable"


def test_our_own_seals_are_checked_with_the_revocation_list(tmp_path: Path) -> None:
    own = Pki.create(tmp_path, "Revocation of our own")
    seal = seal_data(DATA, pki=own, administration_code="COMMUNE-X")
    assert verify_own_seal(DATA, seal, pki=own).valid and verify_sealed_data(DATA, seal, pki=own).valid
    assert verify_own_seal(DATA + b"!", seal, pki=own).problem == "not_intact"
    own.revoke_seal(code="COMMUNE-X")
    fast, general = verify_own_seal(DATA, seal, pki=own), verify_sealed_data(DATA, seal, pki=own)
    assert (fast.valid, fast.problem) == (general.valid, general.problem) == (False, "revoked")
