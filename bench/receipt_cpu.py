"""CPU time of issuing one receipt (render + seal + timestamp), in-process.

    python -m bench.receipt_cpu [--iterations N] [--json OUT]

Sets Django up on a throw-away SQLite data directory (demo PKI created there), registers
N correspondences with one ~200 KB PDF attachment each, then measures with ``time.process_time()``:

- ``receipt_render_and_seal(correspondence, attachments, token, log_entry)``: the whole receipt, each
  call for a different registered correspondence (number, time, token, QR code all differ);
- its parts: ``receipt_data`` (includes the QR code, also shown alone),
  ``render_pdf("receipt", data)`` and ``seal_pdf(...)`` of the rendered receipts;
- ``bench.seal.measure()``: seal/verify figures on its own fixed test document.

Figures are CPU milliseconds per call, averaged after a warm-up (the first call builds the
Typst compiler and loads the fonts; that one-off cost is reported separately).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    n = max(1, args.iterations)

    data_dir = Path(tempfile.mkdtemp(prefix="wasl-bench-receipt-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "wasl.settings",
            "WASL_DATA_DIR": str(data_dir),
            "WASL_DEMO": "true",
            "WASL_CACHE_URL": "locmem://",
            "WASL_LOG_LEVEL": "WARNING",
            "WASL_TASKS": "database",
        }
    )
    os.environ.pop("WASL_DATABASE_URL", None)
    try:
        return _measure(n, args.json)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _measure(n: int, json_out: str | None) -> dict[str, float]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from bench import seal as bench_seal
    from bench.render import cpu_ms_each
    from documents.intake import bytes_upload, check_files
    from documents.qr import qr_svg
    from documents.rendering import render_pdf
    from documents.samples import pdf_bytes
    from registry.models import Channel
    from registry.receipts import receipt_data, receipt_render_and_seal
    from registry.services import Party, correspondence_register
    from tenancy.models import Administration, User
    from trust.sealing import seal_pdf
    from trust.services import installation_pki

    administration = Administration.objects.create(
        code="BENCH-COMMUNE",
        kind=Administration.Kind.COMMUNE,
        name_ar="جماعة القياس النموذجية",
        name_fr="Commune de mesure",
        name_zgh="ⵜⴰⵎⵙⵙⵓⵔⵜ",
    )
    user = User.objects.create_user("bench@example.ma", None, full_name="فاطمة الزهراء بنعلي", national_id="AB123456")
    pdf = pdf_bytes(pad_to=200_000, text="Wasl bench receipt")
    warmup = max(3, n // 10)
    # One registered correspondence per call: each receipt differs (number, time, token and QR
    # code), as in production. Typst memoises layout, so rendering the same data again would be
    # much cheaper than a real receipt (reported separately as render_pdf_same_data_ms).
    cases = []
    for _ in range(2 * (n + warmup) + 1):
        registration = correspondence_register(
            actor=user,
            administration=administration,
            channel=Channel.API,
            sender=Party.of_account(user),
            subject="طلب رخصة البناء لمنزل عائلي بالحي الجديد",
            body="نص الطلب",
            files=check_files([bytes_upload(pdf, "lettre.pdf")]),
        )
        correspondence = registration.correspondence
        attachments = list(correspondence.attachments.select_related("blob").order_by("position"))
        assert registration.receipt is not None and registration.log_entry is not None  # an incoming letter
        cases.append((correspondence, attachments, registration.receipt.token, registration.log_entry))
    pki = installation_pki()
    code = administration.code

    start = time.process_time()
    first = receipt_render_and_seal(*cases[0])
    first_call_ms = (time.process_time() - start) * 1000
    assert first.startswith(b"%PDF-")
    # Separate cases for the whole and for the parts, so no render repeats one Typst has seen.
    whole_cases, part_cases = cases[1 : n + warmup + 1], cases[n + warmup + 1 :]
    datas = [receipt_data(*case[:3]) for case in part_cases]
    rendered: list[bytes] = []
    results: dict[str, float] = {
        "iterations": n,
        "first_call_ms": first_call_ms,
        "receipt_kb": len(first) / 1024,
        "render_and_seal_ms": cpu_ms_each(lambda case: receipt_render_and_seal(*case), whole_cases, warmup),
        "receipt_data_ms": cpu_ms_each(lambda case: receipt_data(*case[:3]), part_cases, warmup),
        "qr_svg_ms": cpu_ms_each(lambda data: qr_svg(data["verification_url"]), datas, warmup),
        "render_pdf_ms": cpu_ms_each(lambda data: rendered.append(render_pdf("receipt", data)), datas, warmup),
    }
    results["seal_pdf_ms"] = cpu_ms_each(
        lambda pdf: seal_pdf(pdf, pki=pki, administration_code=code, reason="Accusé de réception", location="X"),
        rendered,
        warmup,
    )
    results["render_pdf_same_data_ms"] = cpu_ms_each(
        lambda data: render_pdf("receipt", data), [datas[0]] * (n + warmup), warmup
    )
    print("bench.seal.measure() on its fixed test document:", file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr):
        seal_figures = bench_seal.measure(n)
    for name, value in seal_figures.items():
        results[f"bench_seal_{name}"] = value
    for name, value in results.items():
        print(f"{name:>28}: {value:9.2f}", file=sys.stderr)
    if json_out:
        Path(json_out).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
