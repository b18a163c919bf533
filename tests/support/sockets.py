"""Which process holds which TCP sockets, read from /proc (Linux): how a server's workers share
their connections, for tests and benchmarks."""

from __future__ import annotations

import os
import re
from pathlib import Path

LISTEN, ESTABLISHED = "0A", "01"  # the `st` column of /proc/net/tcp


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a gunicorn master's workers)."""
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def tcp_sockets(pid: int, port: int, state: str) -> set[int]:
    """Inodes of the TCP sockets process `pid` holds on local port `port` in `state`."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if match := re.fullmatch(r"socket:\[(\d+)\]", target):
            held.add(int(match.group(1)))
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state and int(fields[9]) in held:
                found.add(int(fields[9]))
    return found


def connections_per_child(pid: int, port: int) -> list[int]:
    """How many established connections on `port` each child of `pid` holds, most first."""
    return sorted((len(tcp_sockets(child, port, ESTABLISHED)) for child in children(pid)), reverse=True)
