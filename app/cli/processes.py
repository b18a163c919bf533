"""Running several long-lived child processes and stopping them all together."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

logger = logging.getLogger("sharboard.processes")


@dataclass
class ProcessGroup:
    """Children started together; if one dies or we are interrupted, all are stopped."""

    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.children[name] = subprocess.Popen(list(argv), env={**os.environ, **(env or {})})
        logger.info("started", extra={"child": name, "pid": self.children[name].pid})

    def wait(self) -> int:
        """Block until a child exits or we get SIGINT/SIGTERM; then stop the rest."""
        stopping = False

        def _stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stopping:
                for name, proc in self.children.items():
                    if proc.poll() is not None:
                        print(f"{name} exited with code {proc.returncode}; stopping the others", file=sys.stderr)
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            code = self.stop()
        return code

    def stop(self, timeout: float = 15.0) -> int:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for name, proc in self.children.items():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                logger.warning("killing", extra={"child": name})
                proc.kill()
                proc.wait()
        return max((abs(p.returncode or 0) for p in self.children.values()), default=0)


def flask_command(*args: str) -> list[str]:
    """argv for `flask <args>` in this interpreter, so children use the same environment."""
    return [sys.executable, "-m", "flask", *args]
