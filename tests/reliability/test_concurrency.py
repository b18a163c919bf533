"""Races, on SQLite and on PostgreSQL: two workers claiming one job, syncs racing to complete one
instance, requests racing with one Idempotency-Key, and requests racing to complete one waiting
task. Each race starts its threads together at a barrier; each thread has its own app context, so
its own session and connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from app.core.extensions import db
from app.jobs.dispatch import submit
from app.jobs.runner import run_job
from app.models import (
    ActivityEvent,
    ApiToken,
    JobAttempt,
    JobRecord,
    Notification,
    WorkflowInstance,
)
from app.services.launches import launch_instance
from app.services.sync import apply_shar_state
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user

RACERS = 4


def _race(app: Any, work: Callable[[int], Any], racers: int = RACERS) -> list[Any]:
    """Run work(0..racers-1) in threads released together; returns their results in order."""
    start = threading.Barrier(racers)
    results: list[Any] = [None] * racers

    def run(n: int) -> None:
        with app.app_context():
            start.wait(timeout=10)
            try:
                results[n] = work(n)
            except BaseException as exc:  # noqa: BLE001 - returned for the test to judge
                results[n] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_two_workers_claiming_one_job_run_it_once(database, app) -> None:
    for _ in range(5):
        job = submit("cleanup", target_type="system", target_id="cleanup", payload={"days": 30})
        results = _race(app, lambda n, job_id=job.id: run_job(job_id) and None, racers=2)
        assert results == [None, None], results
        assert _count(JobAttempt, JobAttempt.job_id == job.id) == 1
        db.session.expire_all()
        job = db.session.get(JobRecord, job.id)
        assert (job.state, job.attempts) == ("succeeded", 1)


def test_racing_syncs_complete_once_with_one_notice(database, app, shar) -> None:
    user = make_user()
    create_workflow("Race", bpmn("user_task"), actor=user, async_=False)
    instance = launch_instance("Race", {}, actor=user, async_=False).instance
    db.session.expire_all()
    instance = db.session.get(WorkflowInstance, instance.id)
    assert instance.status == "running"
    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete")  # behind our back
    instance_id = instance.id

    def sync(n: int) -> str:
        return apply_shar_state(db.session.get(WorkflowInstance, instance_id))

    results = _race(app, sync, racers=6)
    assert results == ["completed"] * 6, results
    assert _count(Notification, Notification.target_id == instance_id, Notification.kind == "instance_completed") == 1
    assert _count(ActivityEvent, ActivityEvent.target_id == instance_id, ActivityEvent.kind == "status_completed") == 1


def test_requests_racing_with_one_idempotency_key_make_one_instance(database, app) -> None:
    user = make_user()
    create_workflow("Keyed", bpmn("user_task"), actor=user, async_=False)
    token, plain = ApiToken.issue(user, "race")
    db.session.add(token)
    db.session.commit()
    headers = {"Authorization": f"Bearer {plain}", "Idempotency-Key": "race-1"}

    def post(n: int) -> tuple[int, Any]:
        response = app.test_client().post(
            "/api/shar/workflows/Keyed/launch", json={"variables": {"n": 1}}, headers=headers
        )
        return response.status_code, response.get_json()

    results = _race(app, post)
    codes = [code for code, _ in results]
    assert set(codes) <= {202, 409} and 202 in codes, results
    accepted = [body for code, body in results if code == 202]
    assert all(body == accepted[0] for body in accepted)  # the same answer, replayed
    assert _count(WorkflowInstance) == 1
    assert _count(JobRecord, JobRecord.job_type == "launch_instance") == 1


def test_completions_racing_for_one_waiting_task_queue_one_job(database, app) -> None:
    user = make_user()
    create_workflow("Waits", bpmn("user_task"), actor=user, async_=False)
    instance_ids = [launch_instance("Waits", {}, actor=user, async_=False).instance.id for _ in range(3)]
    token, plain = ApiToken.issue(user, "race")
    db.session.add(token)
    db.session.commit()
    headers = {"Authorization": f"Bearer {plain}"}

    for instance_id in instance_ids:

        def complete(n: int, instance_id: str = instance_id) -> tuple[int, str]:
            response = app.test_client().post(
                f"/api/shar/instances/{instance_id}/complete", json={"variables": {"n": n}}, headers=headers
            )
            return response.status_code, response.get_json()["message"]

        results = _race(app, complete)
        assert sorted(code for code, _ in results) == [202] + [409] * (RACERS - 1), results
        assert all("is already queued (job" in message for code, message in results if code == 409), results
        assert _count(JobRecord, JobRecord.job_type == "complete_task", JobRecord.target_id == instance_id) == 1
