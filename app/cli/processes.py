"""Running several long-lived child processes and stopping them all together, grandchildren included."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.core.children import WATCH_ENV, preexec_dying_with_us

logger = logging.getLogger("sharboard.processes")


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived while `up` was starting the stack."""


@dataclass
class StopRequests:
    """SIGINT and SIGTERM, recorded by the handler and acted on where the caller checks.

    The handler must not raise: subprocess runs Python's at-fork hooks when a child is given a
    preexec_fn (ours is), and an exception raised in one is printed as "Exception ignored" and
    dropped, so a SIGTERM that landed while a child was being forked was lost and `up` ran on.
    """

    received: list[int] = field(default_factory=list)

    def listen(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._record)

    def _record(self, signum: int, frame: object) -> None:
        self.received.append(signum)

    def check(self) -> None:
        """Raise Interrupted if a stop was asked for."""
        if self.received:
            raise Interrupted(signal.Signals(self.received[0]).name)


@dataclass
class ProcessGroup:
    """Children started together; if one dies or we are interrupted, all are stopped.

    Each child leads its own process group, so stopping it also stops what it started
    (Huey's worker processes, gunicorn's workers): nothing is left running behind us. And each
    is sent SIGTERM should this process die without stopping them (a kill -9): see app.core.children.
    """

    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stops: StopRequests = field(default_factory=StopRequests)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        """Start a child. Call it from the main thread: on Linux the child's parent-death signal
        fires when the thread that started it ends, not the process."""
        preexec = preexec_dying_with_us()
        watch = {} if preexec else {WATCH_ENV: str(os.getpid())}  # no prctl: the child watches us itself
        self.children[name] = subprocess.Popen(
            list(argv), env={**os.environ, **watch, **(env or {})}, start_new_session=True, preexec_fn=preexec
        )
        logger.info("started", extra={"child": name, "pid": self.children[name].pid})

    def wait(self) -> int:
        """Block until a child exits or we get SIGINT/SIGTERM; then stop the rest.

        Returns 0 when a signal asked us to stop (what the children answer to being stopped
        is not a failure), else the exit code of the child that stopped by itself (1 when it
        ended with 0 or by a signal). The handlers stay in place while the children are being
        stopped: a second Ctrl-C or a SIGTERM then must not kill us half way and orphan them.
        """
        self.stops.listen()
        exited: subprocess.Popen[bytes] | None = None
        while not self.stops.received and exited is None:
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    print(f"{name} exited with code {proc.returncode}; stopping the others", file=sys.stderr)
                    exited = proc
                    break
            else:
                time.sleep(0.2)
        self.stop()
        if exited is None:
            return 0
        return exited.returncode if exited.returncode and exited.returncode > 0 else 1

    def stop(self, timeout: float = 5.0, *, graceful: bool = True) -> int:
        """SIGINT (graceful: jobs finish), then SIGTERM, then SIGKILL, to each child's whole group.

        `graceful=False` begins with SIGTERM: for children still starting, which have no job to
        finish and which a SIGINT would interrupt mid-import with a traceback.
        """
        steps = ((signal.SIGINT, timeout),) if graceful else ()
        for sig, grace in (*steps, (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            alive = [p for p in self.children.values() if _group_alive(p)]
            if not alive:
                break
            for proc in alive:
                _signal_group(proc, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(_group_alive(p) for p in alive):
                time.sleep(0.1)
        return max((abs(p.returncode or 0) for p in self.children.values()), default=0)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    proc.poll()  # reap the leader if it exited
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return True


def flask_command(*args: str) -> list[str]:
    """argv for `flask <args>` in this interpreter, so children use the same environment."""
    return [sys.executable, "-m", "flask", *args]
