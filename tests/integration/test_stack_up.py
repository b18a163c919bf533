"""`flask shar up` on embedded defaults: SQLite, Huey's SQLite storage, the local engine; Ctrl-C stops all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from app.cli.stack import default_workers
from tests.support.servers import answers, free_port, serving, wait_until
from tests.support.stack import cmdline, processes_started_for, start_up

pytestmark = pytest.mark.services  # runs `flask shar up`: the whole stack as processes


def test_up_starts_the_whole_stack_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    web, engine = free_port(), free_port()
    env = {
        "SHARBOARD_ADMIN_EMAIL": "boss@example.com",
        "LOG_LEVEL": "INFO",  # every start-up line a person sees, for the banner to come after
    }
    assert processes_started_for(tmp_path) == []
    log = tmp_path / "up.log"
    proc = start_up(tmp_path, web, engine, env=env, stdout=log.open("w"))
    try:
        wait_until(lambda: "Ctrl-C stops everything" in log.read_text(), timeout=90, what="the ready banner")
        health = httpx.get(f"http://127.0.0.1:{engine}/health").json()
        assert health["status"] == "healthy"
        assert httpx.get(f"http://127.0.0.1:{web}/login").status_code == 200
        assert (tmp_path / "sharboard.db").exists() and (tmp_path / "huey.db").exists()
        # Without --workers, the instance queue's consumer gets default_workers(instance_queue=True), the others fewer.
        commands = [cmdline(pid) for pid in processes_started_for(tmp_path)]
        asked = dict(re.findall(r"queue start --queue (\S+) --workers (\d+)", " ".join(commands)))
        assert asked == {
            name: str(default_workers(instance_queue=name == "shar-instances"))
            for name in ("shar-workflows", "shar-instances", "shar-sync", "shar-notify")
        }, asked
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=40)
    output = log.read_text()
    # How to sign in comes last of the start-up, set apart: after every consumer said it started.
    banner = output.index("sharboard is up: http://127.0.0.1:")
    assert re.search(r"Created admin boss@example\.com with password \S{12,}\n", output[banner:])
    assert output.count("Huey consumer started") == 4 and output.rindex("Huey consumer started") < banner
    assert "=" * 72 in output[banner - 80 : banner]
    assert proc.returncode == 0 and "error:" not in output, output
    # `up` returns once every child has been stopped: nothing may answer any more.
    assert not answers(f"http://127.0.0.1:{web}/healthz")
    assert not answers(f"http://127.0.0.1:{engine}/health")
    wait_until(lambda: not processes_started_for(tmp_path), timeout=20, what="every child process to exit")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_up_runs_jobs_through_its_consumers_and_scheduler_and_exits_0_on_a_signal(tmp_path: Path, sig) -> None:
    """A job submitted to the stack's database completes through `up`'s own consumers and
    engine; its scheduler ticks; SIGINT (Ctrl-C) or SIGTERM (a supervisor) stops it all with 0."""
    from sqlalchemy import select

    from app import create_app
    from app.core.config import Settings
    from app.core.extensions import db
    from app.models import JobRecord, ScheduleRun
    from app.services.launches import launch_instance
    from app.services.workflows import create_workflow
    from tests.support.factories import bpmn, make_user, refresh

    web, engine = free_port(), free_port()
    stack_env = {
        "SHARBOARD_INSTANCE_DIR": str(tmp_path),
        "PORT": str(web),
        "SHARLITE_PORT": str(engine),
        "LOG_LEVEL": "WARNING",
        "SHARBOARD_RECONCILE_INTERVAL": "0.5",
    }
    proc = start_up(tmp_path, web, engine, "--workers", "1", env=stack_env)
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{web}/healthz"), timeout=90, what="the web app")
        # The same settings as the stack (its SQLite file, Huey's SQLite storage, its engine).
        app = create_app(Settings.from_env(stack_env))
        with app.app_context():
            user = make_user()
            workflow = create_workflow("UpFlow", bpmn("user_task"), actor=user).workflow
            wait_until(
                lambda: refresh(workflow).status == "active",
                timeout=60,
                what="the create job to complete through up's consumer",
            )
            instance = launch_instance("UpFlow", {"k": 1}, actor=user).instance
            wait_until(
                lambda: refresh(instance).status == "running",
                timeout=60,
                what="the launch job to complete through up's consumer",
            )

            def states() -> dict[str, str]:
                db.session.expire_all()
                return {j.job_type: j.state for j in db.session.scalars(select(JobRecord))}

            # Each job records its success just after the change it made; the scheduler's
            # periodic sync is started by up's scheduler and run by up's shar-sync consumer.
            wait_until(
                lambda: all(
                    states().get(kind) == "succeeded"
                    for kind in ("create_workflow", "launch_instance", "periodic_sync")
                ),
                timeout=60,
                what="create, launch and the scheduler's periodic sync to succeed",
            )
            assert db.session.get(ScheduleRun, "schedule:reconcile") is not None
            db.session.remove()
    finally:
        os.kill(proc.pid, sig)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "error:" not in output and "Traceback" not in output, output
    wait_until(lambda: not processes_started_for(tmp_path), timeout=20, what="every child process to exit")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_start_up_stops_what_started_and_exits_0(tmp_path: Path, sig) -> None:
    web, engine = free_port(), free_port()
    proc = start_up(tmp_path, web, engine)
    try:
        # Start-up is under way once `up` has children, and over once the web app answers.
        wait_until(
            lambda: len(processes_started_for(tmp_path)) > 1,
            timeout=60,
            interval=0.02,
            what="up to start its children",
        )
        assert not answers(f"http://127.0.0.1:{web}/healthz")
    finally:
        os.kill(proc.pid, sig)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "error:" not in output and "Traceback" not in output, output
    wait_until(lambda: not processes_started_for(tmp_path), timeout=20, what="every child process to exit")


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0  # gone meanwhile


def _stack_tree(instance_dir: Path, up_pid: int) -> tuple[set[int], set[int]]:
    """`up`'s children and their children (gunicorn's and Huey's workers): the pids of each."""
    pids = set(processes_started_for(instance_dir)) - {up_pid}
    children = {pid for pid in pids if _parent(pid) == up_pid}
    return children, pids - children


