"""Nothing is lost: a worker killed mid-job, the periodic sync, and the scheduler's single runs."""
from __future__ import annotations

import httpx
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.reconcile import reconcile
from app.models import JobAttempt, JobRecord, Lease
from app.services.instances import launch_instance
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


def test_launch_resent_after_unknown_outcome_is_recorded(app, processes, shar) -> None:
    user = make_user()
    processes.start_consumers()
    workflow = create_workflow("Twice", bpmn("user_task"), actor=user).workflow
    wait_until(lambda: refresh(workflow).status == "active", what="workflow active")
    shar.set_faults(latency_ms=4000)
    instance = launch_instance("Twice", {}, actor=user).instance
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    wait_until(lambda: refresh(instance).launch_requests == 1, what="the launch request to be counted")
    processes.kill(next(name for name in processes.procs if "instances" in name))
    shar.set_faults(latency_ms=0)
    wait_until(lambda: reconcile().interrupted, timeout=25, interval=1.0, what="the reconciler")
    processes.start_consumers()
    wait_until(lambda: refresh(instance).status == "running", what="the relaunched instance")
    instance = refresh(instance)
    assert instance.launch_requests == 2
    from app.models import ActivityEvent

    kinds = [e.kind for e in db.session.scalars(select(ActivityEvent).where(ActivityEvent.target_id == instance.id))]
    assert "launch_resent" in kinds
    assert refresh(job).attempts == 2


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
    wait_until(lambda: all(refresh(i).status == "completed" for i in instances), timeout=30,
               what="the periodic sync to complete every instance")
    run = db.session.get(Lease, "periodic_sync")
    assert run is not None and run.last_finished_at is not None
    # Two schedulers, yet each interval produced one periodic_sync job at most.
    jobs = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "periodic_sync")
                              .order_by(JobRecord.created_at)).all()
    gaps = [(b.created_at - a.created_at).total_seconds() for a, b in zip(jobs, jobs[1:])]
    assert all(gap >= 0.9 for gap in gaps), gaps
    syncs = db.session.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.job_type == "sync_instance"))
    assert syncs >= 5
