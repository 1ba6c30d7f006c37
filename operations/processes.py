"""What the supervisor needs to know about processes and ports, read from Linux's ``/proc``.

A process id alone is not an identity: once a process is gone its id is given to another one.
:class:`ProcessRef` pairs the id with the process's start time (in clock ticks since boot,
field 22 of ``/proc/PID/stat``), so a recorded reference never names a stranger. Without
``/proc`` (another kernel) nothing is recognised and nothing is stopped.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, or None when there is no such (living) process."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # a zombie has finished: only its parent's wait() remains
        return None
    return int(fields[19])


def command_line(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace") or "?"


@dataclass(frozen=True)
class ProcessRef:
    pid: int
    started: int

    @classmethod
    def of(cls, pid: int) -> ProcessRef | None:
        started = start_ticks(pid)
        return None if started is None else cls(pid, started)

    def alive(self) -> bool:
        return start_ticks(self.pid) == self.started


def signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to process group ``pgid``; False when the group no longer exists."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_exists(pgid: int) -> bool:
    return signal_group(pgid, 0)


def stop_group(pgid: int, *, timeout: float) -> None:
    """Ask every process of group ``pgid`` to stop, and kill what is left after ``timeout`` seconds."""
    if not signal_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group_has_living_members(pgid):
            return
        time.sleep(0.1)
    signal_group(pgid, signal.SIGKILL)


def _group_has_living_members(pgid: int) -> bool:
    """Whether a process other than a zombie still belongs to group ``pgid``.

    ``killpg(pgid, 0)`` also succeeds for zombies, which nobody here may reap (orphans are
    reaped by init), so read the group of each process instead when ``/proc`` is there.
    """
    if not PROC.is_dir():
        return group_exists(pgid)
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def port_holders(host: str, port: int) -> list[tuple[int, str]]:
    """The processes listening on TCP ``port`` (at ``host`` or every address), as (pid, command line).

    Read from ``/proc/net/tcp*`` and each process's open descriptors; processes of other users
    are not visible to an unprivileged caller, so the list may be empty though the port is taken.
    """
    inodes: set[str] = set()
    wanted = _host_addresses(host)
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            address_hex, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            address = _proc_address(address_hex)
            if wanted is None or address is None or address.is_unspecified or address in wanted:
                inodes.add(inode)
    if not inodes:
        return []
    targets = {f"socket:[{inode}]" for inode in inodes}
    holders: list[tuple[int, str]] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            descriptors = list((entry / "fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) in targets:
                    holders.append((int(entry.name), command_line(int(entry.name))))
                    break
            except OSError:
                continue
    return sorted(holders)


def _host_addresses(host: str) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address] | None:
    try:
        infos = socket.getaddrinfo(host.strip("[]") or None, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    addresses: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_unspecified:
            return None  # listening everywhere: any holder of the port is in the way
        addresses.add(address)
    return addresses


def _proc_address(address_hex: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as ``/proc/net/tcp*`` prints it: 32-bit words in host (little-endian) order."""
    try:
        raw = bytes.fromhex(address_hex)
    except ValueError:
        return None
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
