"""Failed jobs, for operators: list, group by error, retry (one, many, a group), delete, flush; and
for a row's owner: retry its failed launch or create, and read the attempts of the job behind it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select

from app.core.config import current_settings
from app.core.errors import Conflict, NotFound
from app.core.extensions import commit_keeping_loaded, db
from app.jobs.handover import enqueue, enqueue_many
from app.jobs.specs import all_specs, spec_for
from app.lifecycle.changes import move_job
from app.lifecycle.states import FINISHED_JOB_STATES, InstanceStatus, JobState, WorkflowStatus
from app.models import FailedJobGroup, JobAttempt, JobRecord, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services.access import allowed_actions, find_instance, owner_id_of, require_admin, require_retry
from app.services.actors import Actor
from app.services.audit import audit
from app.services.rows import required
from app.services.workflows import get_workflow

# A press of the admin page retries at most this many failed jobs, oldest first, in the web request
# (10,000 once took 38 s against gunicorn's 60 s timeout). The rest stay failed, and the page says how
# many; the CLI retries without this bound.
PAGE_RETRY_BATCH = 1_000
RETRY_CHUNK = 500  # jobs read, moved and handed over together


@dataclass
class RetryReport:
    requeued: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)
    remaining: int = 0  # failed jobs of the same selection left for another press


@dataclass(frozen=True)
class JobDetail:
    job: JobRecord
    attempts: list[JobAttempt]
    instance: WorkflowInstance | None
    actions: frozenset[str]  # what the reader may do to the job (access.allowed_actions)

    @property
    def badge(self) -> str:
        """The badge its state wears: a succeeded job's as a completed row's, a failed one's as a
        failed row's, any other as a running one's."""
        return _JOB_BADGES.get(self.job.state, "running")


_JOB_BADGES = {JobState.SUCCEEDED: "completed", JobState.FAILED: "failed"}


@dataclass(frozen=True)
class RowJob:
    """The job that brings a row into SHAR (an instance's launch, a workflow version's create) with
    every attempt, as the row's page shows it to its owner or an admin."""

    job: JobRecord
    attempts: list[JobAttempt]
    # "retry": the row's launch or create failed (this job with it) and the reader may retry it;
    # "open": the reader is an admin, so the job's own page (tracebacks, correct-and-retry) is theirs.
    actions: frozenset[str]


# -- reading ---------------------------------------------------------------------------


def failed_jobs(
    *, actor: Actor, queue: str | None = None, job_type: str | None = None, limit: int = 100
) -> list[JobRecord]:
    require_admin(actor)
    query = select(JobRecord).where(JobRecord.state == JobState.FAILED).order_by(JobRecord.finished_at.desc())
    if queue:
        query = query.where(JobRecord.queue == queue)
    if job_type:
        query = query.where(JobRecord.job_type == job_type)
    return list(db.session.scalars(query.limit(limit)))


def failed_queues(*, actor: Actor) -> list[str]:
    """The queues a failed job can be on, for the filter: the configured ones (no scan of the jobs)."""
    require_admin(actor)
    return sorted(current_settings().queue_names)


def job_types() -> list[str]:
    return sorted(all_specs())


def failed_groups(*, actor: Actor, limit: int = 100) -> list[dict[str, Any]]:
    """Failed jobs grouped by job type and error shape (stored when each failed), largest first:
    read from the counts the database keeps (FailedJobGroup), one row a group, not the jobs."""
    require_admin(actor)
    rows = db.session.execute(
        select(FailedJobGroup.job_type, FailedJobGroup.error_shape, FailedJobGroup.jobs)
        .order_by(FailedJobGroup.jobs.desc(), FailedJobGroup.job_type, FailedJobGroup.error_shape)
        .limit(limit)
    )
    return [{"job_type": t, "error_shape": shape, "count": n} for t, shape, n in rows]


