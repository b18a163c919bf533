"""What a sync batch writes, against the real engine over HTTP: the progress of its running
instances in one transaction (an unchanged instance only its last_synced_at, its updated_at kept),
a status change at once with its events fired once, and instance_synced told only after the
instance's write is committed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, select, text, update

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs.runner import run_job
from app.lifecycle.events import instance_completed, instance_synced
from app.models import JobRecord, WorkflowInstance
from app.models._base import utcnow
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.sync import SYNC_BATCH, batch_sync
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, refresh


def _launched(count: int) -> list[WorkflowInstance]:
    create_workflow("Writes", bpmn("user_task"), async_=False, actor=CLI)
    instances = [launch_instance("Writes", {"n": n}, actor=CLI, async_=False).instance for n in range(count)]
    assert all(i.status == "running" and i.shar_instance_id for i in instances)
    db.session.execute(update(WorkflowInstance).values(last_synced_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    return [refresh(i) for i in instances]


def _batch(instances: list[WorkflowInstance]) -> JobRecord:
    queue = current_settings().shar_sync_queue
    assert batch_sync([i.id for i in instances], queue=queue, delay=0, batch_size=10) == len(instances)
    return db.session.scalars(select(JobRecord).where(JobRecord.job_type == SYNC_BATCH)).one()


def _recording(kinds: list[tuple[str, Any]]) -> tuple[Any, Any]:
    """Engine listeners noting each UPDATE of workflow_instances (with its row count) and each commit."""

    def on_execute(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("UPDATE workflow_instances"):
            kinds.append(("update", len(params) if executemany else 1))

    def on_commit(conn: Any) -> None:
        kinds.append(("commit", None))

    return on_execute, on_commit


def test_a_batch_writes_its_running_instances_in_one_transaction_and_changes_status_at_once(
    database, make_app, shar
) -> None:  # type: ignore[no-untyped-def]
    make_app(shar_sync_batch_size=10)
    unchanged_a, moved, ended, unchanged_b = _launched(4)
    # The row says it waits elsewhere (SHAR says the user task): the sync writes where it is.
    db.session.execute(
        update(WorkflowInstance).where(WorkflowInstance.id == moved.id).values(current_activities=["elsewhere"])
    )
    db.session.commit()
    httpx.post(f"{shar.url}/api/v1/instances/{ended.shar_instance_id}/complete").raise_for_status()
    before = {i.id: refresh(i).updated_at for i in (unchanged_a, moved, ended, unchanged_b)}
    batch = _batch([unchanged_a, moved, ended, unchanged_b])
    kinds: list[tuple[str, Any]] = []
    on_execute, on_commit = _recording(kinds)
    told: list[str] = []
    completed: list[str] = []
    instance_synced.connect(synced := lambda instance, **_: told.append(instance.id))
    instance_completed.connect(done := lambda instance, **_: completed.append(instance.id))
    event.listen(db.engine, "before_cursor_execute", on_execute)
    event.listen(db.engine, "commit", on_commit)
    try:
        run_job(batch.id)
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
        event.remove(db.engine, "commit", on_commit)
        instance_synced.disconnect(synced)
        instance_completed.disconnect(done)
    assert refresh(batch).state == "succeeded"
    # The ended instance's change is its own UPDATE and commit; the three still running are two
    # statements (the unchanged pair in one executemany, the moved one) in one transaction.
    transactions: list[list[int]] = [[]]
    for kind, rows_written in kinds:
        transactions.append([]) if kind == "commit" else transactions[-1].append(rows_written)
    assert sorted(sorted(t) for t in transactions if t) == [[1], [1, 2]]
    rows = {i.id: refresh(i) for i in (unchanged_a, moved, ended, unchanged_b)}
    assert all(r.last_synced_at > batch.created_at for r in rows.values())
    assert rows[ended.id].status == "completed" and completed == [ended.id]
    assert rows[moved.id].current_activities != ["elsewhere"] and rows[moved.id].updated_at > before[moved.id]
    assert all(rows[i.id].updated_at == before[i.id] for i in (unchanged_a, unchanged_b))
    assert sorted(told) == sorted(rows) and len(told) == 4  # once each


def test_instance_synced_is_told_after_the_write_is_committed(database, make_app, shar) -> None:  # type: ignore[no-untyped-def]
    make_app(shar_sync_batch_size=10)
    instances = _launched(3)
    db.session.execute(update(WorkflowInstance).values(last_synced_at=None))
    db.session.commit()
    batch = _batch(instances)
    seen: dict[str, bool] = {}

    def committed(instance: WorkflowInstance, **_: Any) -> None:
        # On a connection of its own: only what was committed is visible there.
        with db.engine.connect() as conn:
            synced_at = conn.execute(
                text("SELECT last_synced_at FROM workflow_instances WHERE id = :id"), {"id": instance.id}
            ).scalar_one()
        seen[instance.id] = synced_at is not None

    instance_synced.connect(committed)
    try:
        run_job(batch.id)
    finally:
        instance_synced.disconnect(committed)
    assert seen == {i.id: True for i in instances}
