"""`flask shar up` on embedded defaults: SQLite, Huey's SQLite storage, the local engine; Ctrl-C stops all."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.servers import free_port, wait_until
from tests.support.stack import REPO


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_up_starts_the_whole_stack_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    web, engine = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHAR", "REDIS_URL", "DATABASE_URL", "MAIL_"))}
    env.update({"SHARBOARD_INSTANCE_DIR": str(tmp_path), "PORT": str(web), "SHARLITE_PORT": str(engine),
                "SHARBOARD_ADMIN_EMAIL": "boss@example.com", "LOG_LEVEL": "WARNING"})
    assert _processes_started_for(tmp_path) == []
    proc = subprocess.Popen([sys.executable, "-m", "flask", "shar", "up"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{web}/healthz"), timeout=60, what="the web app")
        health = httpx.get(f"http://127.0.0.1:{engine}/health").json()
        assert health["status"] == "healthy"
        assert httpx.get(f"http://127.0.0.1:{web}/login").status_code == 200
        assert (tmp_path / "sharboard.db").exists() and (tmp_path / "huey.db").exists()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=40)
    assert "created admin boss@example.com with password" in output
    time.sleep(0.5)
    assert not _answers(f"http://127.0.0.1:{web}/healthz")
    assert not _answers(f"http://127.0.0.1:{engine}/health")
    wait_until(lambda: not _processes_started_for(tmp_path), timeout=20, what="every child process to exit")


def _processes_started_for(instance_dir: Path) -> list[int]:
    """PIDs whose environment names this test's instance directory: the stack's processes."""
    marker = f"SHARBOARD_INSTANCE_DIR={instance_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