def _up_with_two_workers(tmp_path: Path, web: int, engine: int) -> subprocess.Popen[bytes]:
    """`flask shar up` with two workers a consumer, once it says it is ready."""
    log = tmp_path / "up.log"
    proc = start_up(tmp_path, web, engine, "--workers", "2", stdout=log.open("w"))
    try:
        wait_until(lambda: "Ctrl-C stops everything" in log.read_text(), timeout=90, what="the ready banner")
    except BaseException:
        proc.kill()
        raise
    return proc


@pytest.mark.parametrize("whole_group", [False, True], ids=["its-pid", "its-process-group"])
def test_kill_9_of_up_takes_every_child_and_grandchild_with_it(tmp_path: Path, whole_group: bool) -> None:
    """Each child leads its own process group, so a kill -9 of `up` (or of its group) never reached them:
    all ~25 kept running under PID 1, holding the ports. Now the kernel's parent-death signal ends them."""
    web, engine = free_port(), free_port()
    proc = _up_with_two_workers(tmp_path, web, engine)
    try:
        children, grandchildren = _stack_tree(tmp_path, proc.pid)
        assert len(children) == 7, children  # engine, web, 4 consumers, scheduler
        assert len(grandchildren) >= 2 + 4 * 2, grandchildren  # gunicorn's workers, each consumer's 2
    finally:
        (os.killpg if whole_group else os.kill)(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    everyone = children | grandchildren
    wait_until(
        lambda: not everyone & set(processes_started_for(tmp_path)), timeout=8, what="every child and grandchild to end"
    )
    assert not answers(f"http://127.0.0.1:{web}/healthz") and not answers(f"http://127.0.0.1:{engine}/health")


def test_workers_die_with_their_gunicorn_master_or_huey_consumer(tmp_path: Path) -> None:
    """The grandchildren's own guard: with `up` stopped (it cannot stop anyone), a kill -9 of the web
    master and of a consumer takes their workers with them."""
    web, engine = free_port(), free_port()
    proc = _up_with_two_workers(tmp_path, web, engine)
    try:
        children, _ = _stack_tree(tmp_path, proc.pid)
        masters = {pid for pid in children if "gunicorn" in cmdline(pid) or "shar-instances" in cmdline(pid)}
        assert len(masters) == 2, [cmdline(pid) for pid in children]
        workers = {pid for pid in processes_started_for(tmp_path) if _parent(pid) in masters}
        assert len(workers) >= 4, workers
        os.kill(proc.pid, signal.SIGSTOP)
        for pid in masters:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not workers & set(processes_started_for(tmp_path)), timeout=5, what="their workers to end")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    wait_until(lambda: not processes_started_for(tmp_path), timeout=10, what="every child process to exit")


class _Healthy(BaseHTTPRequestHandler):
    """Answers 200 to anything, as the orphaned web app of an earlier `up` answered /healthz."""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("taken", ["web", "engine"])
def test_up_on_a_taken_port_refuses_before_starting_anything(tmp_path: Path, taken: str) -> None:
    web, engine = free_port(), free_port()
    port, what, variable = (
        (web, "web app", "PORT") if taken == "web" else (engine, "local SHAR engine", "SHARLITE_PORT")
    )
    server = ThreadingHTTPServer(("127.0.0.1", port), _Healthy)
    serving(server)
    try:
        proc = start_up(tmp_path, web, engine)
        output, _ = proc.communicate(timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 1, output
    assert f"error: port {port} (the {what}) is already in use by another process" in output, output
    assert f"set {variable} to a free port. Nothing was started." in output
    assert "sharboard is up" not in output and "Traceback" not in output, output
    database = tmp_path / "sharboard.db"
    assert not database.exists() or database.stat().st_size == 0  # not even migrated


def test_the_banner_waits_for_its_own_web_app_not_any_server_answering() -> None:
    """Readiness is the run's token on /healthz: another server's 200 is not it, and the web
    child's exit ends the wait at once with its code."""
    from app.cli.stack import _wait_for

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Healthy)
    serving(server)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    failed = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    try:
        with pytest.raises(RuntimeError, match="did not answer"):
            _wait_for(f"http://127.0.0.1:{port}/healthz", "web app", alive, token="ours", timeout=1.5)
        failed.wait(timeout=10)
        with pytest.raises(RuntimeError, match="web app exited with code 3 while starting"):
            _wait_for(f"http://127.0.0.1:{port}/healthz", "web app", failed, token="ours")
    finally:
        alive.kill()
        alive.wait()
        server.shutdown()
        server.server_close()
