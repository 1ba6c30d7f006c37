"""CPU cost of rendering one deposit receipt, with the data varying as it does in production.

    .venv/bin/python -m bench.render [-n 150] [--warmup 10] [--repeat 3]
        [--only all,number,...] [--template receipt]

Typst memoises layout across compilations, so what a render costs depends on what changed
since the renders before it. In production every receipt differs from the previous one
(number, time, token and QR code, depositor, subject, attachments); rendering the same data
again mostly measures the PDF export. This script measures, per scenario, the mean CPU time
(``time.process_time()``, all threads of the process) of ``render_pdf`` over ``-n`` renders
after ``--warmup`` renders, every render with values never rendered before:

    all          every per-receipt field varies, 0 to 3 attachments
    identical    the same data every time (the floor: evaluation, cache look-ups, PDF export)
    number       only the registration number
    datetime     only the registration date and time
    qr           only the token: verification URL and QR code
    depositor    only the depositor's name (Arabic or French)
    subject      only the subject (Arabic or French, 40 to 250 characters)
    attachments  only the attachments (0 to 3, new names and hashes)

The data is built before the clock starts; building the QR code is measured on its own
("qr code"). With ``--repeat`` the scenarios run several times, interleaved, and the
smallest mean is kept (the least disturbed by other processes). The base data is
``receipt_data()`` of ``documents/tests/test_rendering.py``. Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import functools
import hashlib
import importlib
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # Run as a script: make the project importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from documents.qr import qr_svg
from documents.rendering import render_pdf

SCENARIOS = ("all", "identical", "number", "datetime", "qr", "depositor", "subject", "attachments")
PUBLIC_URL = "https://wasl.example.ma"

FIRST_AR = ("محمد", "فاطمة الزهراء", "يوسف", "خديجة", "عبد الرحيم", "سناء", "إبراهيم", "نادية", "عمر", "حفصة")
LAST_AR = ("بنعلي", "العمراني", "الإدريسي", "التازي", "الفاسي", "بنكيران", "السوسي", "الرامي", "الحسني", "أمزيان")
FIRST_FR = ("Youssef", "Fatima Zahra", "Mohamed", "Khadija", "Karim", "Salma", "Hamza", "Imane", "Omar", "Nadia")
LAST_FR = ("El Amrani", "Bennani", "Alaoui", "Tazi", "Berrada", "Chraibi", "Lahlou", "Ouazzani", "Idrissi", "Kettani")
COMPANIES = ("شركة الأطلس للبناء", "Société Atlas Travaux SARL", "جمعية الأمل للتنمية", "Coopérative Argan Sud")
SUBJECTS_AR = (
    "طلب الحصول على رخصة البناء لقطعة أرضية بالحي الإداري",
    "طلب شهادة السكنى",
    "شكاية بخصوص انقطاع الإنارة العمومية بالزنقة",
    "طلب تصحيح الإمضاء على عقد كراء محل تجاري",
    "شكل موضوع رقمنة الخدمات العمومية محور يوم دراسي نظم بحضور ثلة من الأكاديميين والمسؤولين",
    "طلب الترخيص باحتلال الملك العمومي الجماعي مؤقتا لغرض تجاري",
)
SUBJECTS_FR = (
    "Demande de certificat de résidence",
    "Réclamation concernant la collecte des déchets dans le quartier",
    "Demande d'autorisation d'occupation temporaire du domaine public communal",
    "Recours gracieux contre la décision de refus du permis de construire",
)
FILE_STEMS = ("scan", "طلب_موقع", "Plan_de_situation_1-2000", "CIN_recto_verso", "تصميم", "attestation_travail")
FILE_EXTS = (".pdf", ".jpg", ".png")


class Varying:
    """Per-receipt values, each new: a counter makes every value unique within the process."""

    def __init__(self, seed: int = 55) -> None:
        self.rng = random.Random(seed)
        self.serial = 0

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def number(self) -> str:
        return f"A-2026-{self._next():06d}"

    def registered_at(self) -> dict[str, str]:
        at = datetime.datetime(2026, 1, 1, 8, 0) + datetime.timedelta(seconds=97 * self._next())
        return {
            "date": at.strftime("%Y-%m-%d"),
            "time": at.strftime("%H:%M:%S"),
            "zone": "Africa/Casablanca (UTC+01:00)",
        }

    def url(self) -> str:
        token = base64.urlsafe_b64encode(hashlib.sha256(b"token %d" % self._next()).digest()[:24]).decode()
        return f"{PUBLIC_URL}/v/{token}"

    def token_fields(self) -> dict[str, Any]:
        url = self.url()
        return {"verification_url": url, "qr_svg": qr_svg(url)}

    def depositor_name(self) -> str:
        n, rng = self._next(), self.rng
        kind = rng.random()
        if kind < 0.1:
            return f"{rng.choice(COMPANIES)} {n}"
        if kind < 0.6:  # Unique without a digit: first, father's and family names.
            return f"{FIRST_AR[n % 10]} {FIRST_AR[n // 10 % 10]} {LAST_AR[n // 100 % 10]} {LAST_AR[rng.randrange(10)]}"
        return f"{FIRST_FR[n % 10]} {LAST_FR[n // 10 % 10]}-{LAST_FR[n // 100 % 10]} {FIRST_FR[rng.randrange(10)]}"

    def subject(self) -> str:
        n, rng = self._next(), self.rng
        if rng.random() < 0.7:
            return f"{rng.choice(SUBJECTS_AR)} (ملف رقم {n}) {rng.choice(SUBJECTS_AR) if rng.random() < 0.3 else ''}".strip()
        return f"{rng.choice(SUBJECTS_FR)} (dossier n° {n}) {rng.choice(SUBJECTS_FR) if rng.random() < 0.3 else ''}".strip()

    def attachments(self) -> list[dict[str, Any]]:
        rng = self.rng
        items = []
        for _ in range(rng.randrange(4)):
            n = self._next()
            pages = rng.randrange(1, 30) if rng.random() < 0.7 else None
            items.append(
                {
                    "filename": f"{rng.choice(FILE_STEMS)}_{n}{rng.choice(FILE_EXTS)}",
                    "sha256": hashlib.sha256(b"attachment %d" % n).hexdigest(),
                    "pages": pages,
                    "size": f"{rng.randrange(20, 9000)} KB",
                }
            )
        return items


def base_data() -> dict[str, Any]:
    """``receipt_data()`` of the tests (documents/tests/test_rendering.py)."""
    # Imported by name: the tests are not type-checked, and this script should not make them so.
    tests = importlib.import_module("documents.tests.test_rendering")
    data: dict[str, Any] = tests.receipt_data()
    return data


def datas(scenario: str, count: int, vary: Varying) -> Iterator[dict[str, Any]]:
    base = base_data()
    for _ in range(count):
        data = dict(base)
        if scenario in ("all", "number"):
            data["number"] = vary.number()
        if scenario in ("all", "datetime"):
            data["registered_at"] = vary.registered_at()
        if scenario in ("all", "qr"):
            data.update(vary.token_fields())
        if scenario in ("all", "depositor"):
            data["depositor"] = {**base["depositor"], "name": vary.depositor_name()}
        if scenario in ("all", "subject"):
            data["subject"] = vary.subject()
        if scenario in ("all", "attachments"):
            data["attachments"] = vary.attachments()
        yield data


def cpu_ms_each(call: Callable[[Any], object], items: list[Any], warmup: int) -> float:
    """Mean CPU milliseconds of ``call(item)`` over ``items[warmup:]``, after calls on ``items[:warmup]``."""
    for item in items[:warmup]:
        call(item)
    measured = items[warmup:]
    start = time.process_time()
    for item in measured:
        call(item)
    return (time.process_time() - start) / len(measured) * 1000


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=150, help="measured renders per scenario (default 150)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs of every scenario; the smallest mean is kept")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--template", default="receipt", help="template name(s), comma-separated, interleaved")
    args = parser.parse_args(argv)
    scenarios = [s for s in args.only.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    templates = [t for t in args.template.split(",") if t]
    vary = Varying()
    count = args.n + args.warmup

    for template in templates:  # Builds the compiler and loads the fonts, outside the measure.
        render_pdf(template, base_data())
    urls = [vary.url() for _ in range(count)]
    best: dict[str, float] = {}
    for _ in range(max(1, args.repeat)):
        best["qr code"] = min(best.get("qr code", 1e9), cpu_ms_each(qr_svg, urls, args.warmup))
        for scenario in scenarios:
            for template in templates:
                items = list(datas(scenario, count, vary))
                ms = cpu_ms_each(functools.partial(render_pdf, template), items, args.warmup)
                key = f"{scenario} [{template}]" if len(templates) > 1 else scenario
                best[key] = min(best.get(key, 1e9), ms)
    print(f"CPU ms per call, best of {args.repeat} runs of {args.n} (after {args.warmup} warm-up):")
    for key, ms in best.items():
        print(f"  {key:<28} {ms:7.2f}")
    return best


if __name__ == "__main__":
    main()
