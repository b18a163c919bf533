"""What a queued launch (202) asks of the database once its process remembers the workflow's newest
version: its four rows, written on the condition that the version is unchanged; on PostgreSQL one
statement, run alone (autocommit: no BEGIN or COMMIT); the rows all there, the job handed to its
queue, the answer worded from what was written without reading it back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from app.core.extensions import db
from app.jobs.queues import current_queues
from app.models import ActivityEvent, AuditEntry, JobRecord, WorkflowInstance
from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.support.factories import bpmn


def test_a_queued_launch_writes_its_rows_in_one_statement_reading_nothing_first(database: str, api: Any) -> None:
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    assert (
        api.post("/api/shar/workflows/Flow/launch", json={"variables": {"n": 0}}).status_code == 202
    )  # token and newest version remembered
    statements: list[str] = []
    autocommit: list[bool] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split())[:60])
        autocommit.append(bool(getattr(conn.connection.dbapi_connection, "autocommit", False)))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        answer = api.post("/api/shar/workflows/Flow/launch", json={"variables": {"n": 1}})
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert answer.status_code == 202, answer.json
    data = answer.json["data"]
    assert (data["workflow_name"], data["status"], data["async"]) == ("Flow", "launching", True)
    if database == "postgresql":
        assert len(statements) == 1 and statements[0].startswith("WITH only_if AS"), statements
        assert autocommit == [True]
    else:  # the condition read first in the rows' transaction, then an INSERT a row
        assert statements[0].startswith("SELECT newest.id") and len(statements) == 5, statements
    instance = db.session.get(WorkflowInstance, data["id"])
    assert instance is not None and instance.variables == {"n": 1} and instance.workflow.name == "Flow"
    kinds = db.session.scalars(select(ActivityEvent.kind).filter_by(target_id=instance.id)).all()
    actions = db.session.scalars(select(AuditEntry.action).filter_by(target_id=instance.id)).all()
    job = db.session.scalars(select(JobRecord).filter_by(target_id=instance.id)).one()
    assert (kinds, actions, job.job_type, job.state) == (
        ["placeholder_created"],
        ["instance.launch"],
        "launch_instance",
        "queued",
    )
    assert current_queues().counts(job.queue)["pending"] == 2  # both launches handed over
