"""`flask shar up` runs a consumer for the fourth queue (callbacks and e-mails) beside the seed's three."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support.servers import answers, free_port, wait_until
from tests.support.stack import cmdline, processes_started_for, start_up

pytestmark = pytest.mark.services  # runs `flask shar up`: the whole stack as processes


def _consumed_queues(instance_dir: Path) -> set[str]:
    queues = set()
    for pid in processes_started_for(instance_dir):
        argv = cmdline(pid).split()  # empty for a process gone meanwhile
        if "start" in argv and "--queue" in argv:
            queues.add(argv[argv.index("--queue") + 1])
    return queues


def test_up_runs_a_consumer_for_every_queue_including_notify(tmp_path: Path) -> None:
    web, engine = free_port(), free_port()
    proc = start_up(tmp_path, web, engine, env={"SHAR_NOTIFY_QUEUE": "hooks-and-mail"})
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{web}/healthz"), timeout=60, what="the web app")
        expected = {"shar-workflows", "shar-instances", "shar-sync", "hooks-and-mail"}
        wait_until(lambda: _consumed_queues(tmp_path) >= expected, timeout=30, what="a consumer for each queue")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=40)
    wait_until(lambda: not processes_started_for(tmp_path), timeout=20, what="every child process to exit")
