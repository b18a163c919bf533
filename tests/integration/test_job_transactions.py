"""A launch job in two transactions (issue 21): the claim with its attempt before the call to SHAR,
then the answer (status, timeline entry, the attempt's end, the job's success) in one commit, its
events fired only after that commit, and no row read twice."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text

from app.core.extensions import db
from app.jobs.runner import run_job
from app.lifecycle import events
from app.models import ActivityEvent, JobAttempt, JobRecord
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh
from tests.support.sql_log import recorded


def _run_hearing(job_id: int, signal: Any, hear: Callable[[Any, list[str]], None]) -> tuple[Any, list[str], list[str]]:
    """Run job `job_id` with `hear(sender, commits so far)` called when `signal` fires; the job, its
    commits and its statements."""
    with recorded(db.engine) as (commits, statements):

        def listener(sender: Any, **_: Any) -> None:
            hear(sender, commits)

        signal.connect(listener)
        try:
            job = run_job(job_id)
        finally:
            signal.disconnect(listener)
    return job, commits, statements


def _committed_status(instance_id: str) -> str:
    """The status as another connection sees it: what is committed."""
    with db.engine.connect() as other:
        return other.execute(text("SELECT status FROM workflow_instances WHERE id = :i"), {"i": instance_id}).scalar()


def test_a_launch_job_commits_twice_and_fires_after_its_commit(database: str, app: Any, shar: Any) -> None:
    user = make_user()
    create_workflow("Twice", bpmn("user_task"), actor=user, async_=False)
    instance = launch_instance("Twice", {"n": 1}, actor=user).instance  # queued; no consumer runs here
    job_id = db.session.scalars(select(JobRecord.id).where(JobRecord.job_type == "launch_instance")).one()
    instance_id = instance.id
    db.session.remove()

    seen: list[tuple[str, str]] = []
    job, commits, statements = _run_hearing(
        job_id, events.instance_launched, lambda sender, _: seen.append((sender.status, _committed_status(sender.id)))
    )

    assert job is not None and job.state == "succeeded"
    assert len(commits) == 2, statements
    # Fired once, after the commit: the listener saw the status as every other reader does.
    assert seen == [("running", "running")]
    # The job's reads, the listener's own (`SELECT status`, through another connection) aside.
    reads = [stmt.strip() for stmt in statements if not stmt.strip().startswith("SELECT status")]
    tables = [match.group(1) for stmt in reads if (match := re.match(r"SELECT .*?\sFROM\s+(\w+)", stmt, re.S))]
    assert tables.count("workflow_instances") == 1, tables  # the row with its workflow joined: one read
    assert tables.count("workflows") <= 1, tables  # the version's file, the first time this process names its elements
    assert tables.count("job_records") == 0, tables  # the claim's UPDATE ... RETURNING is the only read of the job
    # On PostgreSQL the answer's two timeline entries (where it stands, its new status) are one INSERT,
    # written after the status compare-and-set, and the attempt's end and the job's success one UPDATE.
    inserts = [stmt for stmt in statements if re.match(r"\s*INSERT INTO activity_events", stmt)]
    assert len(inserts) == (1 if database == "postgresql" else 2), statements
    ended = [stmt for stmt in statements if re.search(r"UPDATE job_attempts", stmt)]
    assert len(ended) == 1 and ("UPDATE job_records" in ended[0]) == (database == "postgresql"), ended
    instance = refresh(instance)
    assert (instance.status, instance.launch_requests) == ("running", 1)
    attempts = db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job_id)).all()
    assert [(a.number, a.outcome) for a in attempts] == [(1, "succeeded")]
    kinds = db.session.scalars(select(ActivityEvent.kind).where(ActivityEvent.target_id == instance_id)).all()
    assert kinds.count("status_running") == 1


def _committed_attempt(job_id: int) -> str:
    with db.engine.connect() as other:
        return other.execute(text("SELECT outcome FROM job_attempts WHERE job_id = :j"), {"j": job_id}).scalar()


def test_a_create_job_makes_the_workflow_active_in_its_success_commit(database: str, app: Any, shar: Any) -> None:
    """Found by tests/reliability/test_adoption.py: a listener of `workflow_created` committed the
    workflow `active` while its job's attempt was still `running`."""
    user = make_user()
    workflow = create_workflow("Once", bpmn("user_task"), actor=user).workflow  # queued; no consumer runs here
    job_id = db.session.scalars(select(JobRecord.id).where(JobRecord.job_type == "create_workflow")).one()
    db.session.remove()
    seen: list[tuple[str, str | None, int]] = []
    job, _, statements = _run_hearing(
        job_id,
        events.workflow_created,
        lambda sender, commits: seen.append((sender.status, _committed_attempt(job_id), len(commits))),
    )

    assert job is not None and job.state == "succeeded"
    # Fired once, after the job's second commit, which holds both the activation and the attempt's
    # success (the listeners' own writes commit after it).
    assert seen == [("active", "succeeded", 2)], statements
    assert refresh(workflow).status == "active"
