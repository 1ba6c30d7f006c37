"""CPU time of process trees and of the whole machine, from /proc (no psutil)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    return raw[raw.rindex(")") + 2 :].split()


def own_and_reaped_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU of ``pid`` itself, and of the children it has reaped (0, 0 when gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0, 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS, (int(fields[13]) + int(fields[14])) / TICKS


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                kids += [int(x) for x in (task / "children").read_text().split()]
    except OSError:
        pass
    return kids


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and all its live descendants, plus reaped children."""
    total = 0.0
    stack = [pid]
    while stack:
        current = stack.pop()
        fields = _stat_fields(current)
        if fields is None:
            continue
        # After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17) -> index - 3
        utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
        total += (utime + stime + cutime + cstime) / TICKS
        stack += _children(current)
    return total


def children_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU of each direct child of ``pid`` (gunicorn workers), with descendants."""
    return {child: tree_cpu_seconds(child) for child in _children(pid)}


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])  # guest time is already inside user
    return (total - idle) / TICKS, total / TICKS


def find_listener_pid(port: int, name: str = "postgres") -> int | None:
    """The oldest process named ``name`` whose command line has ``-p <port>`` (a postmaster)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0].decode(errors="replace")) == name:
            for i, arg in enumerate(argv[:-1]):
                if arg == b"-p" and argv[i + 1] == str(port).encode():
                    return int(entry.name)
            if f"-p {port}".encode() in b" ".join(argv):
                return int(entry.name)
    return None
