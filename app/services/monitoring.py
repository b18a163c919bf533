"""What operators watch: the overview, queues and consumers, stuck instances."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.core.config import current_settings
from app.core.extensions import db
from app.jobs.queues import current_queues
from app.lifecycle.states import OPEN_JOB_STATES, UNDER_WAY_INSTANCE, InstanceStatus, JobState, WorkflowStatus
from app.models import (
    ActivityEvent,
    ConsumerHeartbeat,
    JobRecord,
    Lease,
    WorkflowInstance,
)
from app.models._base import utcnow
from app.services.access import allowed_actions, instance_owner_filter, require_admin, sees_queues, visible_instances
from app.services.actors import Actor
from app.services.failed_jobs import counts_by_state
from app.services.health.heartbeats import beating, last_beat
from app.services.health.shar import StoredHealth, stored_health
from app.services.instances import waits_for
from app.services.sync import last_periodic_sync
from app.services.workflows import latest_versions


@dataclass(frozen=True)
class Overview:
    # (status, how many), every status in the order of its flow, none counted shown as 0
    workflow_counts: list[tuple[str, int]]
    instance_counts: list[tuple[str, int]]
    health: StoredHealth | None
    backlog: dict[str, int]  # empty, with no failed jobs, where the actor may not see the queues (access.sees_queues)
    failed_jobs: int
    stuck: list[WorkflowInstance]
    recent: list[ActivityEvent]


@dataclass(frozen=True)
class Waiting:
    """An unchanged instance that waits for a person or a message, and what it waits for."""

    instance: WorkflowInstance
    waits_for: list[str]


@dataclass(frozen=True)
class Unchanged:
    """Instances unchanged for a while: stuck (nothing to wait for) or waiting (not stuck)."""

    stuck: list[WorkflowInstance]
    waiting: list[Waiting]
    actions: dict[str, frozenset[str]] = field(default_factory=dict)  # by instance id: access.allowed_actions


@dataclass(frozen=True)
class QueueRow:
    name: str
    broker: dict[str, Any]  # pending and scheduled in Huey's storage, or the error reading it
    jobs: dict[str, int]  # job records by state
    consumer: ConsumerHeartbeat | None

    @property
    def consumer_alive(self) -> bool:
        return beating(self.consumer)

    @property
    def open_counts(self) -> tuple[int, int, int]:
        """The page's Running, Retrying and Held columns, in that order."""
        return tuple(self.jobs.get(state, 0) for state in (JobState.RUNNING, JobState.RETRYING, JobState.HELD))  # type: ignore[return-value]

    @property
    def failed(self) -> int:
        return self.jobs.get(JobState.FAILED, 0)

    @property
    def consumer_badge(self) -> tuple[str, str]:
        """The badge the queues page shows for its consumer: its class and its words."""
        return ("active", "alive") if self.consumer_alive else ("failed", "no consumer")


@dataclass(frozen=True)
class QueuesPage:
    rows: list[QueueRow]
    last_sync: Lease | None
    health: StoredHealth | None


@dataclass(frozen=True)
class JobCount:
    queue: str
    state: str
    count: int
    oldest_created_at: datetime


def job_counts(states: Iterable[str]) -> list[JobCount]:
    """Job records in `states` per queue and state, with the oldest one's creation: one grouped query
    (the overview's backlog, the scheduler's queue samples and the metrics scrape all read it)."""
    rows = db.session.execute(
        select(JobRecord.queue, JobRecord.state, func.count(), func.min(JobRecord.created_at))
        .where(JobRecord.state.in_(tuple(states)))
        .group_by(JobRecord.queue, JobRecord.state)
    )
    return [JobCount(queue, str(state), count, oldest) for queue, state, count, oldest in rows]