def failed_group(job_type: str, shape: str, *, actor: Actor, limit: int = PAGE_RETRY_BATCH) -> dict[str, Any] | None:
    """One group with the ids of its oldest jobs (up to `limit`: `count`) and how many it holds
    (`total`), or None when it has none any more."""
    require_admin(actor)
    ids = list(
        db.session.scalars(
            select(JobRecord.id)
            .where(
                JobRecord.state == JobState.FAILED,
                JobRecord.job_type == job_type,
                func.coalesce(JobRecord.error_shape, "") == shape,
            )
            .order_by(JobRecord.id)
            .limit(limit)
        )
    )
    if not ids:
        return None
    total = max(_group_size(job_type, shape), len(ids))
    return {"job_type": job_type, "error_shape": shape, "count": len(ids), "total": total, "job_ids": ids}


def _group_size(job_type: str, shape: str) -> int:
    """How many failed jobs a group holds, from the counts the database keeps (no scan)."""
    row = db.session.get(FailedJobGroup, (job_type, shape))
    return row.jobs if row is not None else 0


def job_detail(job_id: int, *, actor: Actor) -> JobDetail:
    require_admin(actor)
    job = required(JobRecord, job_id, "job")
    instance = db.session.get(WorkflowInstance, job.target_id) if job.target_type == "instance" else None
    return JobDetail(job, _attempts(job), instance, allowed_actions(actor, job))


def launch_job_of(instance: WorkflowInstance, *, actor: Actor) -> RowJob | None:
    """The newest launch job of an instance not in SHAR (launching, or failed before SHAR had it),
    when `actor` may read it (the instance's owner or an admin); None otherwise."""
    if instance.shar_instance_id or instance.status not in (InstanceStatus.LAUNCHING, InstanceStatus.FAILED):
        return None
    return _row_job("instance", instance.id, "launch_instance", allowed_actions(actor, instance), actor=actor)


def create_job_of(workflow: Workflow, *, actor: Actor) -> RowJob | None:
    """The newest create job of a workflow version being created or whose create failed, when
    `actor` may read it (the name's owner or an admin); None otherwise."""
    if workflow.status not in (WorkflowStatus.CREATING, WorkflowStatus.FAILED):
        return None
    return _row_job("workflow", str(workflow.id), "create_workflow", allowed_actions(actor, workflow), actor=actor)


def _row_job(
    target_type: str, target_id: str, job_type: str, row_actions: frozenset[str], *, actor: Actor
) -> RowJob | None:
    """The row's newest job of `job_type`, if the reader may see it (`row_actions`: the row's)."""
    if "see_job" not in row_actions:
        return None
    job = db.session.scalars(
        select(JobRecord)
        .where(JobRecord.target_type == target_type, JobRecord.target_id == target_id, JobRecord.job_type == job_type)
        .order_by(JobRecord.id.desc())
        .limit(1)
    ).first()
    if job is None:
        return None
    retry = {"retry"} if "retry" in row_actions and job.state == JobState.FAILED else set()
    return RowJob(job, _attempts(job), frozenset(retry) | (allowed_actions(actor, job) & {"open"}))


def _attempts(job: JobRecord) -> list[JobAttempt]:
    return list(db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id).order_by(JobAttempt.number)))


def counts_by_state(queue: str) -> dict[str, int]:
    rows = db.session.execute(
        select(JobRecord.state, func.count()).where(JobRecord.queue == queue).group_by(JobRecord.state)
    )
    return {state: count for state, count in rows}


# -- operations ------------------------------------------------------------------------


def retry_failed_job(job_id: int, *, actor: Actor) -> JobRecord:
    """Give a failed job a fresh set of attempts and queue it; audited."""
    require_admin(actor)
    _failed_job(job_id, "retried")
    return _retry(job_id, actor)


def retry_instance(instance_id: str, *, actor: Actor) -> JobRecord:
    """Retry an instance whose launch failed, as its owner or an admin: its failed launch job runs
    again (whose re-send first looks in SHAR for what an earlier request made, and adopts it)."""
    instance = find_instance(instance_id, actor)
    require_retry(actor, instance.created_by, f"instance {instance.id}")
    return _retry(failed_launch_job(instance.id, actor=actor), actor)


