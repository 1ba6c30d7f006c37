"""A small HTTP/1.1 load generator for the deposit endpoint: asyncio, keep-alive, raw sockets.

It shares the machine's cores with the server, so it does as little as possible per request:
request bytes are built once (headers per client, multipart body per document variant); per
request it only stamps a 12-digit serial into the PDF's padding (so every deposit carries a
distinct file, as real deposits do, and content-addressed storage writes each one), writes
three byte strings, reads the status line and headers, and reads ``Content-Length`` bytes.

Pure asyncio + pypdf (for the sample PDFs): no Django here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from dataclasses import dataclass, field

BOUNDARY = "----WaslBenchBoundary7MA4YWxkTrZu0gW"
SERIAL_DIGITS = 12
MARKER = "#" + "0" * SERIAL_DIGITS
SUBJECT = "طلب الحصول على رخصة البناء لمنزل عائلي بالحي الجديد، الرسم العقاري رقم 12345/45"
BODY = (
    "السيد رئيس المجلس الجماعي المحترم، تحية طيبة وبعد، يشرفني أن أتقدم إلى سيادتكم بطلبي هذا "
    "قصد الحصول على رخصة البناء. Veuillez trouver ci-joint le dossier complet. "
) * 3
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CONNECTION_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)


@dataclass(frozen=True)
class Variant:
    """One pre-built multipart body, split around the serial slot in the PDF padding."""

    head: bytes
    tail: bytes

    @property
    def length(self) -> int:
        return len(self.head) + SERIAL_DIGITS + len(self.tail)


def build_variants(count: int, pdf_size: int) -> list[Variant]:
    """``count`` distinct ~``pdf_size``-byte PDFs (text varies), each as a multipart body."""
    from documents.samples import pdf_bytes

    variants = []
    for i in range(count):
        pdf = pdf_bytes(pad_to=pdf_size, text=f"Wasl benchmark letter {i:03d} {MARKER}")
        slot = pdf.index(MARKER.encode()) + 1
        fields = b"".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in (("recipient", "{recipient}"), ("subject", SUBJECT), ("body", BODY))
        )
        file_header = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; filename="lettre-{i:03d}.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        variants.append(
            Variant(
                head=fields + file_header + pdf[:slot],
                tail=pdf[slot + SERIAL_DIGITS :] + f"\r\n--{BOUNDARY}--\r\n".encode(),
            )
        )
    return variants


def with_recipient(variants: list[Variant], recipient: str) -> list[Variant]:
    return [Variant(head=v.head.replace(b"{recipient}", recipient.encode()), tail=v.tail) for v in variants]


@dataclass
class Phase:
    """What the clients of one phase recorded."""

    latencies: list[float] = field(default_factory=list)  # seconds, successes only
    successes: int = 0
    not_issued: int = 0  # 201 whose receipt_status was not "issued"
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: dict[str, str] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0

    def error(self, kind: str, sample: bytes | str = b"") -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if kind not in self.error_samples:
            text = sample.decode("utf-8", "replace") if isinstance(sample, bytes) else sample
            self.error_samples[kind] = text[:300]


class Client:
    """One keep-alive connection with its own bearer token."""

    def __init__(
        self, host: str, port: int, token: str, variants: list[Variant], serials: itertools.count[int]
    ) -> None:
        self.host, self.port = host, port
        self.variants = variants
        self.serials = serials
        self.headers = [
            (
                f"POST /api/v1/deposits HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                "Accept-Language: ar\r\nUser-Agent: wasl-bench\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {v.length}\r\n\r\n"
            ).encode()
            for v in variants
        ]
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def deposit(self) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        serial = next(self.serials)
        i = serial % len(self.variants)
        variant = self.variants[i]
        self.writer.writelines((self.headers[i], variant.head, b"%012d" % serial, variant.tail))
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        match = _CONTENT_LENGTH.search(head)
        body = await self.reader.readexactly(int(match.group(1))) if match else b""
        if match is None or _CONNECTION_CLOSE.search(head):
            await self.close()
        return status, body


async def _client_loop(client: Client, phase: Phase, until: float, timeout: float) -> None:
    while time.perf_counter() < until:
        start = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(client.deposit(), timeout)
        except TimeoutError:
            phase.error("timeout")
            await client.close()
            continue
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            phase.error(type(exc).__name__, str(exc))
            await client.close()
            await asyncio.sleep(0.05)
            continue
        elapsed = time.perf_counter() - start
        if status == 201:
            phase.successes += 1
            phase.latencies.append(elapsed)
            if b'"issued"' not in body:
                phase.not_issued += 1
        else:
            phase.error(f"HTTP {status}", body)


async def run_phase(clients: list[Client], duration: float, timeout: float = 60.0) -> Phase:
    phase = Phase()
    phase.started = time.perf_counter()
    until = phase.started + duration
    await asyncio.gather(*(_client_loop(c, phase, until, timeout) for c in clients))
    phase.finished = time.perf_counter()
    return phase


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]
