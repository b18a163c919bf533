"""One bad instance never stalls a sync batch, against the real engine over HTTP: a variable the
engine made infinite (`1e999` through an output mapping, which SHAR's JSON says as `Infinity` and no
database column takes) is kept as text with a timeline note; the database refusing one instance's
write fails that instance alone, the rest of the batch syncing on the same session; a batch that
made progress before an outage hands its rest to a new job instead of spending its attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, text, update

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs.runner import run_job
from app.lifecycle.events import instance_sync_failed, instance_synced
from app.models import ActivityEvent, JobRecord, WorkflowInstance
from app.models._base import utcnow
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.sync import SYNC_BATCH, batch_sync
from app.services.workflows import create_workflow
from app.shar.client import SharClient
from tests.support.factories import refresh

# A review whose output mapping computes a number past what a float holds, then a second task to wait at.
OVERFLOW_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
                  id="Definitions_overflow" targetNamespace="http://sharboard.test/bpmn">
  <bpmn:process id="Overflow" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review">
      <bpmn:extensionElements><zeebe:ioMapping>
        <zeebe:output source="=1e999" target="huge"/><zeebe:output source="=-1e999" target="tiny"/>
      </zeebe:ioMapping></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="approve"/>
    <bpmn:userTask id="approve"/>
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _launched(count: int) -> list[WorkflowInstance]:
    create_workflow("Overflow", OVERFLOW_BPMN, async_=False, actor=CLI)
    instances = [launch_instance("Overflow", {"n": n}, actor=CLI, async_=False).instance for n in range(count)]
    assert all(i.status == "running" and i.shar_instance_id for i in instances)
    _due_again()
    return instances


def _due_again() -> None:
    db.session.execute(update(WorkflowInstance).values(last_synced_at=utcnow() - timedelta(hours=1)))
    db.session.commit()


def _one_batch(instances: list[WorkflowInstance]) -> JobRecord:
    assert batch_sync(
        [i.id for i in instances], queue=current_settings().shar_sync_queue, delay=0, batch_size=10
    ) == len(instances)
    return _batches()[-1]


def _batches() -> list[JobRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(JobRecord).where(JobRecord.job_type == SYNC_BATCH).order_by(JobRecord.id)))


def _timeline(instance: WorkflowInstance, kind: str) -> list[ActivityEvent]:
    return list(
        db.session.scalars(
            select(ActivityEvent).where(
                ActivityEvent.target_type == "instance",
                ActivityEvent.target_id == instance.id,
                ActivityEvent.kind == kind,
            )
        )
    )


def _synced(instances: list[WorkflowInstance], since: Any) -> list[bool]:
    return [refresh(i).last_synced_at > since for i in instances]


def test_an_infinite_variable_is_kept_as_text_and_the_batch_syncs_the_others(database, make_app, shar) -> None:  # type: ignore[no-untyped-def]
    make_app(shar_sync_batch_size=10)
    instances = _launched(3)
    poisoned = instances[1]
    httpx.post(f"{shar.url}/api/v1/instances/{poisoned.shar_instance_id}/complete").raise_for_status()
    assert "Infinity" in httpx.get(f"{shar.url}/api/v1/instances/{poisoned.shar_instance_id}").text
    batch = _one_batch(instances)
    run_job(batch.id)
    batch = refresh(batch)
    assert (batch.state, batch.attempts) == ("succeeded", 1)
    assert _synced(instances, batch.created_at) == [True, True, True]
    poisoned = refresh(poisoned)
    assert (poisoned.variables["huge"], poisoned.variables["tiny"], poisoned.variables["n"]) == (
        "Infinity",
        "-Infinity",
        1,
    )
    assert poisoned.current_activities == ["approve"]
    (note,) = _timeline(poisoned, "variables_kept_as_text")
    assert note.message.endswith("huge, tiny") and note.data["paths"] == ["huge", "tiny"]
    # Synced again, unchanged: the note is not repeated.
    _due_again()
    run_job(_one_batch(instances).id)
    assert len(_timeline(poisoned, "variables_kept_as_text")) == 1


def _refuse_updates_of(instance_id: str, dialect: str) -> None:
    """Make the database itself refuse every write of one instance's row (a trigger, on either database)."""
    if dialect == "postgresql":
        db.session.execute(
            text(
                "CREATE FUNCTION refuse_row() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'this row is refused' USING ERRCODE = '22023'; END $$ LANGUAGE plpgsql"
            )
        )
        db.session.execute(
            text(
                f"CREATE TRIGGER refuse_row BEFORE UPDATE ON workflow_instances FOR EACH ROW "
                f"WHEN (NEW.id = '{instance_id}') EXECUTE FUNCTION refuse_row()"
            )
        )
    else:
        db.session.execute(
            text(
                f"CREATE TRIGGER refuse_row BEFORE UPDATE ON workflow_instances "
                f"WHEN NEW.id = '{instance_id}' BEGIN SELECT RAISE(ABORT, 'this row is refused'); END"
            )
        )
    db.session.commit()


