"""SHAR outages are absorbed: the engine process is killed (not a 503 switch) for longer than every
retry schedule while work is asked for, then started again; nothing fails, everything runs once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from flask import current_app
from sqlalchemy import func, select

from app.core.extensions import db
from app.jobs import outage
from app.models import JobRecord, Workflow, WorkflowInstance
from app.services.correlation import CORRELATION_VARIABLE
from app.services.instances import complete_task
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.api.conftest import bearer_for
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import free_port, wait_until

# The longest retry schedule of a SHAR job at the test's scale (launch: 5 + 15 + 30 s × 0.01) is half a
# second; the outage lasts ten times that and more.
OUTAGE_SECONDS = 6.0


def _engine(processes: Any, tmp_path: Path) -> str:
    port = free_port()
    processes.start_engine(tmp_path / "engine.db", port)
    url = f"http://127.0.0.1:{port}"
    processes.wait_answering(f"{url}/health", timeout=30)
    return url


def _count(model: Any, *where: Any) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_an_outage_longer_than_every_retry_schedule_fails_nothing_and_runs_everything_once(
    make_app, processes, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    url = _engine(processes, tmp_path)
    make_app(shar_base_url=url, time_scale=0.01, outage_probe_interval=0.5, outage_ramp_start=2)
    user = make_user()
    processes.start_consumers()
    processes.start_scheduler()
    before = create_workflow("Before", bpmn("user_task"), actor=user).workflow
    wait_until(lambda: refresh(before).status == "active", timeout=60, what="the first workflow")
    waiting = [launch_instance("Before", {"n": n}, actor=user).instance for n in range(2)]
    wait_until(
        lambda: all(refresh(i).current_activities == ["review"] for i in waiting),
        timeout=60,
        what="two instances waiting at their user task",
    )

    processes.kill("engine")
    during = create_workflow("During", bpmn("user_task"), actor=user).workflow
    launched = [launch_instance("Before", {"n": n}, actor=user).instance for n in range(10, 16)]
    completions = [complete_task(i.id, actor=user) for i in waiting]
    wait_until(lambda: outage.current(fresh=True) is not None, timeout=30, what="the outage to be seen")
    wait_until(
        lambda: _count(JobRecord, JobRecord.state == "held") >= 9,
        timeout=30,
        what="the create, six launches and two completions held",
    )
    time.sleep(OUTAGE_SECONDS)

    assert _count(JobRecord, JobRecord.state == "failed") == 0
    assert _count(WorkflowInstance, WorkflowInstance.status == "failed") == 0
    assert _count(Workflow, Workflow.status == "failed") == 0
    held = db.session.scalars(select(JobRecord).where(JobRecord.state == "held")).all()
    assert all(job.attempts == 0 and job.held_since for job in held), [(j.job_type, j.attempts) for j in held]
    # A blocking call while SHAR is known to be down is refused before anything is stored.
    rows = _count(WorkflowInstance)
    refused = current_app.test_client().post(
        "/api/shar/workflows/Before/launch", json={"async": False}, headers=bearer_for("user", "bob@example.com")
    )
    assert refused.status_code == 503, refused.get_json()
    assert int(refused.headers["Retry-After"]) >= 1 and "SHAR is unreachable" in refused.get_json()["message"]
    assert _count(WorkflowInstance) == rows
    # Pages and the API say so.
    outage_now = outage.current(fresh=True)
    assert outage_now is not None and outage_now.held >= 9
    body = (
        current_app.test_client()
        .get(f"/api/shar/instances/{launched[0].id}", headers=bearer_for("admin", "ops@example.com"))
        .get_json()
    )
    assert body["data"]["waiting_for_shar"] is True, body

    back = time.monotonic()
    processes.start_engine(tmp_path / "engine.db", int(url.rsplit(":", 1)[1]))
    wait_until(
        lambda: (
            refresh(during).status == "active"
            and all(refresh(i).status == "running" and refresh(i).shar_instance_id for i in launched)
            and all(refresh(j).state == "succeeded" for j in completions)
        ),
        timeout=60,
        interval=0.5,
        what="every held job to run once SHAR is back",
    )
    assert time.monotonic() - back < 60
    assert _count(JobRecord, JobRecord.state.in_(("failed", "held"))) == 0
    wait_until(lambda: outage.current(fresh=True) is None, timeout=10, what="the breaker to close")

    # Everything ran once: one SHAR instance per launched row, each completion moved its instance on once.
    in_shar = [
        i
        for i in httpx.get(f"{url}/api/v1/instances").json()
        if i["variables"].get(CORRELATION_VARIABLE) in {r.id for r in launched}
    ]
    assert sorted(i["variables"][CORRELATION_VARIABLE] for i in in_shar) == sorted(r.id for r in launched)
    for instance in waiting:
        wait_until(
            lambda instance=instance: refresh(instance).status == "completed", timeout=30, what="the completed instance"
        )
    creates = [
        e
        for e in httpx.get(f"{url}/_sharlite/requests").json()
        if e["method"] == "POST" and e["path"] == "/api/v1/workflows"
    ]
    assert len(creates) == 1, creates  # the engine's log is new since its restart: the held create went once
    other = current_app.test_client().get(
        f"/api/shar/instances/{launched[0].id}", headers=bearer_for("user", "cy@example.com")
    )
    assert other.status_code == 404  # another user's row stays invisible


def test_held_jobs_fail_past_the_longest_hold_with_that_reason(make_app, processes, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = _engine(processes, tmp_path)
    make_app(shar_base_url=url, time_scale=0.01, outage_probe_interval=0.5, outage_max_hold=3)
    user = make_user()
    processes.start_consumers()
    processes.start_scheduler()
    workflow = create_workflow("Flow", bpmn("user_task"), actor=user).workflow
    wait_until(lambda: refresh(workflow).status == "active", timeout=60, what="the workflow")
    processes.kill("engine")
    instance = launch_instance("Flow", {}, actor=user).instance
    wait_until(lambda: refresh(instance).status == "failed", timeout=30, what="the launch held past its limit")
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    assert job.state == "failed" and "unreachable for longer than 3 s" in job.last_error
    assert "unreachable for longer than 3 s" in refresh(instance).error
