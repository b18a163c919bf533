"""The database going away is absorbed like a SHAR outage: jobs whose claim, attempt or end meet it
are given back, not counted, and run once it answers; nothing fails, nothing is sent to SHAR twice.

Two real faults, each longer than every retry schedule at the test's scale, with real consumer and
scheduler processes on PostgreSQL and an engine whose every answer takes a while (so attempts are in
flight when the fault comes): every connection cut again and again (pg_terminate_backend, a session 13
probe's fault, which failed six jobs for good), and the database's port closed (a TCP proxy cut).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.core.extensions import db
from app.jobs import database_faults
from app.models import JobAttempt, JobRecord, WorkflowInstance
from app.services.correlation import CORRELATION_VARIABLE
from app.services.instances import complete_task
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.databases import PG_ADMIN_URL, on_database
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import free_port, wait_until
from tests.support.tcp_proxy import CuttableProxy

# The longest retry schedule of a SHAR job at the test's scale (launch: 5 + 15 + 30 s × 0.01) is half a
# second; each fault lasts twenty times that and more, and past the few seconds a worker keeps trying to
# write an attempt's end (database_faults.RECORD_PATIENCE).
SCALE = 0.01
FAULT_SECONDS = 12.0
LATENCY_MS = 1500


@pytest.fixture
def pg(overrides: dict[str, Any]) -> Iterator[str]:
    yield from on_database("postgresql", overrides, pytest.fail)


def _count(model: Any, *where: Any) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _engine(processes: Any, tmp_path: Path) -> str:
    port = free_port()
    processes.start_engine(tmp_path / "engine.db", port)
    url = f"http://127.0.0.1:{port}"
    processes.wait_answering(f"{url}/health", timeout=30)
    httpx.put(f"{url}/_sharlite/faults", json={"latency_ms": LATENCY_MS}, timeout=10).raise_for_status()
    return url


def _terminate_all(database: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )


def _cutting_connections(database: str) -> Callable[[], None]:
    """Cut every connection to `database` every 0.3 s until the returned function is called."""
    stop = threading.Event()

    def cut() -> None:
        while not stop.is_set():
            _terminate_all(database)
            stop.wait(0.3)

    thread = threading.Thread(target=cut, daemon=True)
    thread.start()
    return lambda: (stop.set(), thread.join())


def _work_in_flight(url: str, user: Any) -> tuple[list[WorkflowInstance], list[Any], list[WorkflowInstance]]:
    """Two instances waiting at their task, then six launches and two completions asked for: the
    first of them are in SHAR's hands (its answers take LATENCY_MS) when this returns."""
    flow = create_workflow("Flow", bpmn("user_task"), actor=user).workflow
    wait_until(lambda: refresh(flow).status == "active", timeout=60, what="the workflow")
    waiting = [launch_instance("Flow", {"n": n}, actor=user).instance for n in range(2)]
    wait_until(
        lambda: all(refresh(i).current_activities == ["review"] for i in waiting), timeout=60, what="two waiting"
    )
    launched = [launch_instance("Flow", {"n": n}, actor=user).instance for n in range(10, 16)]
    completions = [complete_task(i.id, actor=user) for i in waiting]
    wait_until(
        lambda: _count(JobAttempt, JobAttempt.ended_at.is_(None)) >= 2, timeout=30, what="attempts in SHAR's hands"
    )
    return launched, completions, waiting


def _everything_ran_once(
    url: str, launched: list[WorkflowInstance], completions: list[Any], waiting: list[Any]
) -> None:
    wait_until(
        lambda: (
            all(refresh(i).status == "running" and refresh(i).shar_instance_id for i in launched)
            and all(refresh(j).state == "succeeded" for j in completions)
            and all(refresh(i).status == "completed" for i in waiting)
        ),
        timeout=120,
        interval=0.5,
        what="every job to run once the database answers",
    )
    assert _count(JobRecord, JobRecord.state == "failed") == 0, db.session.scalars(
        select(JobRecord.last_error).where(JobRecord.state == "failed")
    ).all()
    # The fault was met and given back: attempts ended "database", and none of them counted.
    assert _count(JobAttempt, JobAttempt.outcome == database_faults.OUTCOME) >= 1
    counted = db.session.scalars(select(JobRecord.attempts).where(JobRecord.job_type == "launch_instance")).all()
    assert max(counted) == 1, counted
    # One SHAR instance per launched row: no launch was sent twice.
    in_shar = [
        i["variables"].get(CORRELATION_VARIABLE)
        for i in httpx.get(f"{url}/api/v1/instances", timeout=30).json()
        if i["variables"].get(CORRELATION_VARIABLE) in {r.id for r in launched}
    ]
    assert sorted(in_shar) == sorted(r.id for r in launched)


def test_connections_cut_again_and_again_fail_no_job(pg, make_app, processes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = _engine(processes, tmp_path)
    make_app(shar_base_url=url, time_scale=SCALE, outage_probe_interval=0.5)
    user = make_user()
    processes.start_consumers(workers=2)
    processes.start_scheduler()
    launched, completions, waiting = _work_in_flight(url, user)

    database = db.engine.url.database
    db.session.remove()  # the test's own connections are cut too: none is held across the fault
    stop = _cutting_connections(database)
    time.sleep(FAULT_SECONDS)
    stop()
    db.engine.dispose()
    _everything_ran_once(url, launched, completions, waiting)


def test_the_database_unreachable_for_a_while_fails_no_job(pg, make_app, processes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = _engine(processes, tmp_path)
    app = make_app(shar_base_url=url, time_scale=SCALE, outage_probe_interval=0.5)
    direct = make_url(app.config["SHARBOARD_SETTINGS"].database_url)
    proxy = CuttableProxy((direct.host or "127.0.0.1", direct.port or 5432), free_port()).start()
    try:
        # The consumers and the scheduler reach the database through the proxy; the test directly.
        processes.env["DATABASE_URL"] = direct.set(port=proxy.port).render_as_string(hide_password=False)
        user = make_user()
        processes.start_consumers(workers=2)
        processes.start_scheduler()
        launched, completions, waiting = _work_in_flight(url, user)
        assert proxy.connections >= 1

        proxy.cut()
        time.sleep(FAULT_SECONDS)
        proxy.restore()
        _everything_ran_once(url, launched, completions, waiting)
        # The attempts in SHAR's hands at the cut could not write their end for longer than a worker
        # tries: the reconciler gave them back, as the scheduler had seen the database away.
        ends = db.session.scalars(select(JobAttempt.error).where(JobAttempt.outcome == database_faults.OUTCOME)).all()
        assert any("could not be written" in (end or "") for end in ends), ends
    finally:
        proxy.stop()