def retry_workflow(name: str, *, actor: Actor) -> JobRecord:
    """Retry the failed create of a workflow's newest version, as the name's owner or an admin: its
    failed create job runs again (whose re-send first asks SHAR whether it holds this BPMN)."""
    workflow = get_workflow(name, actor=actor)
    require_retry(actor, owner_id_of(workflow), f"workflow {name!r}")
    if workflow.status != WorkflowStatus.FAILED:
        raise Conflict(
            f"workflow {name!r} v{workflow.version} is {workflow.status}; only a version whose create "
            "failed can be retried"
        )
    job_id = db.session.scalar(
        select(JobRecord.id)
        .where(
            JobRecord.target_type == "workflow",
            JobRecord.target_id == str(workflow.id),
            JobRecord.job_type == "create_workflow",
            JobRecord.state == JobState.FAILED,
        )
        .order_by(JobRecord.id.desc())
        .limit(1)
    )
    if job_id is None:
        raise Conflict(
            f"workflow {name!r} v{workflow.version} has no failed create job to retry (finished jobs "
            "are pruned after their retention); upload it again"
        )
    return _retry(job_id, actor)


def _retry(job_id: int, actor: Actor) -> JobRecord:
    """The retry of one failed job, whoever may make it: audited, then queued."""
    audit(actor, "job.retry", "job", job_id, before={"state": "failed"}, after={"state": "queued"})
    return requeue_failed_job(job_id)


def failed_launch_job(instance_id: str, *, actor: Actor) -> int:
    """The failed launch job of an instance whose launch failed: what retrying the instance retries.
    Conflict for any other instance (one that failed in SHAR cannot be run again: SHAR has no retry)."""
    instance = find_instance(instance_id, actor)
    if instance.status != InstanceStatus.FAILED or instance.shar_instance_id:
        raise Conflict(
            f"instance {instance.id} is {instance.status}"
            + (" in SHAR" if instance.shar_instance_id else "")
            + "; only an instance whose launch failed can be retried"
        )
    job_id = db.session.scalar(
        select(JobRecord.id)
        .where(
            JobRecord.target_type == "instance",
            JobRecord.target_id == instance.id,
            JobRecord.job_type == "launch_instance",
            JobRecord.state == JobState.FAILED,
        )
        .order_by(JobRecord.id.desc())
        .limit(1)
    )
    if job_id is None:
        raise Conflict(
            f"instance {instance.id} has no failed launch job to retry (finished jobs are pruned after their retention)"
        )
    return job_id


def retry_failed_jobs(
    job_ids: Iterable[int], *, actor: Actor, action: str = "job.retry_many", detail: dict[str, Any] | None = None
) -> RetryReport:
    """Retry each job; those that cannot be retried are reported with the reason. One audit entry.
    RETRY_CHUNK jobs are read at once, each moved (with its row) in a commit of its own, and handed to
    their queues in one round trip a kind: no read and no Redis round trip a job."""
    require_admin(actor)
    report = RetryReport()
    ids = list(job_ids)
    for start in range(0, len(ids), RETRY_CHUNK):
        _retry_chunk(ids[start : start + RETRY_CHUNK], report)
    audit(actor, action, "job", "*", before=detail, after={"requeued": report.requeued, "skipped": report.skipped})
    db.session.commit()
    return report


def _retry_chunk(ids: list[int], report: RetryReport) -> None:
    jobs = {job.id: job for job in db.session.scalars(select(JobRecord).where(JobRecord.id.in_(ids)))}
    handed: dict[tuple[str, str], list[int]] = defaultdict(list)
    for job_id in ids:
        job = jobs.get(job_id)
        try:
            if job is None:
                raise NotFound(f"no job {job_id}")
            _must_be_failed(job, "retried")
            _requeue(job)
            commit_keeping_loaded()  # the next jobs of the chunk stay loaded
        except (NotFound, Conflict) as exc:
            db.session.rollback()  # what its row's refusal held (a lock) is let go at once
            report.skipped[job_id] = exc.message
            continue
        handed[(job.job_type, job.queue)].append(job.id)
        report.requeued.append(job_id)
    for (job_type, queue), chunk in handed.items():
        enqueue_many(job_type, queue, chunk)  # a refusal stays on the records for the reconciler


