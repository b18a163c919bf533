"""`flask shar up` on embedded defaults: SQLite, Huey's SQLite storage, the local engine; Ctrl-C stops all."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx
import pytest

from app.cli.stack import default_workers
from tests.support.servers import answers, free_port, wait_until
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
