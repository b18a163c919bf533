"""Trends: instances started, completed and failed per interval, duration percentiles per version,
and the queues over time (sampled by the scheduler), for the last 24 hours or 7 days.

Each series is one grouped query over an indexed time column (`created_at`, `completed_at`,
`sampled_at`) limited to the window, so its cost follows the window's rows, not the table's.
Visibility is the instance list's: a user's trends count their own instances.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from app.core.config import current_settings
from app.core.extensions import db
from app.lifecycle.states import OPEN_JOB_STATES, InstanceStatus, JobState
from app.models import QueueSample, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services.access import instance_owner_filter, sees_queues
from app.services.actors import Actor
from app.services.monitoring import job_counts

WINDOWS = {"24h": (timedelta(hours=24), timedelta(hours=1)), "7d": (timedelta(days=7), timedelta(days=1))}
SAMPLE_KEEP = timedelta(days=8)
FRESH_FOR = {"24h": 15.0, "7d": 60.0}  # seconds a computed trend is shown before it is read again
MAX_CACHED = 256
_cache: dict[tuple[str, str, int | None, str | None], tuple[float, Trends]] = {}
_cache_lock = threading.Lock()
MAX_PERCENTILE_VERSIONS = 10
PERCENTILE_SAMPLE = 10_000


@dataclass(frozen=True)
class Bucket:
    start: datetime
    values: dict[str, float]


@dataclass(frozen=True)
class Trends:
    window: str
    step: timedelta
    instances: list[Bucket]  # started, completed, failed per interval
    durations: list[dict[str, Any]]  # {name, version, count, p50, p95} per version
    queues: dict[str, list[Bucket]] = field(default_factory=dict)  # queue -> open, failed per interval
    percentile_sample: int = 0  # durations are read from at most this many newest completions
    as_of: datetime | None = None  # when these were counted: a cached trend is shown for FRESH_FOR

    @property
    def fresh_for(self) -> int:
        """Seconds a trend is shown before it is counted again."""
        return int(FRESH_FOR[self.window])


def trends(window: str, *, actor: Actor, workflow_name: str | None = None) -> Trends:
    """The trends of `window` ("24h" or "7d"), of one workflow name or of everything `actor` sees.

    Read at most once per FRESH_FOR of the window per process and scope: a week's trend is the
    same a minute later, and every viewer of the overview would otherwise scan the week again."""
    if window not in WINDOWS:
        window = "24h"
    owner = instance_owner_filter(actor)
    with_queues = sees_queues(actor) and workflow_name is None  # a workflow's trends have no queues
    key = (str(db.engine.url), window, owner, workflow_name, with_queues)
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
    result = _read_trends(window, owner, workflow_name, with_queues)
    with _cache_lock:
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        _cache[key] = (now + FRESH_FOR[window], result)
    return result


def _read_trends(window: str, owner: int | None, workflow_name: str | None, with_queues: bool) -> Trends:
    span, step = WINDOWS[window]
    now = utcnow()
    starts = _bucket_starts(now - span, now, step)
    since = starts[0]
    workflow_ids = _workflow_ids(workflow_name) if workflow_name else None

    def scoped(query: Any) -> Any:
        if owner is not None:
            query = query.where(WorkflowInstance.created_by == owner)
        if workflow_ids is not None:
            query = query.where(WorkflowInstance.workflow_id.in_(workflow_ids))
        return query

    counts: dict[datetime, dict[str, float]] = {s: {"started": 0, "completed": 0, "failed": 0} for s in starts}
    created = _bucket(WorkflowInstance.created_at, step)
    started = db.session.execute(
        scoped(select(created, func.count()).where(WorkflowInstance.created_at >= since).group_by(created))
    ).all()
    for key, n in started:
        _add(counts, _parse(key), "started", n)
    completed = _bucket(WorkflowInstance.completed_at, step)
    ended = db.session.execute(
        scoped(
            select(completed, WorkflowInstance.status, func.count())
            .where(
                WorkflowInstance.completed_at >= since,
                WorkflowInstance.status.in_((InstanceStatus.COMPLETED, InstanceStatus.FAILED)),
            )
            .group_by(completed, WorkflowInstance.status)
        )
    ).all()
    for key, status, n in ended:
        _add(counts, _parse(key), str(status), n)
    durations = _durations(scoped, since)
    queues = _queue_series(starts, step) if with_queues else {}
    return Trends(window, step, [Bucket(s, counts[s]) for s in starts], durations, queues, PERCENTILE_SAMPLE, now)


def sample_queues() -> int:
    """Record each queue's open and failed jobs now (the scheduler, every minute); forget old samples."""
    now = utcnow()
    per_queue: dict[str, dict[str, int]] = {q: {"open": 0, "failed": 0} for q in current_settings().queue_names}
    for row in job_counts((*OPEN_JOB_STATES, JobState.FAILED)):
        entry = per_queue.setdefault(row.queue, {"open": 0, "failed": 0})
        entry["failed" if row.state == JobState.FAILED else "open"] += row.count
    db.session.add_all(
        QueueSample(sampled_at=now, queue=q, open_jobs=v["open"], failed_jobs=v["failed"]) for q, v in per_queue.items()
    )
    db.session.execute(delete(QueueSample).where(QueueSample.sampled_at < now - SAMPLE_KEEP))
    db.session.commit()
    return len(per_queue)


