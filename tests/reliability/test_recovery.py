"""Nothing is lost: a worker killed mid-job, the periodic sync, and the scheduler's single runs."""

from __future__ import annotations

import threading

import httpx
from sqlalchemy import func, select

from app.core.extensions import db
from app.jobs.reconcile import reconcile
from app.models import ActivityEvent, JobAttempt, JobRecord, Lease, WorkflowInstance
from app.services.correlation import CORRELATION_VARIABLE
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import wait_until


def test_worker_killed_mid_job_is_recovered_and_visible(app, processes, shar) -> None:
    user = make_user()
    shar.set_faults(latency_ms=4000)  # the create hangs in SHAR while we kill its worker
    processes.start_consumers()
    workflow = create_workflow("Killed", bpmn("user_task"), actor=user).workflow
    job = db.session.scalars(select(JobRecord)).one()
    wait_until(lambda: refresh(job).state == "running", what="the attempt to start")
    consumer = next(name for name in processes.procs if "workflows" in name)
    processes.kill(consumer)
    shar.set_faults(latency_ms=0)
    # The attempt stays open until the job's time limit (10 s at the test's scale) has passed.
    wait_until(lambda: reconcile().interrupted, timeout=25, interval=1.0, what="the reconciler to see the dead worker")
    attempts = db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id)).all()
    assert attempts[0].outcome == "interrupted"
    processes.start_consumers()
    wait_until(lambda: refresh(workflow).status == "active", what="the recovered create to finish")
    assert refresh(job).attempts == 2


class _LatencyThatSignals(int):
    """sharlite's latency setting that also tells the test when a launch request has arrived."""

    def __new__(cls, value: int, arrived: threading.Event) -> _LatencyThatSignals:
        made = super().__new__(cls, value)
        made.arrived = arrived  # type: ignore[attr-defined]
        return made

    def __bool__(self) -> bool:
        from flask import request

        if request.method == "POST" and request.path.endswith("/instances"):
            # Only once the whole body is here (kept for the view): a kill between the client's writes of
            # the headers and the body would leave SHAR a request it refuses, and nothing to adopt.
            request.get_data(cache=True)
            self.arrived.set()  # type: ignore[attr-defined]
        return True


def test_launch_killed_mid_request_is_adopted_not_sent_twice(app, processes, shar) -> None:
    """The worker dies while SHAR is still making the instance: the retry finds it by the
    correlation variable and adopts it. One SHAR instance, one row (issue 9, item 5)."""
    user = make_user()
    processes.start_consumers()
    workflow = create_workflow("Twice", bpmn("user_task"), actor=user).workflow
    wait_until(lambda: refresh(workflow).status == "active", timeout=60, what="workflow active")
    arrived = threading.Event()
    shar.faults.latency_ms = _LatencyThatSignals(4000, arrived)
    instance = launch_instance("Twice", {}, actor=user).instance
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    # Kill only once SHAR holds the request (inside the injected latency): it will make the instance.
    assert arrived.wait(60), "the launch request never reached SHAR"
    # What says a request may be out is the job's attempt, committed before the call (the row's
    # count is written with the answer): the killed worker leaves it for the reconciler.
    assert (refresh(job).attempts, refresh(instance).launch_requests) == (1, 0)
    processes.kill(next(name for name in processes.procs if "instances" in name))
    shar.set_faults(latency_ms=0)
    wait_until(lambda: reconcile().interrupted, timeout=25, interval=1.0, what="the reconciler")
    processes.start_consumers()
    wait_until(lambda: refresh(instance).status == "running", timeout=60, what="the adopted instance")
    instance = refresh(instance)
    assert instance.launch_requests == 1  # the re-send found the first request's instance instead
    assert refresh(job).attempts == 2
    in_shar = [
        i["id"]
        for i in httpx.get(f"{shar.url}/api/v1/instances").json()
        if i["variables"].get(CORRELATION_VARIABLE) == instance.id
    ]
    assert in_shar == [instance.shar_instance_id]
    launches = [
        e
        for e in httpx.get(f"{shar.url}/_sharlite/requests").json()
        if e["method"] == "POST" and e["path"].endswith("/Twice/instances")
    ]
    assert len(launches) == 1
    assert db.session.scalar(select(func.count()).select_from(WorkflowInstance)) == 1
    kinds = [e.kind for e in db.session.scalars(select(ActivityEvent).where(ActivityEvent.target_id == instance.id))]
    assert "launch_adopted" in kinds and "launch_resent" not in kinds


