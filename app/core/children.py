"""Child processes that die with their parent, however the parent dies (a kill -9 included), and the
run token by which `flask shar up` knows its own web process.

Without this, a `flask shar up` killed with SIGKILL left all its children running (each leads its own
process group, so the kill never reached them), re-parented to PID 1, serving with old settings and
holding the ports a new `up` needs.

On Linux the kernel does it: PR_SET_PDEATHSIG sends a signal to a process when the *thread* that
forked it ends, so a parent starts its children from a thread that lives as long as it does (the
main thread). The setting is not inherited across fork: each level (`up`'s children, then Huey's
and gunicorn's workers under them) sets its own. Elsewhere a watchdog thread polls os.getppid().
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
# The parent's pid, for a child on a platform without prctl to watch (see guard_from_env).
WATCH_ENV = "SHARBOARD_WATCH_PARENT"
# Set by `up` for its web process, which says it on /healthz: `up` then knows the server that answers
# is its own child, not one left running by an earlier run.
RUN_TOKEN_ENV = "SHARBOARD_RUN_TOKEN"
RUN_TOKEN_HEADER = "X-Sharboard-Run"


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


# Resolved once here: a child between fork and exec must not load a library.
_PRCTL = _load_prctl()


def has_prctl() -> bool:
    return _PRCTL is not None


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """In a child of `parent`: be sent `sig` once that parent ends. A forked worker (Huey's, gunicorn's)
    calls it first thing; SIGKILL by default, as a worker without its parent has no one to report to."""
    if _PRCTL is None or _PRCTL(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        _watch(parent, sig)
        return
    if os.getppid() != parent:  # the parent died before the setting was made: nothing will fire
        os.kill(os.getpid(), sig)


def preexec_dying_with_us(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A subprocess `preexec_fn` that makes the child die with this process (None without prctl: see
    guard_from_env). It runs between fork and exec, so it only calls what is already loaded."""
    if _PRCTL is None:
        return None
    prctl, parent = _PRCTL, os.getpid()

    def _preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return _preexec


def guard_from_env(sig: int = signal.SIGTERM) -> None:
    """In a direct child on a platform without prctl: watch the parent WATCH_ENV names. The variable
    is removed so that this process's own children do not watch the wrong parent."""
    parent = os.environ.pop(WATCH_ENV, "")
    if parent.isdigit():
        _watch(int(parent), sig)


def _watch(parent: int, sig: int) -> None:
    def _run() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), sig)

    threading.Thread(target=_run, name="watch-parent", daemon=True).start()


def run_token() -> str:
    """The token `up` gave this process ('' when not started by `up`)."""
    return os.environ.get(RUN_TOKEN_ENV, "")
