"""Hostile uploads: the memory of the web workers and of the task worker while they are refused.

    python -m bench.uploads [--json OUT] [--report docs/benchmarks.md] [--from OUT]
                            [--workers 2] [--threads 4] [--parallel 4]

Issue #13 found that small files cost gigabytes: a 463 KB PNG of 158.8 Mpx took 913 MB to
check (4 at once took the web workers from 325 MB to 2.6 GB), the counter's "assemble" path
2.15 GB, a 20,000-frame TIFF and a 50,000-page PDF seconds of CPU each, and a 1 MB PDF holding
a 1 GiB FlateDecode stream sent the worker to 1.3 GB, which it kept. Target: under 4 parallel
hostile uploads of each kind, the peak memory of the web workers and of the worker stays
≤ 300 MB above idle.

What runs: a throw-away SQLite data directory with the demo seeded, ``gunicorn
wasl.wsgi:application`` (gthread, ``--workers``/``--threads`` as ``manage.py serve``) and the
task worker (``manage.py run_worker``), as ``make run`` has them. Then, for each kind, 4
uploads at once with the default limits: through ``POST /api/v1/deposits`` as the demo
citizen (the picture, the TIFF, the PDFs), and through the counter's form with "put the
pictures together" ticked as the demo clerk (the picture). Every 10 ms the resident memory
(RSS) of every process of each tree is read from /proc and summed: gunicorn's master, its
workers and their children (the readers that read files), the worker and its children. Sums
of RSS count memory shared between processes (a fork's pages) once per process: they are an upper bound. Each answer is checked (refused, with the code naming the
limit) and nothing may be registered or stored.

A last phase gives the worker the same files as stored files, as if accepted before the limits
(``Blob`` + ``TextLayer`` rows written directly): their text is asked for, and the worker must
fail each alone, within the same memory bound.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from bench.procstat import _children
from bench.report import section_bench_main, section_write
from bench.run import HOST, _free_port, _wait_ready, server_env

BASE_DIR = Path(__file__).resolve().parent.parent
BEGIN = "<!-- bench.uploads: written by `python -m bench.uploads --report` -->"
END = "<!-- /bench.uploads -->"
TARGET_MB = 300.0
PAGE = os.sysconf("SC_PAGE_SIZE")
CITIZEN = ("citizen@demo.ma", "demo-citizen-2026")
CLERK = ("clerk@demo.ma", "demo-clerk-2026")
ADMINISTRATION = "COMMUNE-DEMO"


def hostile_files() -> dict[str, tuple[str, bytes]]:
    """The files of issue #13, made as the attackers described them."""
    from documents import samples

    return {
        "png": ("plan.png", samples.png_of_pixels(12_600, 12_600)),  # 158.8 Mpx
        "tiff": ("scan.tif", samples.tiff_of_frames(20_000)),
        "pages": ("dossier.pdf", samples.pdf_of_pages(50_000)),
        "bomb": ("lettre.pdf", samples.pdf_inflating_to(1 << 30)),  # 1 GiB of FlateDecode
    }


KINDS = [
    # (key, what, file, path, expected code)
    ("png", "PNG of 158.8 Mpx (12,600 × 12,600)", "png", "api", "too_many_pixels"),
    ("tiff", "TIFF of 20,000 frames", "tiff", "api", "too_many_pages"),
    ("pages", "PDF of 50,000 pages", "pages", "api", "too_many_pages"),
    ("bomb", "PDF with a 1 GiB FlateDecode stream", "bomb", "api", "pdf_inflated"),
    ("assemble", "the 158.8 Mpx PNG at the counter, pictures put together", "png", "counter", "too_many_pixels"),
]


# --- Memory of process trees -------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        current = stack.pop()
        pids.append(current)
        stack += _children(current)
    return pids


def rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss(pid: int) -> int:
    """``pid``'s proportional share of memory: its own pages, and its share of pages shared with
    others (summed over processes, memory shared by a fork counts once)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def kind_of(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    for marker, name in (
        ("documents.reader", "reader (reads files)"),
        ("run_worker", "task worker"),
        ("gunicorn", "gunicorn"),
    ):
        if marker in argv:
            return name
    return "other"


def peak_rss(pid: int) -> int:
    """The highest RSS ``pid`` ever had (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Sampler:
    """Sums the RSS of each tree every ``interval`` seconds, keeping the peaks."""

    def __init__(self, roots: dict[str, int], interval: float = 0.01) -> None:
        self.roots, self.interval = roots, interval
        self.peaks = dict.fromkeys(roots, 0)
        self.pss_peaks = dict.fromkeys(roots, 0)
        self.processes = dict.fromkeys(roots, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self, *, proportional: bool = False) -> dict[str, int]:
        sums = {}
        for name, root in self.roots.items():
            pids = tree(root)
            sums[name] = sum((pss if proportional else rss)(pid) for pid in pids)
            self.processes[name] = max(self.processes[name], len(pids))
        return sums

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            for name, value in self.sample().items():
                self.peaks[name] = max(self.peaks[name], value)
            if turn % 3 == 0:  # PSS costs the kernel more to add up: a sample in three
                for name, value in self.sample(proportional=True).items():
                    self.pss_peaks[name] = max(self.pss_peaks[name], value)
            turn += 1
            time.sleep(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def idle(roots: dict[str, int], seconds: float = 3.0, *, proportional: bool = False) -> dict[str, int]:
    """Mean RSS (or PSS) of each tree over ``seconds`` with nothing asked of it."""
    samples: dict[str, list[int]] = {name: [] for name in roots}
    sampler = Sampler(roots)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, value in sampler.sample(proportional=proportional).items():
            samples[name].append(value)
        time.sleep(0.05)
    return {name: int(statistics.mean(values)) for name, values in samples.items()}


def breakdown(roots: dict[str, int]) -> list[dict[str, Any]]:
    """Each process of the trees at rest: what it is, its RSS and PSS."""
    rows = []
    for name, root in roots.items():
        for pid in tree(root):
            rows.append(
                {
                    "tree": name,
                    "kind": kind_of(pid),
                    "rss_mb": round(rss(pid) / 2**20, 1),
                    "pss_mb": round(pss(pid) / 2**20, 1),
                }
            )
    return rows


# --- HTTP, as a browser and an API client would -------------------------------------------------


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        connection.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def api_token(port: int) -> str:
    body = json.dumps({"username": CITIZEN[0], "password": CITIZEN[1]}).encode()
    status, _, answer = request(port, "POST", "/api/v1/auth/token", body, {"Content-Type": "application/json"})
    assert status == 200, answer
    return str(json.loads(answer)["token"])


class Browser:
    """A signed-in session: cookies and the CSRF token, as the pages hand them out."""

    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, SimpleCookie()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v.value}" for k, v in self.cookies.items())
        return {"Cookie": cookie, "Referer": f"http://{HOST}:{self.port}/", **(extra or {})}

    def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        status, answer_headers, answer = request(self.port, method, path, body, self._headers(headers))
        if "set-cookie" in answer_headers:
            self.cookies.load(answer_headers["set-cookie"])
        return status, answer

    def token_of(self, path: str) -> str:
        _, page = self.call("GET", path)
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()  # type: ignore[union-attr]

    def sign_in(self, email: str, password: str) -> None:
        token = self.token_of("/login/")
        body = f"csrfmiddlewaretoken={token}&username={email}&password={password}".encode()
        status, _ = self.call("POST", "/login/", body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, f"sign-in of {email} answered {status}"


def api_deposit(port: int, token: str, name: str, data: bytes) -> tuple[int, str]:
    body, content_type = multipart(
        {"recipient": ADMINISTRATION, "subject": "طلب", "body": "نص الطلب"}, [("attachments", name, data)]
    )
    status, _, answer = request(
        port,
        "POST",
        "/api/v1/deposits",
        body,
        {"Authorization": f"Bearer {token}", "Content-Type": content_type, "Accept-Language": "fr"},
    )
    try:
        code = json.loads(answer).get("error", {}).get("code", "") if status != 201 else "registered"
    except ValueError:
        code = answer[:80].decode(errors="replace")
    return status, code


def counter_deposit(browser: Browser, name: str, data: bytes) -> tuple[int, str]:
    path = f"/desk/{ADMINISTRATION}/register/new/"
    fields = {
        "csrfmiddlewaretoken": browser.token_of(path),
        "direction": "incoming",
        "sender_kind": "person",
        "sender_name": "Ahmed",
        "subject": "Lettre",
        "assemble": "on",
    }
    body, content_type = multipart(fields, [("attachments", name, data)])
    status, page = browser.call("POST", path, body, {"Content-Type": content_type, "Accept-Language": "fr"})
    text = page.decode(errors="replace")
    if "mégapixels" in text or "ميغابكسل" in text:
        code = "too_many_pixels"
    elif "id_attachments-error" in text:
        code = "other refusal of the file"
    else:
        code = f"page {status}"
    return status, code if status == 400 else "registered" if status == 302 else code


# --- The run -----------------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def database_counts(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "wasl.sqlite3") as db:
        correspondences = db.execute("SELECT COUNT(*) FROM registry_correspondence").fetchone()[0]
        blobs = db.execute("SELECT COUNT(*) FROM documents_blob").fetchone()[0]
    files = sum(1 for _ in (data_dir / "files").glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"))
    return {"correspondences": correspondences, "blobs": blobs, "files": files}


def phase(roots: dict[str, int], calls: Sequence[Callable[[], tuple[int, str]]]) -> dict[str, Any]:
    """Run ``calls`` at once; the peak memory of each tree meanwhile, and the answers."""
    hwm_before = {pid: peak_rss(pid) for root in roots.values() for pid in tree(root)}
    started = time.perf_counter()
    with Sampler(roots) as sampler, ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        answers, seconds = [], []
        for future in futures:
            answers.append(future.result())
            seconds.append(time.perf_counter() - started)
        time.sleep(0.2)  # children that outlive the answer (none should) are still counted
    grew = {pid: peak_rss(pid) - before for pid, before in hwm_before.items() if peak_rss(pid)}
    return {
        "peaks": sampler.peaks,
        "pss_peaks": sampler.pss_peaks,
        "processes": sampler.processes,
        "answers": answers,
        "slowest_s": round(max(seconds), 2),
        "long_lived_peak_growth_mb": round(max(grew.values(), default=0) / 2**20, 1),
    }


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


def text_layers(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "wasl.sqlite3") as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM documents_textlayer GROUP BY status").fetchall())


STORE_SCRIPT = """
import sys
from documents import storage
from documents.models import Blob
from documents.text_layers import text_layers_request
kinds = {"png": "image/png", "tiff": "image/tiff", "pages": "application/pdf", "bomb": "application/pdf"}
ids = []
for kind, content_type in kinds.items():
    data = open(sys.argv[-1] + "/" + kind, "rb").read()
    sha256 = storage.store_bytes(data)
    Blob.objects.get_or_create(sha256=sha256, defaults={"size": len(data), "content_type": content_type})
    ids.append(sha256)
text_layers_request(ids)
"""


def measure(workers: int, threads: int, parallel: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="wasl-bench-uploads-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        env = server_env(data_dir)
        env.pop("WASL_DATABASE_URL", None)
        env["WASL_ALLOWED_HOSTS"] = f"{HOST},localhost"
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        files = hostile_files()
        port = _free_port()
        log = (data_dir / "server.log").open("wb")
        gunicorn = [
            sys.executable, "-m", "gunicorn", "wasl.wsgi:application", "--bind", f"{HOST}:{port}",
            "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
            "--graceful-timeout", "5", "--timeout", "300",
        ]  # fmt: skip
        processes.append(subprocess.Popen(gunicorn, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT))
        processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "run_worker"], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        )
        _wait_ready(port, processes[0])
        roots = {"web": processes[0].pid, "worker": processes[1].pid}
        token = api_token(port)
        clerk = Browser(port)
        clerk.sign_in(*CLERK)

        # Warm-up: a real deposit on every web worker thread, a counter assembly, and the text of
        # a deposit read by the worker: every process has started what a request starts.
        from documents.samples import image_bytes, pdf_bytes

        with ThreadPoolExecutor(workers * threads) as pool:
            warm = list(
                pool.map(
                    lambda n: api_deposit(port, token, f"w{n}.pdf", pdf_bytes(pad_to=4000, text=f"w{n}")),
                    range(workers * threads),
                )
            )
        assert all(status == 201 for status, _ in warm), warm
        assert counter_deposit(clerk, "page.png", image_bytes("PNG"))[0] == 302

        def warm_text_read() -> bool:
            layers = text_layers(data_dir)
            return sum(layers.values()) >= len(warm) + 1 and not layers.get("pending")

        wait_for(warm_text_read, 300, "the worker to read the text of the warm-up deposits")
        time.sleep(2)
        before = database_counts(data_dir)
        rest = idle(roots)
        rest_pss = idle(roots, proportional=True)
        results: dict[str, Any] = {
            "idle_mb": {k: round(v / 2**20, 1) for k, v in rest.items()},
            "idle_pss_mb": {k: round(v / 2**20, 1) for k, v in rest_pss.items()},
            "idle_processes": breakdown(roots),
            "kinds": [],
        }
        for key, what, file_key, path, expected in KINDS:
            name, data = files[file_key]
            if path == "api":
                calls = [functools.partial(api_deposit, port, token, name, data) for _ in range(parallel)]
            else:
                browsers = []
                for _ in range(parallel):
                    browser = Browser(port)
                    browser.sign_in(*CLERK)
                    browsers.append(browser)
                calls = [functools.partial(counter_deposit, b, name, data) for b in browsers]
            measured = phase(roots, calls)
            refused = all(status in (400, 413) and code == expected for status, code in measured["answers"])
            results["kinds"].append(
                {
                    "key": key,
                    "what": what,
                    "bytes": len(data),
                    "path": path,
                    "expected": expected,
                    "answers": measured["answers"],
                    "refused_as_expected": refused,
                    "slowest_s": measured["slowest_s"],
                    "web_peak_above_idle_mb": round((measured["peaks"]["web"] - rest["web"]) / 2**20, 1),
                    "worker_peak_above_idle_mb": round((measured["peaks"]["worker"] - rest["worker"]) / 2**20, 1),
                    "web_pss_peak_above_idle_mb": round((measured["pss_peaks"]["web"] - rest_pss["web"]) / 2**20, 1),
                    "worker_pss_peak_above_idle_mb": round(
                        (measured["pss_peaks"]["worker"] - rest_pss["worker"]) / 2**20, 1
                    ),
                    "long_lived_peak_growth_mb": measured["long_lived_peak_growth_mb"],
                    "processes": measured["processes"],
                }
            )
        after = database_counts(data_dir)
        results["nothing_kept"] = before == after
        results["counts"] = {"before": before, "after": after}

        # The worker, given the same files as stored files (as if accepted before the limits).
        stored = data_dir / "stored"
        stored.mkdir()
        for key, (_name, data) in files.items():
            (stored / key).write_bytes(data)
        rest = idle(roots)
        with Sampler(roots) as sampler:
            started = time.perf_counter()
            manage(env, "shell", "-c", STORE_SCRIPT.replace("sys.argv[-1]", repr(str(stored))))
            wait_for(lambda: text_layers(data_dir).get("pending", 0) == 0, 600, "the worker to try the stored files")
            seconds = time.perf_counter() - started
        layers = text_layers(data_dir)
        with sqlite3.connect(data_dir / "wasl.sqlite3") as db:
            errors = [row[0] for row in db.execute("SELECT last_error FROM documents_textlayer WHERE status='failed'")]
        results["worker_stored"] = {
            "worker_peak_above_idle_mb": round((sampler.peaks["worker"] - rest["worker"]) / 2**20, 1),
            "web_peak_above_idle_mb": round((sampler.peaks["web"] - rest["web"]) / 2**20, 1),
            "seconds": round(seconds, 1),
            "layers": layers,
            "errors": errors,
            "worker_after_mb": round(sum(rss(pid) for pid in tree(roots["worker"])) / 2**20, 1),
            "worker_idle_mb": round(rest["worker"] / 2**20, 1),
        }
        results["server"] = f"gunicorn gthread {workers} workers × {threads} threads, manage.py run_worker"
        results["parallel"] = parallel
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def report(results: dict[str, Any], path: Path) -> None:
    def mark(value: float) -> str:
        return "✓" if value <= TARGET_MB else "✗"

    rows = []
    worst = 0.0
    for kind in results["kinds"]:
        codes = sorted({f"{status} {code}" for status, code in kind["answers"]})
        web, worker = kind["web_peak_above_idle_mb"], kind["worker_peak_above_idle_mb"]
        worst = max(worst, web, worker)
        rows.append(
            f"| {kind['what']} ({kind['bytes'] / 1e6:.2f} MB) | {'API' if kind['path'] == 'api' else 'counter form'} | "
            f"{', '.join(codes)} | {kind['slowest_s']} s | **{web:+.1f} MB** {mark(web)} | "
            f"{kind['web_pss_peak_above_idle_mb']:+.1f} MB | {worker:+.1f} MB {mark(worker)} | "
            f"{kind['long_lived_peak_growth_mb']:.1f} MB |"
        )
    at_rest: dict[tuple[str, str], list[float]] = {}
    for process in results["idle_processes"]:
        at_rest.setdefault((process["tree"], process["kind"]), []).append(process["rss_mb"])
    idle_parts = "; ".join(
        f"{tree_name}: {len(sizes)} × {kind_name} ({', '.join(f'{size:.0f}' for size in sizes)} MB)"
        for (tree_name, kind_name), sizes in at_rest.items()
    )
    stored = results["worker_stored"]
    all_refused = all(kind["refused_as_expected"] for kind in results["kinds"])
    lines = [
        BEGIN,
        "## Hostile uploads: memory of the web workers and the worker (issue #13)",
        "",
        "The issue's target: *under 4 parallel hostile uploads of each kind, the peak memory of the web workers and "
        "the worker stays ≤ 300 MB above idle.* `python -m bench.uploads --json OUT --report docs/benchmarks.md` "
        "(also run by `make bench`). A real `gunicorn wasl.wsgi:application` and `manage.py run_worker` on a "
        f"throw-away SQLite data directory with the demo seeded ({results['server']}), default limits (50 Mpx, "
        "500 pages, 256 MB inflated, 1 GB and 60 s per file's reader). For each kind, "
        f"{results['parallel']} uploads at once; every 10 ms the RSS of every process of each tree (gunicorn's master, "
        "workers, and their children: the readers that read files; the worker and its "
        "children) is read from /proc and summed. A sum of RSS counts pages shared between processes once per "
        "process: an upper bound. *Idle* is the mean over 3 s after a warm-up (a deposit on every worker thread, a "
        "counter assembly, the worker's reading of their text), so the readers already run. *Long-lived "
        "growth* is the largest rise of the peak RSS (VmHWM) of any process that was there before the phase.",
        "",
        f"Measured {results['date']} on {results['machine']}; commit {results['commit']}.",
        "",
        f"Idle: web {results['idle_mb']['web']} MB, worker {results['idle_mb']['worker']} MB (RSS summed over each "
        f"tree; PSS {results['idle_pss_mb']['web']} and {results['idle_pss_mb']['worker']} MB). By process, RSS: "
        f"{idle_parts}.",
        "",
        "| 4 at once | through | answers | slowest answer | web peak above idle (RSS sum) | web (PSS sum) | "
        "worker peak above idle (RSS sum) | long-lived growth |",
        "|---|---|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Every upload refused with the code naming its limit: {'yes' if all_refused else '**no**'}. Nothing "
        f"registered or stored: {'yes' if results['nothing_kept'] else '**no**'} "
        f"({results['counts']['after']['correspondences']} correspondences, {results['counts']['after']['files']} "
        "stored files before and after). Target (≤ 300 MB above idle, web and worker): "
        f"{'**met**' if worst <= TARGET_MB and all_refused else '**not met**'} (worst {worst:+.1f} MB).",
        "",
        "Before this change (issue #13, same kind of machine): the PNG took 913 MB to check, 4 at once took the web "
        "workers from 325 MB to 2.6 GB; the counter's assembly 2.15 GB and 12.5 s a file; the TIFF and the 50,000-"
        "page PDF about 6 s of CPU each; the inflating PDF sent the worker to 1.3 GB, which it kept.",
        "",
        "The same four files given to the worker as stored files, as if accepted before the limits (their text asked "
        f"for): worker peak {stored['worker_peak_above_idle_mb']:+.1f} MB above idle, all four tried in "
        f"{stored['seconds']} s, text layers {stored['layers']}; the worker back at {stored['worker_after_mb']} MB "
        f"(idle {stored['worker_idle_mb']} MB). Reasons recorded: "
        + "; ".join(f"`{error}`" for error in stored["errors"])
        + ".",
        END,
    ]
    section_write(path, "\n".join(lines) + "\n", BEGIN, END)


def main(argv: list[str] | None = None) -> int:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--parallel", type=int, default=4)

    def measured(args: argparse.Namespace) -> dict[str, Any]:
        return measure(args.workers, args.threads, args.parallel)

    return section_bench_main(argv, description=__doc__, options=options, measure=measured, report=report)


if __name__ == "__main__":
    sys.exit(main())
