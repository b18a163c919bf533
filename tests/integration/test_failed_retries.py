"""Retrying many failed jobs (the admin page's group or all, the CLI): each job moves with its row in
one commit, the jobs are read once a chunk and handed to their queue in one round trip a kind. Before:
a read, two commits (the row's, then the job's) and a Redis round trip a job, 3.8-5.2 ms each, so 10,000
took 38 s in the web request (a load probe, session 13)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select

from app.core.extensions import db
from app.jobs.queues import current_queues
from app.models import JobRecord, Workflow, WorkflowInstance
from app.services.actors import CLI
from app.services.failed_jobs import retry_failed_jobs
from tests.support.factories import make_user
from tests.support.sql_log import recorded

COUNT = 30


def _failed_launches(count: int) -> list[int]:
    user = make_user("ops@example.com", "admin")
    workflow = Workflow(name="W", version=1, bpmn_xml="<x/>", bpmn_sha256="0" * 64, status="active", created_by=user.id)
    db.session.add(workflow)
    db.session.commit()
    ids = [str(uuid.uuid4()) for _ in range(count)]
    row = {"workflow_id": workflow.id, "status": "failed", "variables": {}, "current_activities": []}
    db.session.execute(insert(WorkflowInstance), [{**row, "id": i} for i in ids])
    queue = current_queues().names[1]
    jobs = [
        {"job_type": "launch_instance", "queue": queue, "target_type": "instance", "target_id": i, "state": "failed"}
        for i in ids
    ]
    db.session.execute(insert(JobRecord), [{**j, "attempts": 3, "max_attempts": 3, "payload": {}} for j in jobs])
    db.session.commit()
    return list(db.session.scalars(select(JobRecord.id).order_by(JobRecord.id)))


def test_many_retries_move_each_job_with_its_row_in_one_commit_and_hand_them_over_together(database, app) -> None:  # type: ignore[no-untyped-def]
    job_ids = _failed_launches(COUNT)
    queue = current_queues().names[1]
    with recorded(db.engine) as (commits, statements):
        report = retry_failed_jobs([*job_ids, 999_999], actor=CLI)
    assert sorted(report.requeued) == job_ids and list(report.skipped) == [999_999]
    assert "no job 999999" in report.skipped[999_999]
    job_reads = [s for s in statements if s.startswith("SELECT") and "FROM job_records" in s]
    assert len(job_reads) == 1, job_reads
    assert len(commits) == COUNT + 1, len(commits)  # a commit a job (its row with it), and the audit entry's
    db.session.expire_all()
    states = dict(
        db.session.execute(select(WorkflowInstance.status, func.count()).group_by(WorkflowInstance.status)).all()
    )
    assert states == {"launching": COUNT}
    assert db.session.scalar(select(func.count()).where(JobRecord.state == "queued")) == COUNT
    assert current_queues().counts(queue)["pending"] == COUNT
