"""The scheduler's entries, on a clock the test moves: two schedulers give one periodic sync
per interval (and the lease lets one run at a time), and the daily cleanup runs once a day and
deletes only instances that ended long enough ago."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.core.extensions import db
from app.jobs import leases, scheduler
from app.jobs.runner import run_job
from app.models import JobRecord, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.tasks.schedule import ENTRIES
from tests.support.factories import bpmn, make_user


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _entry(name: str) -> scheduler.Periodic:
    return next(e for e in ENTRIES if e.name == name)


def _count(job_type: str) -> int:
    return db.session.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.job_type == job_type))


def test_two_schedulers_start_one_periodic_sync_per_interval(database, make_app, monkeypatch) -> None:
    app = make_app(shar_sync_interval=2)
    clock = Clock(datetime(2026, 1, 5, 12, 0, 0))
    monkeypatch.setattr(scheduler, "utcnow", clock)
    real = _entry("schedule:periodic_sync")
    # Both schedulers read the row before either claims it: the race the compare-and-set decides.
    both_read = threading.Barrier(2)

    def due(now, last, settings):  # type: ignore[no-untyped-def]
        verdict = real.due(now, last, settings)
        both_read.wait(timeout=10)
        return verdict

    entry = scheduler.Periodic(real.name, due, real.action)
    step = threading.Barrier(2)
    started: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def run(which: int) -> None:
        try:
            with app.app_context():
                for _ in range(20):  # 10 s of the test's clock, in half seconds
                    started[which].extend(scheduler.tick((entry,)))
                    if step.wait(timeout=10) == 0:
                        clock.now += timedelta(seconds=0.5)
                    step.wait(timeout=10)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - shown by the assertion below
            errors.append(exc)
            both_read.abort()
            step.abort()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    # Due at 0, 2, 4, 6 and 8 s: five starts in all, each by exactly one of the two schedulers.
    assert len(started[0]) + len(started[1]) == 5
    assert _count("periodic_sync") == 5


def test_the_periodic_sync_lease_lets_one_run_at_a_time(database, make_app) -> None:
    app = make_app()
    results: list[bool] = []
    both = threading.Barrier(2)

    def take() -> None:
        with app.app_context():
            both.wait(timeout=10)
            results.append(leases.acquire("periodic_sync", 60))
            db.session.remove()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False, True]
    from app.services.sync import periodic_sync

    assert periodic_sync(60) == {"skipped": True}  # a second run while the first holds it
    leases.release("periodic_sync", "done")
    assert periodic_sync(60) == {"queued": 0}
    assert leases.last_run("periodic_sync").last_result == "queued 0 syncs"


def _instance(workflow: Workflow, status: str, ended_days_ago: float | None) -> WorkflowInstance:
    ended = utcnow() - timedelta(days=ended_days_ago) if ended_days_ago is not None else None
    row = WorkflowInstance(
        workflow=workflow, status=status, completed_at=ended, created_at=(ended or utcnow()) - timedelta(hours=1)
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_daily_cleanup_runs_once_a_day_at_two_and_deletes_only_old_ended_instances(make_app, monkeypatch) -> None:
    make_app(cleanup_days=30, cleanup_statuses=("completed", "failed"))
    user = make_user()
    workflow = Workflow(
        name="Old", bpmn_xml=bpmn("user_task"), bpmn_sha256="0" * 64, status="active", created_by=user.id
    )
    db.session.add(workflow)
    db.session.commit()
    old = {_instance(workflow, "completed", 31).id, _instance(workflow, "failed", 45).id}
    keep = {
        _instance(workflow, "completed", 29).id,  # ended, but not long enough ago
        _instance(workflow, "cancelled", 60).id,  # not a status the settings clean
        _instance(workflow, "running", None).id,  # never ended
        _instance(workflow, "launching", None).id,
    }

    clock = Clock(datetime(2026, 1, 5, 1, 0, 0))
    monkeypatch.setattr(scheduler, "utcnow", clock)
    cleanup = (_entry("schedule:cleanup"),)
    assert scheduler.tick(cleanup) == []  # first sight at 01:00: remembered, not run
    clock.now = datetime(2026, 1, 5, 1, 59, 59)
    assert scheduler.tick(cleanup) == []
    clock.now = datetime(2026, 1, 5, 2, 0, 1)
    assert scheduler.tick(cleanup) == ["schedule:cleanup"]
    clock.now = datetime(2026, 1, 5, 23, 59, 0)
    assert scheduler.tick(cleanup) == []  # once a day
    assert _count("cleanup") == 1

    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "cleanup")).one()
    assert job.payload == {"days": 30, "statuses": ["completed", "failed"]}
    run_job(job.id)  # what the shar-sync consumer does with it
    db.session.expire_all()
    job = db.session.get(JobRecord, job.id)
    assert job.state == "succeeded" and job.payload["deleted"] == 2
    left = set(db.session.scalars(select(WorkflowInstance.id)))
    assert left == keep and not left & old

    clock.now = datetime(2026, 1, 6, 2, 0, 1)
    assert scheduler.tick(cleanup) == ["schedule:cleanup"]  # the next day, again
    assert _count("cleanup") == 2


def test_cleanup_dry_run_counts_without_deleting(make_app) -> None:
    from app.services.cleanup import cleanup_instances

    make_app()
    admin = make_user("root@example.com", role="admin")
    workflow = Workflow(name="Dry", bpmn_xml=bpmn("user_task"), bpmn_sha256="0" * 64, status="active")
    db.session.add(workflow)
    db.session.commit()
    _instance(workflow, "completed", 40)
    assert cleanup_instances(actor=admin, days=30, statuses=["completed"], dry_run=True) == 1
    assert db.session.scalar(select(func.count()).select_from(WorkflowInstance)) == 1
