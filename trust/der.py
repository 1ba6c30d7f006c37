"""Just enough DER encoding to assemble CMS structures from precomputed parts.

asn1crypto builds a tree of Python objects and re-serialises every certificate each time a
SignedData is dumped; profiling showed that this, not the cryptography, made up most of
pyHanko's signing time. A CMS signature over a PDF is mostly constant (certificates, algorithm
identifiers, the issuer of the signer), so we keep those parts as DER bytes and only encode
the few values that change: digests, times, serial numbers and signatures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    encoded = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(encoded),)) + encoded


def tlv(tag: int, *parts: bytes) -> bytes:
    """Encode one element: identifier octet, definite length, then the concatenated parts."""
    content = b"".join(parts)
    return bytes((tag,)) + _length(len(content)) + content


def sequence(*parts: bytes) -> bytes:
    return tlv(0x30, *parts)


def set_of(*parts: bytes) -> bytes:
    # DER orders the members of a SET OF by their encodings; byte-wise comparison gives the
    # same order as X.690's "pad the shorter with zero octets" rule.
    return tlv(0x31, *sorted(parts))


def context(number: int, *parts: bytes) -> bytes:
    """A constructed context-specific tag: [n] EXPLICIT, or [n] IMPLICIT over a SEQUENCE/SET."""
    return tlv(0xA0 | number, *parts)


def integer(value: int) -> bytes:
    if value < 0:
        raise ValueError("only non-negative integers are needed here")
    # One extra bit keeps the sign bit clear, as two's complement requires.
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def octet_string(value: bytes) -> bytes:
    return tlv(0x04, value)


def boolean(value: bool) -> bytes:
    return b"\x01\x01\xff" if value else b"\x01\x01\x00"


@cache
def oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


def generalized_time(moment: datetime) -> bytes:
    # DER wants UTC with a literal Z; whole seconds avoid the trailing-zero rules of fractions.
    text = moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")
    return tlv(0x18, text.encode("ascii"))


def algorithm(dotted: str, parameters: bytes | None = None) -> bytes:
    """An AlgorithmIdentifier; ``parameters`` is already-encoded DER (e.g. NULL) or absent."""
    return sequence(oid(dotted), parameters or b"")


NULL = b"\x05\x00"
