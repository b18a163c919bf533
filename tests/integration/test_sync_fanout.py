"""The periodic sync's fan-out: one INSERT and one Redis round trip per batch, nothing queued
twice, and a dead Redis leaves every record for the reconciler."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import JobRecord, WorkflowInstance
from app.queues import current_queues
from app.services.actors import CLI
from app.services.sync import sync_all_running
from app.services.workflows import create_workflow
from tests.support.factories import bpmn


def _running_instances(count: int) -> None:
    workflow = create_workflow("Fan", bpmn("user_task"), actor=CLI).workflow
    db.session.execute(insert(WorkflowInstance), [{"id": f"00000000-0000-0000-0000-{n:012d}",
                                                    "workflow_id": workflow.id, "status": "running",
                                                    "variables": {}, "current_activities": []}
                                                   for n in range(count)])
    db.session.commit()


def _sync_jobs() -> list[Any]:
    return list(db.session.execute(select(JobRecord.state, JobRecord.enqueue_error, func.count())
                                   .where(JobRecord.job_type == "sync_instance")
                                   .group_by(JobRecord.state, JobRecord.enqueue_error)))


def test_fan_out_records_and_queues_every_running_instance_once(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(shar_sync_batch_size=500)
    _running_instances(2_000)
    assert sync_all_running() == 2_000
    assert _sync_jobs() == [("queued", None, 2_000)]
    assert current_queues().counts(app.config["SHARBOARD_SETTINGS"].shar_sync_queue)["pending"] == 2_000
    # A second fan-out while those wait queues nothing new.
    assert sync_all_running() == 0
    assert _sync_jobs() == [("queued", None, 2_000)]


def test_fan_out_with_redis_down_keeps_every_record_for_the_reconciler(make_app) -> None:  # type: ignore[no-untyped-def]
    make_app(redis_url="redis://127.0.0.1:1/0", shar_sync_batch_size=50)
    _running_instances(120)
    assert sync_all_running() == 0
    rows = _sync_jobs()
    assert len(rows) == 1 and rows[0][0] == "queued" and rows[0][2] == 120
    assert "ConnectionError" in rows[0][1]
