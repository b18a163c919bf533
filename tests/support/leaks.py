"""Nothing a test starts may outlive it: every process the suite starts carries a marker in its
environment (set once per session, inherited by consumers, schedulers, `flask shar up`, engines,
private Redis servers and all their children), so survivors are found by scanning /proc."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import wait_until

MARKER = "PYTEST_SHARBOARD_SESSION"  # not SHAR*: test env filters drop SHAR* variables


def marked_processes(value: str) -> dict[int, str]:
    """Live processes (not this one) whose environment carries MARKER=value: pid -> command line."""
    needle = f"{MARKER}={value}".encode()
    found: dict[int, str] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            status = (entry / "status").read_text()
            if "\nState:\tZ" in status:
                continue  # a zombie holds nothing; its parent (ours) reaps it
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        found[int(entry.name)] = cmdline
    return found


def wait_for_none(value: str, timeout: float) -> dict[int, str]:
    """Poll until no marked process is left or `timeout` passes; returns the survivors."""
    try:
        wait_until(lambda: not marked_processes(value), timeout=timeout, what="the test's processes to end")
    except AssertionError:
        return marked_processes(value)
    return {}


def kill_all(pids: dict[int, str]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@contextmanager
def unmarked() -> Iterator[None]:
    """Start here what a session-scoped fixture owns and stops itself (the browser): it outlives
    each test by design, so it must not carry the marker the per-test check looks for."""
    value = os.environ.pop(MARKER, None)
    try:
        yield
    finally:
        if value is not None:
            os.environ[MARKER] = value
