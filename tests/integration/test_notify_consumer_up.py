"""`flask shar up` runs a consumer for the fourth queue (callbacks and e-mails) beside the seed's three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_stack_up import _processes_started_for
from tests.support.servers import answers, free_port, wait_until
from tests.support.stack import REPO, clean_env

pytestmark = pytest.mark.services  # runs `flask shar up`: the whole stack as processes


def _consumed_queues(instance_dir: Path) -> set[str]:
    queues = set()
    for pid in _processes_started_for(instance_dir):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if "start" in argv and "--queue" in argv:
            queues.add(argv[argv.index("--queue") + 1])
    return queues


def test_up_runs_a_consumer_for_every_queue_including_notify(tmp_path: Path) -> None:
    web, engine = free_port(), free_port()
    env = clean_env()
    env.update(
        {
            "SHARBOARD_INSTANCE_DIR": str(tmp_path),
            "PORT": str(web),
            "SHARLITE_PORT": str(engine),
            "SHAR_NOTIFY_QUEUE": "hooks-and-mail",
            "LOG_LEVEL": "WARNING",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "shar", "up"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{web}/healthz"), timeout=60, what="the web app")
        expected = {"shar-workflows", "shar-instances", "shar-sync", "hooks-and-mail"}
        wait_until(lambda: _consumed_queues(tmp_path) >= expected, timeout=30, what="a consumer for each queue")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=40)
    wait_until(lambda: not _processes_started_for(tmp_path), timeout=20, what="every child process to exit")