def overview(*, actor: Actor) -> Overview:
    """The dashboard's first page, scoped to what `actor` may see."""
    owner = instance_owner_filter(actor)
    backlog, failed = _backlog() if sees_queues(actor) else ({}, 0)
    stuck = _stuck_query(current_settings().stuck_minutes)
    if owner is not None:
        stuck = stuck.where(WorkflowInstance.created_by == owner)
    return Overview(
        _every_status(WorkflowStatus, workflow_counts()),
        _every_status(InstanceStatus, instance_counts(owner)),
        stored_health(),
        backlog,
        failed,
        list(db.session.scalars(stuck.limit(10))),
        _recent_activity(actor),
    )


def _backlog() -> tuple[dict[str, int], int]:
    """Open jobs per queue, and failed jobs in all."""
    backlog: dict[str, int] = {}
    failed = 0
    for row in job_counts((*OPEN_JOB_STATES, JobState.FAILED)):
        if row.state == JobState.FAILED:
            failed += row.count
        else:
            backlog[row.queue] = backlog.get(row.queue, 0) + row.count
    return backlog, failed


def queues_page(*, actor: Actor) -> QueuesPage:
    require_admin(actor)
    return QueuesPage(queue_rows(actor=actor), last_periodic_sync(), stored_health())


def queue_rows(*, actor: Actor) -> list[QueueRow]:
    """Per queue: the broker's counts (or why it cannot be read), job records by state, consumer."""
    require_admin(actor)
    rows = []
    for name in current_settings().queue_names:
        try:
            broker: dict[str, Any] = current_queues().counts(name)
        except Exception as exc:  # noqa: BLE001  (a dead Redis is reported in the row, not a crash)
            broker = {"error": f"{exc.__class__.__name__}: {exc}"}
        rows.append(QueueRow(name, broker, counts_by_state(name), last_beat(name)))
    return rows


def stuck_instances(*, actor: Actor, minutes: int | None = None, limit: int = 500) -> Unchanged:
    """Launching or running instances unchanged for `minutes` (admins), split: those waiting for a
    person or a message are not stuck (their wait is the work), the others are."""
    require_admin(actor)
    query = _stuck_query(minutes or current_settings().stuck_minutes).options(selectinload(WorkflowInstance.workflow))
    unchanged = Unchanged([], [])
    for instance in db.session.scalars(query.limit(limit)):
        unchanged.actions[instance.id] = allowed_actions(actor, instance)
        waits = waits_for(instance)
        if waits:
            unchanged.waiting.append(Waiting(instance, waits))
        else:
            unchanged.stuck.append(instance)
    return unchanged


def _every_status(statuses: type[StrEnum], counts: dict[str, int]) -> list[tuple[str, int]]:
    return [(str(status), counts.get(status, 0)) for status in statuses]


def instance_counts(created_by: int | None = None) -> dict[str, int]:
    query = select(WorkflowInstance.status, func.count()).group_by(WorkflowInstance.status)
    if created_by is not None:
        query = query.where(WorkflowInstance.created_by == created_by)
    return {status: count for status, count in db.session.execute(query)}


def workflow_counts() -> dict[str, int]:
    latest = latest_versions().subquery()
    rows = db.session.execute(select(latest.c.status, func.count()).group_by(latest.c.status))
    return {status: count for status, count in rows}


def _stuck_query(minutes: int):  # type: ignore[no-untyped-def]
    cutoff = utcnow() - timedelta(minutes=minutes)
    return (
        select(WorkflowInstance)
        .where(WorkflowInstance.status.in_(UNDER_WAY_INSTANCE), WorkflowInstance.progressed_at < cutoff)
        .order_by(WorkflowInstance.progressed_at.asc())
    )


def _recent_activity(actor: Actor) -> list[ActivityEvent]:
    query = select(ActivityEvent).order_by(ActivityEvent.id.desc()).limit(15)
    if instance_owner_filter(actor) is not None:
        mine = visible_instances(actor).with_only_columns(WorkflowInstance.id)
        query = query.where(ActivityEvent.target_type == "instance", ActivityEvent.target_id.in_(mine))
    return list(db.session.scalars(query))
