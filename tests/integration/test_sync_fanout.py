"""The periodic sync: fanned out as batch jobs (one INSERT and one Redis round trip per 500
batches, nothing queued twice, a dead Redis leaves every record for the reconciler), and each
batch run against the real engine over HTTP: SHAR down stops a batch and its retry goes on where
it stopped; SHAR refusing one instance fails it alone, named on the batch, the others synced; a slow
batch hands its rest to a new job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select, update

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs.queues import current_queues
from app.jobs.runner import run_job
from app.models import JobRecord, WorkflowInstance
from app.models._base import utcnow
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.sync import SYNC_BATCH, batch_sync, sync_all_running, sync_batch
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, refresh


def _running_instances(count: int) -> None:
    workflow = create_workflow("Fan", bpmn("user_task"), actor=CLI).workflow
    db.session.execute(
        insert(WorkflowInstance),
        [
            {
                "id": f"00000000-0000-0000-0000-{n:012d}",
                "workflow_id": workflow.id,
                "status": "running",
                "variables": {},
                "current_activities": [],
            }
            for n in range(count)
        ],
    )
    db.session.commit()


def _batches() -> list[JobRecord]:
    return list(db.session.scalars(select(JobRecord).where(JobRecord.job_type == SYNC_BATCH).order_by(JobRecord.id)))


def test_fan_out_records_and_queues_every_running_instance_once_in_batches(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(shar_sync_batch_size=50)
    _running_instances(2_000)
    assert sync_all_running() == 2_000
    batches = _batches()
    assert len(batches) == 40 and {(b.state, b.enqueue_error, b.target_id) for b in batches} == {("queued", None, "50")}
    ids = [i for b in batches for i in b.payload["instance_ids"]]
    assert len(ids) == len(set(ids)) == 2_000
    assert current_queues().counts(app.config["SHARBOARD_SETTINGS"].shar_sync_queue)["pending"] == 40
    # A second fan-out while those wait queues nothing new.
    assert sync_all_running() == 0
    assert len(_batches()) == 40


def test_fan_out_with_redis_down_keeps_every_record_for_the_reconciler(make_app) -> None:  # type: ignore[no-untyped-def]
    make_app(redis_url="redis://127.0.0.1:1/0", shar_sync_batch_size=50)
    _running_instances(120)
    assert sync_all_running() == 0
    batches = _batches()
    assert [len(b.payload["instance_ids"]) for b in batches] == [8] * 15  # 16 batches at least: 120 / 16 → 8
    assert all(b.state == "queued" and "ConnectionError" in b.enqueue_error for b in batches)


def _launched(app: Any, count: int) -> list[WorkflowInstance]:
    create_workflow("Batch", bpmn("user_task"), async_=False, actor=CLI)
    instances = [launch_instance("Batch", {"n": n}, actor=CLI, async_=False).instance for n in range(count)]
    assert all(i.status == "running" and i.shar_instance_id for i in instances)
    # Synced at launch: make them due again.
    db.session.execute(update(WorkflowInstance).values(last_synced_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    return instances


def _gets(shar: Any, instance: WorkflowInstance) -> int:
    log = httpx.get(f"{shar.url}/_sharlite/requests").json()
    return sum(1 for r in log if r["method"] == "GET" and r["path"] == f"/api/v1/instances/{instance.shar_instance_id}")


def _one_batch(instances: list[WorkflowInstance]) -> JobRecord:
    assert batch_sync(
        [i.id for i in instances], queue=current_settings().shar_sync_queue, delay=0, batch_size=10
    ) == len(instances)
    (batch,) = _batches()
    return batch


def test_a_batch_stopped_by_a_failing_shar_goes_on_where_it_stopped(database, make_app, shar) -> None:  # type: ignore[no-untyped-def]
    app = make_app(shar_sync_batch_size=10)
    instances = _launched(app, 3)
    httpx.post(f"{shar.url}/api/v1/instances/{instances[0].shar_instance_id}/complete")
    batch = _one_batch(instances)
    shar.set_faults(error_rate=1.0)
    run_job(batch.id)
    assert (refresh(batch).state, refresh(batch).attempts) == ("retrying", 1)
    assert [refresh(i).status for i in instances] == ["running"] * 3
    shar.set_faults(error_rate=0.0)
    # Synced by someone else meanwhile: the retry does not read it again.
    from app.services.sync import apply_shar_state

    apply_shar_state(refresh(instances[1]))
    before = [_gets(shar, i) for i in instances]
    db.session.execute(update(JobRecord).where(JobRecord.id == batch.id).values(next_attempt_at=None))
    db.session.commit()
    run_job(batch.id)
    assert refresh(batch).state == "succeeded"
    assert [_gets(shar, i) - b for i, b in zip(instances, before, strict=True)] == [1, 0, 1]
    assert [refresh(i).status for i in instances] == ["completed", "running", "running"]
    assert all(refresh(i).last_synced_at > batch.created_at for i in instances)


def test_an_instance_shar_refuses_fails_alone_named_on_the_batch_and_the_others_sync(database, make_app, shar) -> None:  # type: ignore[no-untyped-def]
    app = make_app(shar_sync_batch_size=10)
    instances = _launched(app, 3)
    unknown = instances[1]
    db.session.execute(
        update(WorkflowInstance).where(WorkflowInstance.id == unknown.id).values(shar_instance_id="no-such-instance")
    )
    db.session.commit()
    batch = _one_batch(instances)
    run_job(batch.id)
    batch = refresh(batch)
    assert batch.state == "succeeded" and batch.attempts == 1  # a refusal is the instance's, not the batch's
    assert list(batch.payload["failed"]) == [unknown.id] and batch.payload["failed"][unknown.id].startswith(
        "SHAR refused"
    )
    synced = [refresh(i).last_synced_at > batch.created_at for i in instances]
    assert synced == [True, False, True]


def test_a_batch_out_of_time_hands_the_rest_to_a_new_batch(make_app, shar) -> None:  # type: ignore[no-untyped-def]
    app = make_app(shar_sync_batch_size=10)
    instances = _launched(app, 3)
    shar.set_faults(latency_ms=50)
    ids = [i.id for i in instances]
    sync_batch(ids, since=utcnow(), budget_seconds=0.01, queue="q")
    # One instance synced (a batch always makes progress), the other two queued as a new batch.
    assert sum(refresh(i).last_synced_at > utcnow() - timedelta(minutes=1) for i in instances) == 1
    rest = _batches()
    assert [i for b in rest for i in b.payload["instance_ids"]] == ids[1:] and {b.queue for b in rest} == {"q"}
