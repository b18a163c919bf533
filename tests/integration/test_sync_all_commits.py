"""A sync of every running instance whose instances all have a sync waiting queues nothing, yet its audit
entry lands, and the session is left with nothing open: on SQLite an open write held the database's one
write lock, so every consumer waited on it (the Python API's caller keeps its session)."""

from __future__ import annotations

import time

from sqlalchemy import func, select, text

from app.core.extensions import db
from app.models import AuditEntry, Workflow, WorkflowInstance
from app.services.actors import CLI
from app.services.sync import queue_syncs, submit_sync


def test_nothing_to_queue_still_commits_the_audit_entry(database, app) -> None:  # type: ignore[no-untyped-def]
    workflow = Workflow(name="Order", bpmn_xml="<definitions/>", bpmn_sha256="0" * 64, status="active")
    instance = WorkflowInstance(id="i-1", workflow=workflow, status="running", shar_instance_id="s-1")
    db.session.add_all([workflow, instance])
    db.session.commit()
    submit_sync(instance)  # a sync already waits for it: the batch below has nothing to add

    assert queue_syncs(actor=CLI, force=True).queued == 0
    assert not db.session().in_transaction()
    with db.engine.connect() as other:  # another connection, as a consumer: it sees the entry, and may write
        seen = other.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "instance.sync_many")
        )
        assert seen == 1
        started = time.monotonic()
        other.execute(text("UPDATE workflow_instances SET updated_at = updated_at"))
        other.commit()
        assert time.monotonic() - started < 1.0
