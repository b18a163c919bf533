"""Exports: an instance's whole history as one JSON document, and any filtered instance list as CSV,
streamed. Every door (page, API, CLI) calls these; what is left out for whom is decided here.

    instance_history  the instance, its timeline, its jobs with their attempts and the audit entries
                      about it; jobs and audit entries only for whoever may read its jobs (its owner
                      or an admin, access.may_read_jobs_of), tracebacks only for admins
    list_csv          the CSV of a filtered list, checked first (a bad filter is refused before any
                      byte is sent), then read through a server-side cursor in batches (PostgreSQL:
                      stream_results), so 200,000 rows take the memory of one batch

A cell that a spreadsheet would read as a formula (starting with = + - @, a tab or a carriage
return) is written with a leading apostrophe; numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select

from app.core.extensions import db, dialect_name
from app.core.serializers import instance_dict
from app.models import ActivityEvent, AuditEntry, JobAttempt, JobRecord, Workflow, WorkflowInstance
from app.models._base import iso, utcnow
from app.services import variable_filters
from app.services.access import find_instance, may_read_jobs_of
from app.services.actors import Actor
from app.services.instance_listing import InstanceFilter, filtered_instances, sort_order

BATCH = 1000  # rows fetched from the cursor at a time, and written out together
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "id",
    "workflow",
    "version",
    "status",
    "current_activities",
    "created_at",
    "launched_at",
    "completed_at",
    "duration_seconds",
    "error",
)


# -- one instance's history ---------------------------------------------------------------


def instance_history(instance_id: str, *, actor: Actor) -> dict[str, Any]:
    """Everything kept about one instance that `actor` may read; NotFound as find_instance."""
    instance = find_instance(instance_id, actor)
    private = may_read_jobs_of(actor, instance.created_by)
    return {
        "exported_at": iso(utcnow()),
        "instance": instance_dict(instance),
        "timeline": [_event(e) for e in _of_instance(ActivityEvent, instance.id)],
        "jobs": [_job(j, tracebacks=actor.is_admin) for j in _of_instance(JobRecord, instance.id)] if private else [],
        "audit": [_audit(a) for a in _of_instance(AuditEntry, instance.id)] if private else [],
        # What this reader is not shown, so an empty list is never mistaken for "none happened".
        "withheld": [] if private else ["jobs", "audit"],
    }


def _of_instance(model: Any, instance_id: str) -> list[Any]:
    order = model.created_at if model is not JobRecord else model.id
    return list(
        db.session.scalars(
            select(model)
            .where(model.target_type == "instance", model.target_id == instance_id)
            .order_by(order, model.id)
        )
    )


def _event(event: ActivityEvent) -> dict[str, Any]:
    return {"at": iso(event.created_at), "kind": event.kind, "message": event.message, "data": event.data}


def _job(job: JobRecord, *, tracebacks: bool) -> dict[str, Any]:
    return {
        "id": job.id,
        "job_type": job.job_type,
        "state": job.state,
        "attempts": [_attempt(a, tracebacks) for a in job.attempt_rows],
        "last_error": job.last_error,
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at),
    }


def _attempt(attempt: JobAttempt, traceback: bool) -> dict[str, Any]:
    data = {
        "number": attempt.number,
        "outcome": attempt.outcome,
        "started_at": iso(attempt.started_at),
        "ended_at": iso(attempt.ended_at),
        "waited_seconds": attempt.waited_seconds,
        "error": attempt.error,
    }
    return {**data, "traceback": attempt.traceback} if traceback else data


def _audit(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": iso(entry.created_at),
        "actor": entry.actor_name,
        "action": entry.action,
        "before": entry.before,
        "after": entry.after,
    }


# -- a filtered list as CSV ----------------------------------------------------------------


def list_csv(
    filters: InstanceFilter, *, actor: Actor, columns: str | Sequence[str] = (), sort: str | None = None
) -> Iterator[str]:
    """The CSV text of the instances `filters` selects of those `actor` may see, in chunks; the
    filter, columns and sort are checked now (InvalidInput), the rows read as the chunks are taken."""
    names = variable_filters.columns(columns if isinstance(columns, str) else " ".join(columns))
    statement = (
        filtered_instances(actor, filters)
        .with_only_columns(
            WorkflowInstance.id,
            WorkflowInstance.workflow_id,
            WorkflowInstance.status,
            WorkflowInstance.current_activities,
            WorkflowInstance.created_at,
            WorkflowInstance.launched_at,
            WorkflowInstance.completed_at,
            WorkflowInstance.duration_seconds,
            WorkflowInstance.error,
            # Only the chosen variables, not whole documents.
            *(variable_filters.value(WorkflowInstance.variables, name, dialect_name()) for name in names),
        )
        .order_by(*sort_order(sort))
        .execution_options(yield_per=BATCH)
    )
    return _chunks(statement, names)


def _chunks(statement: Any, names: tuple[str, ...]) -> Iterator[str]:
    # Read once, before the cursor opens: a deployment has few workflow versions.
    workflows = {
        row.id: (row.name, row.version)
        for row in db.session.execute(select(Workflow.id, Workflow.name, Workflow.version))
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*CSV_COLUMNS, *(f"var:{n}" for n in names)])
    for partition in db.session.execute(statement).partitions():
        for row in partition:
            name, version = workflows.get(row[1], ("", ""))
            writer.writerow(
                csv_cell(value)
                for value in (
                    row[0],
                    name,
                    version,
                    row[2],
                    " ".join(row[3] or ()),
                    iso(row[4]),
                    iso(row[5]),
                    iso(row[6]),
                    row[7],
                    row[8],
                    *row[9:],
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def csv_cell(value: Any) -> str:
    """One cell: numbers as numbers; text, and JSON for anything else, with a formula's start defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
