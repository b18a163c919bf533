"""The web process as gunicorn runs it with app.core.web_server: every worker listens on a socket of its
own, so the kernel spreads keep-alive connections over the workers; a second server on the same port
is refused instead of sharing it."""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.support.servers import free_port, wait_until
from tests.support.sockets import ESTABLISHED, LISTEN, children, tcp_sockets
from tests.support.stack import REPO, Processes


def test_each_worker_listens_on_its_own_socket_and_connections_spread_over_both(app: Any, processes: Processes) -> None:
    port = free_port()
    master = processes.start_web(port, workers=2, threads=2)
    processes.wait_answering(f"http://127.0.0.1:{port}/healthz")
    wait_until(lambda: len(children(master.pid)) == 2, timeout=30, what="gunicorn's two workers")
    workers = children(master.pid)
    listening = {pid: tcp_sockets(pid, port, LISTEN) for pid in workers}
    assert all(len(s) == 1 for s in listening.values()), listening
    assert len(set().union(*listening.values())) == 2, "the workers share one listening socket"

    # 64 keep-alive connections, each asked once: by the kernel's hash a worker holding under a quarter
    # of them has odds of about 1 in 30,000; on one shared socket a burst often went all to one worker.
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(64)]
    try:
        for conn in connections:
            conn.request("GET", "/healthz")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
        held = Counter({pid: len(tcp_sockets(pid, port, ESTABLISHED)) for pid in workers})
        assert sum(held.values()) == 64, held
        assert min(held.values()) >= 16, held
    finally:
        for conn in connections:
            conn.close()


def test_a_second_server_on_a_taken_port_is_refused_by_name(app: Any, processes: Processes, tmp_path: Path) -> None:
    port = free_port()
    processes.start_web(port, workers=1, threads=1)
    processes.wait_answering(f"http://127.0.0.1:{port}/healthz")
    second = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "python:app.core.web_server", "--bind", f"127.0.0.1:{port}"]
        + ["wsgi:app"],
        cwd=REPO,
        env={**processes.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert f"127.0.0.1:{port} is already in use by another process" in second.stderr