def test_periodic_sync_completes_instances_and_never_overlaps(make_app, processes, shar) -> None:
    make_app(shar_sync_interval=1, shar_sync_batch_size=2, shar_sync_batch_delay=0.5)
    user = make_user()
    processes.start_consumers(workers=2)
    workflow = create_workflow("Periodic", bpmn("user_task"), actor=user).workflow
    wait_until(lambda: refresh(workflow).status == "active", what="workflow active")
    instances = [launch_instance("Periodic", {"n": n}, actor=user).instance for n in range(5)]
    wait_until(lambda: all(refresh(i).status == "running" for i in instances), what="instances running")
    for instance in instances:
        httpx.post(f"{shar.url}/api/v1/instances/{refresh(instance).shar_instance_id}/complete")
    processes.start_scheduler()
    processes.start("scheduler2", "shar", "queue", "scheduler", "--interval", "0.2")
    wait_until(
        lambda: all(refresh(i).status == "completed" for i in instances),
        timeout=30,
        what="the periodic sync to complete every instance",
    )
    run = db.session.get(Lease, "periodic_sync")
    assert run is not None and run.last_finished_at is not None
    # Two schedulers, yet each interval produced one periodic_sync job at most.
    jobs = db.session.scalars(
        select(JobRecord).where(JobRecord.job_type == "periodic_sync").order_by(JobRecord.created_at)
    ).all()
    gaps = [(b.created_at - a.created_at).total_seconds() for a, b in zip(jobs, jobs[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    syncs = sum(
        len(payload["instance_ids"])
        for payload in db.session.scalars(select(JobRecord.payload).where(JobRecord.job_type == "sync_instances"))
    )
    assert syncs >= 5


class _FirstLaunchQuick(int):
    """sharlite's latency: the first launch request answered after `first` s (so the worker learns SHAR
    is fast and the launches queued behind it wait), every later one held `then` s; `arrived` is set
    once `later` of those are in SHAR."""

    def __new__(cls, first: float, then: float, later: int, arrived: threading.Event) -> _FirstLaunchQuick:
        made = super().__new__(cls, 1)
        made.first, made.then, made.later, made.arrived = first, then, later, arrived  # type: ignore[attr-defined]
        made.launches, made.lock, made.this = 0, threading.Lock(), threading.local()  # type: ignore[attr-defined]
        return made

    def __bool__(self) -> bool:
        from flask import request

        self.this.seconds = 0.0  # type: ignore[attr-defined]
        if request.method == "POST" and request.path.endswith("/instances"):
            request.get_data(cache=True)  # the whole request is here (see _LatencyThatSignals)
            with self.lock:  # type: ignore[attr-defined]
                self.launches += 1  # type: ignore[attr-defined]
                n = self.launches  # type: ignore[attr-defined]
            self.this.seconds = self.first if n == 1 else self.then  # type: ignore[attr-defined]
            if n == 1 + self.later:  # type: ignore[attr-defined]
                self.arrived.set()  # type: ignore[attr-defined]
        return True

    def __truediv__(self, other: object) -> float:  # sharlite sleeps latency_ms / 1000
        return float(self.this.seconds)  # type: ignore[attr-defined]


def test_launches_run_together_killed_mid_call_are_each_adopted_once(app, processes, shar) -> None:
    """A worker runs three queued launches together (the first, alone, found SHAR fast) and dies while
    all three are in SHAR: each job's attempt is marked interrupted, and each retry adopts the instance
    its own request made. One SHAR instance and one row per launch."""
    user = make_user()
    processes.start_consumers()
    workflow = create_workflow("Batch", bpmn("user_task"), actor=user).workflow
    wait_until(lambda: refresh(workflow).status == "active", timeout=60, what="workflow active")
    arrived = threading.Event()
    shar.faults.latency_ms = _FirstLaunchQuick(0.3, 4.0, 3, arrived)
    instances = [launch_instance("Batch", {"n": n}, actor=user).instance for n in range(4)]
    assert arrived.wait(60), "the three launches never reached SHAR together"
    jobs = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance").order_by(JobRecord.id))
    assert [(j.state, j.attempts) for j in jobs] == [("succeeded", 1)] + [("running", 1)] * 3
    processes.kill(next(name for name in processes.procs if "instances" in name))
    shar.set_faults(latency_ms=0)
    wait_until(lambda: len(reconcile().interrupted) == 3, timeout=25, interval=1.0, what="the reconciler")
    processes.start_consumers()
    wait_until(lambda: all(refresh(i).status == "running" for i in instances), timeout=60, what="all running")
    listed = httpx.get(f"{shar.url}/api/v1/instances").json()
    for instance in map(refresh, instances):
        in_shar = [i["id"] for i in listed if i["variables"].get(CORRELATION_VARIABLE) == instance.id]
        assert in_shar == [instance.shar_instance_id]
    launches = [e for e in httpx.get(f"{shar.url}/_sharlite/requests").json() if e["path"].endswith("/Batch/instances")]
    assert len([e for e in launches if e["method"] == "POST"]) == 4
    adopted = db.session.scalars(select(func.count()).where(ActivityEvent.kind == "launch_adopted")).one()
    assert adopted == 3
