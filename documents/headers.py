"""The size of a picture read from its header, before anything decodes it.

A picture's header states its width, height and (for TIFF and animated PNG) how many frames it
holds; these few bytes say what decoding it would cost. They are read here by hand, in the
process that received the upload, with work bounded by the limits themselves: a TIFF's frames
are counted only up to one past the limit, and a directory with an absurd number of fields is
taken as damaged. Decoding, if the header is within limits, happens in a child process
(:mod:`documents.decoding`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import IO

MAX_TIFF_FIELDS = 4096  # fields in one TIFF directory; real scans carry a few dozen


class HeaderUnreadable(ValueError):
    """The header is not what the format requires."""


@dataclass(frozen=True)
class PictureHeader:
    frames: int  # up to max_frames + 1: "more than the limit"
    largest: int  # pixels of the largest frame seen


def picture_header(stream: IO[bytes], content_type: str, *, max_frames: int) -> PictureHeader:
    """The frames and the largest frame's pixels of a JPEG, PNG or TIFF, from its header."""
    stream.seek(0)
    if content_type == "image/png":
        return _png(stream)
    if content_type == "image/jpeg":
        return _jpeg(stream)
    if content_type == "image/tiff":
        return _tiff(stream, max_frames=max_frames)
    raise HeaderUnreadable(content_type)


def _read(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise HeaderUnreadable("truncated header")
    return data


def _png(stream: IO[bytes]) -> PictureHeader:
    _read(stream, 8)  # the signature, sniffed already
    length, kind = struct.unpack(">I4s", _read(stream, 8))
    if kind != b"IHDR" or length != 13:
        raise HeaderUnreadable("PNG without IHDR")
    width, height = struct.unpack(">II", _read(stream, 8))
    stream.seek(5 + 4, 1)  # the rest of IHDR and its CRC
    frames = 1
    # An animated PNG says its frame count (acTL) before its first image data.
    while True:
        head = stream.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head)
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"acTL" and length >= 4:
            frames = max(1, struct.unpack(">I", _read(stream, 4))[0])
            stream.seek(length - 4 + 4, 1)
        else:
            stream.seek(length + 4, 1)
    return PictureHeader(frames=frames, largest=width * height)


# Start-of-frame markers: every SOFn but DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(stream: IO[bytes]) -> PictureHeader:
    _read(stream, 2)  # SOI
    while True:
        byte = _read(stream, 1)
        if byte != b"\xff":
            raise HeaderUnreadable("JPEG marker expected")
        marker = _read(stream, 1)[0]
        while marker == 0xFF:  # fill bytes
            marker = _read(stream, 1)[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        (length,) = struct.unpack(">H", _read(stream, 2))
        if length < 2:
            raise HeaderUnreadable("JPEG segment length")
        if marker in _SOF:
            _precision, height, width = struct.unpack(">BHH", _read(stream, 5))
            return PictureHeader(frames=1, largest=width * height)
        if marker in (0xDA, 0xD9):  # image data or the end, and no frame header before it
            raise HeaderUnreadable("JPEG without a frame header")
        stream.seek(length - 2, 1)


def _tiff(stream: IO[bytes], *, max_frames: int) -> PictureHeader:
    order = _read(stream, 2)
    endian = "<" if order == b"II" else ">"
    (version,) = struct.unpack(endian + "H", _read(stream, 2))
    if version == 42:
        offset_format, count_format, entry_size = "I", "H", 12
        (offset,) = struct.unpack(endian + "I", _read(stream, 4))
    elif version == 43:  # BigTIFF
        _read(stream, 4)
        offset_format, count_format, entry_size = "Q", "Q", 20
        (offset,) = struct.unpack(endian + "Q", _read(stream, 8))
    else:
        raise HeaderUnreadable("TIFF version")
    frames, largest = 0, 0
    seen: set[int] = set()
    while offset and frames <= max_frames:
        if offset in seen:
            raise HeaderUnreadable("TIFF directories loop")
        seen.add(offset)
        stream.seek(offset)
        (count,) = struct.unpack(endian + count_format, _read(stream, struct.calcsize(count_format)))
        if count > MAX_TIFF_FIELDS:
            raise HeaderUnreadable("TIFF directory too large")
        entries = _read(stream, count * entry_size)
        width = height = 0
        for n in range(count):
            entry = entries[n * entry_size : (n + 1) * entry_size]
            tag, kind = struct.unpack(endian + "HH", entry[:4])
            if tag in (256, 257):  # ImageWidth, ImageLength: a SHORT or a LONG, in the entry
                value_at = entry[8:] if entry_size == 12 else entry[12:]
                if kind == 3:
                    (value,) = struct.unpack(endian + "H", value_at[:2])
                elif kind == 4:
                    (value,) = struct.unpack(endian + "I", value_at[:4])
                elif kind == 16:  # LONG8, BigTIFF only
                    (value,) = struct.unpack(endian + "Q", value_at[:8])
                else:
                    raise HeaderUnreadable("TIFF size field type")
                width, height = (value, height) if tag == 256 else (width, value)
        frames += 1
        largest = max(largest, width * height)
        (offset,) = struct.unpack(endian + offset_format, _read(stream, struct.calcsize(offset_format)))
    if frames == 0:
        raise HeaderUnreadable("TIFF without a directory")
    return PictureHeader(frames=frames, largest=largest)