def test_the_database_refusing_one_instances_write_fails_it_alone(database, make_app, shar) -> None:  # type: ignore[no-untyped-def]
    make_app(shar_sync_batch_size=10)
    instances = _launched(4)
    refused, unknown = instances[1], instances[2]
    db.session.execute(
        update(WorkflowInstance).where(WorkflowInstance.id == unknown.id).values(shar_instance_id="no-such-instance")
    )
    db.session.commit()
    _refuse_updates_of(refused.id, database)
    told: list[tuple[str, str]] = []

    def listener(instance: WorkflowInstance, *, error_message: str, **_: Any) -> None:
        told.append((instance.id, error_message))

    instance_sync_failed.connect(listener)
    try:
        batch = _one_batch(instances)
        run_job(batch.id)
    finally:
        instance_sync_failed.disconnect(listener)
    batch = refresh(batch)
    assert (batch.state, batch.attempts) == ("succeeded", 1)  # neither failure is the batch's
    assert _synced(instances, batch.created_at) == [True, False, False, True]  # the one after the rollback too
    assert set(batch.payload["failed"]) == {refused.id, unknown.id} and batch.payload["synced"] == 2
    # Each told once; the refused write shows when the batch's progress is written, after SHAR's refusal.
    assert sorted(i for i, _ in told) == sorted([refused.id, unknown.id])
    (refusal,) = _timeline(refused, "sync_failed")
    assert "this row is refused" in refusal.message and "UPDATE" not in refusal.message
    (not_found,) = _timeline(unknown, "sync_failed")
    assert not_found.message.startswith("sync failed: SHAR refused")


def test_a_batch_that_made_progress_hands_its_rest_on_instead_of_spending_its_attempts(
    database, make_app, shar, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    make_app(shar_sync_batch_size=10)
    instances = _launched(3)
    read = SharClient.get_instance

    def outage_after_the_first(client: SharClient, instance_id: str) -> Any:
        try:
            return read(client, instance_id)  # the real read; the engine goes down right after it
        finally:
            shar.set_faults(outage=True)

    monkeypatch.setattr(SharClient, "get_instance", outage_after_the_first)
    synced: list[str] = []
    instance_synced.connect(record := lambda instance, **_: synced.append(instance.id))
    try:
        batch = _one_batch(instances)
        run_job(batch.id)
    finally:
        instance_synced.disconnect(record)
        monkeypatch.undo()
    assert synced == [instances[0].id]  # told once, for the one read before the outage
    batch = refresh(batch)
    assert (batch.state, batch.attempts) == ("succeeded", 1)
    assert _synced(instances, batch.created_at) == [True, False, False]
    rest = _batches()[1:]
    assert [i for b in rest for i in b.payload["instance_ids"]] == [i.id for i in instances[1:]]
    assert all(b.attempts == 0 and b.next_attempt_at is not None for b in rest)  # after the spec's wait, as a retry
    shar.set_faults(outage=False)
    from app.services.health.shar import check_shar_health

    check_shar_health()  # the outage seen by the batch opened the breaker: the probe closes it
    db.session.execute(update(JobRecord).where(JobRecord.id.in_([b.id for b in rest])).values(next_attempt_at=None))
    db.session.commit()
    for job in rest:
        run_job(job.id)
    assert {refresh(b).state for b in rest} == {"succeeded"}
    assert _synced(instances, batch.created_at) == [True, True, True]