# -- helpers ---------------------------------------------------------------------------


def _workflow_ids(name: str) -> list[int]:
    return list(db.session.scalars(select(Workflow.id).where(Workflow.name == name)))


def _bucket(column: Any, step: timedelta) -> Any:
    """The start of `column`'s interval, in SQL: an hour or a day."""
    unit = "hour" if step == timedelta(hours=1) else "day"
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, column)
    return func.strftime("%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00", column)


def _bucket_starts(since: datetime, now: datetime, step: timedelta) -> list[datetime]:
    if step == timedelta(hours=1):
        last = now.replace(minute=0, second=0, microsecond=0)
    else:
        last = now.replace(hour=0, minute=0, second=0, microsecond=0)
    count = round((now - since) / step)
    return [last - step * i for i in range(count - 1, -1, -1)]


def _parse(key: Any) -> datetime:
    value = key if isinstance(key, datetime) else datetime.fromisoformat(str(key))
    return value.replace(tzinfo=None)


def _add(counts: dict[datetime, dict[str, float]], start: datetime, name: str, n: int) -> None:
    if start in counts:
        counts[start][name] += n


def _durations(scoped: Any, since: datetime) -> list[dict[str, Any]]:
    """p50 and p95 of durations per version (the busiest versions), over the newest
    PERCENTILE_SAMPLE completions of the window: read by the completed_at index, so a week of
    200,000 instances costs what a quiet day does."""
    newest = scoped(
        select(WorkflowInstance.workflow_id, WorkflowInstance.duration_seconds)
        .where(
            WorkflowInstance.completed_at >= since,
            WorkflowInstance.status == InstanceStatus.COMPLETED,
            WorkflowInstance.duration_seconds.is_not(None),
        )
        .order_by(WorkflowInstance.completed_at.desc())
        .limit(PERCENTILE_SAMPLE)
    ).subquery()
    grouped: dict[int, list[float]] = {}
    for workflow_id, seconds in db.session.execute(select(newest.c.workflow_id, newest.c.duration_seconds)):
        grouped.setdefault(workflow_id, []).append(seconds)
    busiest = sorted(grouped.items(), key=lambda item: -len(item[1]))[:MAX_PERCENTILE_VERSIONS]
    versions = {w.id: w for w in db.session.scalars(select(Workflow).where(Workflow.id.in_([i for i, _ in busiest])))}
    return [
        {
            "name": versions[i].name,
            "version": versions[i].version,
            "count": len(values),
            "p50": _percentile(values, 50),
            "p95": _percentile(values, 95),
        }
        for i, values in busiest
    ]


def _percentile(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _queue_series(starts: list[datetime], step: timedelta) -> dict[str, list[Bucket]]:
    """Per queue, the highest open and failed counts sampled in each interval (none where nothing was sampled)."""
    sampled = _bucket(QueueSample.sampled_at, step)
    rows = db.session.execute(
        select(sampled, QueueSample.queue, func.max(QueueSample.open_jobs), func.max(QueueSample.failed_jobs))
        .where(QueueSample.sampled_at >= starts[0])
        .group_by(sampled, QueueSample.queue)
    ).all()
    found: dict[str, dict[datetime, dict[str, float]]] = {}
    for key, queue, open_jobs, failed in rows:
        found.setdefault(queue, {})[_parse(key)] = {"open": open_jobs, "failed": failed}
    # An interval without a sample (the scheduler was not running) has no values: not zero jobs.
    return {queue: [Bucket(s, by_start.get(s, {})) for s in starts] for queue, by_start in sorted(found.items())}