def retry_all_failed(
    *, actor: Actor, queue: str | None = None, job_type: str | None = None, limit: int = 100_000
) -> RetryReport:
    """Retry up to `limit` failed jobs (of a queue, of a job type); `remaining` says how many are left."""
    ids = [j.id for j in failed_jobs(actor=actor, queue=queue, job_type=job_type, limit=limit)]
    report = retry_failed_jobs(ids, actor=actor, action="job.retry_all", detail={"queue": queue, "job_type": job_type})
    if len(ids) == limit:
        query = select(func.count()).select_from(JobRecord).where(JobRecord.state == JobState.FAILED)
        if queue:
            query = query.where(JobRecord.queue == queue)
        if job_type:
            query = query.where(JobRecord.job_type == job_type)
        report.remaining = db.session.scalar(query) or 0
    return report


def retry_failed_group(job_type: str, shape: str, *, actor: Actor, limit: int = PAGE_RETRY_BATCH) -> RetryReport:
    """Retry the oldest `limit` failed jobs of a group; `remaining` says how many the group still holds."""
    group = failed_group(job_type, shape, actor=actor, limit=limit)
    report = retry_failed_jobs(
        group["job_ids"] if group else [],
        actor=actor,
        action="job.retry_group",
        detail={"job_type": job_type, "error_shape": shape},
    )
    report.remaining = _group_size(job_type, shape)
    return report


def delete_failed_job(job_id: int, *, actor: Actor) -> None:
    require_admin(actor)
    job = _failed_job(job_id, "deleted")
    audit(actor, "job.delete", "job", job_id, before={"job_type": job.job_type, "last_error": job.last_error})
    db.session.delete(job)
    db.session.commit()


def flush_failed_jobs(*, actor: Actor) -> int:
    """Delete every failed job record; returns how many. (`queue clear` is the same command.)"""
    require_admin(actor)
    ids = list(db.session.scalars(select(JobRecord.id).where(JobRecord.state == JobState.FAILED)))
    audit(actor, "job.flush", "job", "*", after={"deleted": len(ids)})
    if ids:
        db.session.execute(delete(JobAttempt).where(JobAttempt.job_id.in_(ids)))
        db.session.execute(delete(JobRecord).where(JobRecord.id.in_(ids)))
    db.session.commit()
    return len(ids)


# -- machinery shared with other services ------------------------------------------------


def requeue_failed_job(job_id: int) -> JobRecord:
    """Move a failed job (and its row: failed -> creating ...) back to queued; commits what the
    caller added to the session with it, then hands it to the queue."""
    job = _failed_job(job_id, "retried")
    try:
        _requeue(job)
    except Conflict:
        db.session.rollback()  # its row refused (a completion already open): let go of the row at once
        raise
    db.session.commit()
    enqueue(job)
    return job


def _requeue(job: JobRecord) -> None:
    """Move the failed `job` (and its row, by its spec's on_retry) back to queued, uncommitted;
    Conflict when its row refuses."""
    spec = spec_for(job.job_type)
    if spec.on_retry is not None:
        spec.on_retry(job)
    move_job(
        job,
        JobState.QUEUED,
        finished_at=None,
        next_attempt_at=None,
        max_attempts=job.attempts + spec.attempts(current_settings()),
    )


def prune_finished(days: int) -> int:
    """Delete succeeded, cancelled and failed job records older than `days` (the retention)."""
    cutoff = utcnow() - timedelta(days=days)
    ids = list(
        db.session.scalars(
            select(JobRecord.id).where(JobRecord.state.in_(FINISHED_JOB_STATES), JobRecord.finished_at < cutoff)
        )
    )
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        db.session.execute(delete(JobAttempt).where(JobAttempt.job_id.in_(chunk)))
        db.session.execute(delete(JobRecord).where(JobRecord.id.in_(chunk)))
    db.session.commit()
    return len(ids)


def _failed_job(job_id: int, action: str) -> JobRecord:
    job = required(JobRecord, job_id, "job")
    _must_be_failed(job, action)
    return job


def _must_be_failed(job: JobRecord, action: str) -> None:
    if job.state != JobState.FAILED:
        raise Conflict(f"job {job.id} is {job.state}; only failed jobs can be {action}")
