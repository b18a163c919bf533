"""Building test apps, and running real consumer and scheduler processes against them."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.config import Settings

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("SHARBOARD_TEST_REDIS", "redis://127.0.0.1:6379/0")


def settings_env(**overrides: Any) -> dict[str, str]:
    """The environment variables that give a process the same Settings as `overrides`."""
    env: dict[str, str] = {}
    for f in fields(Settings):
        if f.name in overrides:
            value = overrides[f.name]
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, (tuple, list)):
                value = ",".join(value)
            env[f.metadata["env"]] = str(value)
    return env


def unique_queues() -> dict[str, str]:
    """Queue names no other test run uses: the test's own keys in the shared Redis."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    return {"shar_workflow_queue": f"{prefix}shar-workflows", "shar_instance_queue": f"{prefix}shar-instances",
            "shar_sync_queue": f"{prefix}shar-sync", "shar_notify_queue": f"{prefix}shar-notify"}


def build_app(**overrides: Any) -> Flask:
    """An app on its own database, migrated to head with Alembic."""
    app = create_app(**overrides)
    with app.app_context():
        upgrade()
    return app


class Processes:
    """Consumer and scheduler processes, started with the test's environment."""

    def __init__(self, overrides: dict[str, Any], log_dir: Path) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SHAR", "MAIL_", "DATABASE_URL", "REDIS_URL"))}
        self.env = {**clean, **settings_env(**overrides), "FLASK_APP": "wsgi.py", "PYTHONUNBUFFERED": "1"}
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        # Processes whose name a later start() reused (start_consumers twice): still ours to stop.
        self.replaced: list[subprocess.Popen[bytes]] = []
        self.queues = [overrides["shar_workflow_queue"], overrides["shar_instance_queue"], overrides["shar_sync_queue"],
                       overrides["shar_notify_queue"]]

    def start(self, name: str, *args: str, module: str = "flask") -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name.replace(':', '_')}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if name in self.procs:
            self.replaced.append(self.procs[name])
        self.procs[name] = proc
        return proc

    def start_consumers(self, workers: int = 1) -> None:
        for queue in self.queues:
            self.start(f"consumer:{queue}", "shar", "queue", "start", "--queue", queue, "--workers", str(workers))

    def start_engine(self, db_path: Path, port: int, name: str = "engine") -> subprocess.Popen[bytes]:
        """The local SHAR engine as a process of its own, which a test can kill as an outage would
        (the session's shared engine runs on a thread of the test process)."""
        return self.start(name, "--port", str(port), "--db", str(db_path), module="app.sharlite")

    def start_scheduler(self, interval: float = 0.2) -> None:
        self.start("scheduler", "shar", "queue", "scheduler", "--interval", str(interval))

    def kill(self, name: str) -> None:
        """SIGKILL a process and its workers, as a crash would."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        """Stop every consumer and its worker processes (their whole process groups)."""
        from app.cli.processes import ProcessGroup

        children = {**{f"replaced:{i}": p for i, p in enumerate(self.replaced)}, **self.procs}
        ProcessGroup(children=children).stop(timeout=5.0)
        self.procs.clear()
        self.replaced.clear()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.log_dir.glob("*.log")))
