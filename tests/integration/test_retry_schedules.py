"""The retry schedules of launch and sync, end to end: the waits between SHAR requests, measured
at the engine, match the spec's waits times SHARBOARD_TIME_SCALE.

Tolerances: Huey hands a delayed message to a worker from its scheduler, which looks once a
second (TICK); an idle worker then polls with a back-off of at most 1 s (POLL, run_consumer's
max_delay); SLACK covers a job's own work and a shared, loaded machine. A wait may therefore be
up to TICK + POLL + SLACK longer than scheduled, and never (beyond clock noise) shorter.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from app.core.extensions import db
from app.jobs.specs import spec_for
from app.models import JobRecord
from app.services.launches import launch_instance
from app.services.sync import submit_sync
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import wait_until

TIME_SCALE = 0.4
TICK, POLL, SLACK, EARLY = 1.0, 1.0, 1.5, 0.05


def _requests(shar: Any, method: str, path: str) -> list[float]:
    log = httpx.get(f"{shar.url}/_sharlite/requests").json()
    return sorted(r["time"] for r in log if r["method"] == method and r["path"] == path)


def _assert_schedule(times: list[float], job_type: str) -> None:
    spec = spec_for(job_type)
    assert len(times) == spec.max_attempts, times
    for attempt, (before, after) in enumerate(zip(times, times[1:], strict=False), start=2):
        expected = spec.wait_before(attempt, time_scale=TIME_SCALE)
        waited = after - before
        assert expected - EARLY <= waited <= expected + TICK + POLL + SLACK, (attempt, expected, waited)


def _active_workflow(name: str, user: Any) -> None:
    workflow = create_workflow(name, bpmn("user_task"), actor=user).workflow
    wait_until(lambda: refresh(workflow).status == "active", timeout=60, what=f"{name} active")  # consumers start


def test_launch_retries_on_the_spec_schedule_then_fails(make_app, processes, shar) -> None:
    make_app(time_scale=TIME_SCALE)
    user = make_user()
    processes.start_consumers()
    _active_workflow("RetryLaunch", user)
    shar.set_faults(error_rate=1.0)
    httpx.delete(f"{shar.url}/_sharlite/requests")
    instance = launch_instance("RetryLaunch", {}, actor=user).instance
    wait_until(lambda: refresh(instance).status == "failed", timeout=40, what="the launch to fail for good")
    # Attempt 1 sends the launch; a re-send first asks SHAR's list for the correlation variable
    # (and, SHAR failing, fails there): one request opens each attempt. The failure handler
    # asks the list once more, at once, before the launch ends failed.
    lookups = _requests(shar, "GET", "/api/v1/instances")
    assert len(lookups) == 3
    opened = sorted(_requests(shar, "POST", "/api/v1/workflows/RetryLaunch/instances")[:1] + lookups[:2])
    _assert_schedule(opened, "launch_instance")
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    assert (job.state, job.attempts) == ("failed", 3)


def test_sync_retries_on_the_spec_schedule_then_fails(make_app, processes, shar) -> None:
    make_app(time_scale=TIME_SCALE)
    user = make_user()
    processes.start_consumers()
    _active_workflow("RetrySync", user)
    instance = launch_instance("RetrySync", {}, actor=user).instance
    wait_until(lambda: refresh(instance).status == "running", timeout=40, what="the instance to run")
    instance = refresh(instance)
    shar.set_faults(error_rate=1.0)
    httpx.delete(f"{shar.url}/_sharlite/requests")
    job = submit_sync(instance)
    wait_until(lambda: refresh(job).state == "failed", timeout=30, what="the sync to fail for good")
    _assert_schedule(_requests(shar, "GET", f"/api/v1/instances/{instance.shar_instance_id}"), "sync_instance")
    assert refresh(job).attempts == 2
    assert refresh(instance).status == "running"  # a failed sync changes nothing it did not read
