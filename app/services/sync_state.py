"""Applying what SHAR says of one instance: a status change (committed at once, its events fired
once), or progress (variables, activities, the time of the sync), written at once or, in a sync
batch, together with the batch's other instances (BatchProgress)."""

from __future__ import annotations

import time
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm.attributes import set_committed_value

from app.core.extensions import commit_keeping_loaded, db
from app.core.text import altered_paths, clip
from app.jobs.attempt_ends import RETRYABLE
from app.lifecycle.changes import change_status, counts_changed, record_activity
from app.lifecycle.durations import parse_shar_time
from app.lifecycle.events import fire, instance_completed, instance_failed, instance_synced
from app.lifecycle.states import InstanceStatus
from app.models import ActivityEvent, WorkflowInstance
from app.models._base import utcnow
from app.services import story
from app.services.correlation import untagged
from app.services.variable_sizes import kept_of
from app.shar import SharInstance, current_client

# How long a batch's progress may wait to be written: what the pages show lags SHAR by at most this.
WRITE_EVERY = 2.0


class BatchProgress:
    """Progress read for a sync batch's instances, written in one transaction (an executemany per
    set of changed columns) instead of an UPDATE and a commit per instance, which cost a fifth of
    each sync at SHAR's 20 ms. An unchanged instance writes only its last_synced_at. instance_synced
    fires for each once its write is committed; a write the database refuses is retried alone, so it
    fails that instance only. A row's timeline notes (where it moved) go with its write, in the
    batch's transaction or, when the batch is refused, in its own."""

    def __init__(self) -> None:
        self.rows: list[tuple[WorkflowInstance, str, dict[str, Any]]] = []
        self.notes: dict[str, list[Any]] = {}
        self.since = 0.0

    def add(self, instance: WorkflowInstance, values: dict[str, Any], notes: list[Any]) -> None:
        if not self.rows:
            self.since = time.monotonic()
        self.rows.append((instance, instance.id, values))
        if notes:
            self.notes[instance.id] = notes

    def due(self) -> bool:
        return bool(self.rows) and time.monotonic() - self.since >= WRITE_EVERY

    def write(self) -> list[tuple[WorkflowInstance, Exception]]:
        """Write and commit what was added; the instances whose write the database refused, with why
        (their writes rolled back, nothing fired). Retryable errors (the database gone) propagate:
        the batch's next attempt reads again whatever was not written."""
        rows, self.rows = self.rows, []
        notes, self.notes = self.notes, {}
        if not rows:
            return []
        try:
            written = _write_progress(rows)
            commit_keeping_loaded()  # instance_synced names each row: no reload
        except RETRYABLE:
            db.session.rollback()
            raise
        except Exception:  # noqa: BLE001 - one refused row: each alone, so it fails by itself
            db.session.rollback()  # the notes added with the batch are gone with it: each row adds its own
            return self._one_by_one(rows, notes)
        _settle(rows, all_written=written == len(rows))
        return []

    def _one_by_one(self, rows: list[tuple[WorkflowInstance, str, dict[str, Any]]], notes: dict) -> list[Any]:
        refused: list[tuple[WorkflowInstance, Exception]] = []
        for row in rows:
            try:
                db.session.add_all(notes.get(row[1], ()))
                written = _write_progress([row])
                commit_keeping_loaded()
            except RETRYABLE:
                db.session.rollback()
                raise
            except Exception as exc:  # noqa: BLE001 - this instance's write alone
                db.session.rollback()
                refused.append((row[0], exc))
            else:
                _settle([row], all_written=written == 1)
        return refused


def _write_progress(rows: list[tuple[WorkflowInstance, str, dict[str, Any]]]) -> int:
    """UPDATE each row (only while still running: a racing sync may have ended it meanwhile), one
    executemany per set of columns; how many rows were written."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for _, instance_id, values in rows:
        params = {f"v_{name}": value for name, value in values.items()}
        groups.setdefault(tuple(sorted(values)), []).append({"v_id": instance_id, **params})
    written = sum(db.session.execute(_progress_update(names), params).rowcount for names, params in groups.items())
    # Moved to other activities: the diagram counts' version of their workflows moves in this transaction.
    counts_changed(*(instance.workflow_id for instance, _, values in rows if "current_activities" in values))
    return written


@cache
def _progress_update(names: tuple[str, ...]) -> Any:
    """The UPDATE of these columns (built once per set: building costs more than running it)."""
    table = WorkflowInstance.__table__
    values: dict[str, Any] = {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in names}
    if "updated_at" not in values:  # only the sync's time moved: the row did not change
        values["updated_at"] = table.c.updated_at
    return (
        table.update().where(table.c.id == bindparam("v_id"), table.c.status == InstanceStatus.RUNNING).values(values)
    )


def _settle(rows: list[tuple[WorkflowInstance, str, dict[str, Any]]], *, all_written: bool) -> None:
    """After the commit: the loaded rows hold what was written (without reading them back, unless a
    racing change made some write miss), and instance_synced fires once for each."""
    for instance, _, values in rows:
        fire(instance_synced, instance, previous_status=InstanceStatus.RUNNING, new_status=instance.status)
        if all_written:
            for name, value in values.items():
                set_committed_value(instance, name, value)
        else:
            db.session.expire(instance)


def apply_shar_state(
    instance: WorkflowInstance, *, callback_url: str | None = None, batch: BatchProgress | None = None
) -> str:
    """Read the instance from SHAR and apply what changed; returns the new status. With `batch`,
    progress is added to it rather than written (a timeline note is written at once, with it)."""
    previous = instance.status
    if previous != InstanceStatus.RUNNING or not instance.shar_instance_id:
        fire(instance_synced, instance, previous_status=previous, new_status=previous, callback_url=callback_url)
        return previous
    remote = current_client().get_instance(instance.shar_instance_id)
    now = utcnow()
    activities = (
        list(remote.current_activities)
        if remote.current_activities is not None
        else list(instance.current_activities or ())
    )
    variables = kept_of(instance, untagged(remote.variables))  # never more than the limit is stored or read
    _note_kept_in_another_form(instance, remote, variables)
    shar_created_at = instance.shar_created_at or parse_shar_time(remote.created_at)
    if remote.status in ("completed", "failed"):
        _ended_in_shar(instance, remote, variables, activities, now, shar_created_at)
    else:
        values = _progress(instance, variables, activities, now, shar_created_at)
        if "current_activities" in values:  # moved: where to, for its diagram (written with the move)
            story.note_path(instance, activities, remote.completed_activities)
        if batch is not None:
            notes = [n for n in db.session.new if isinstance(n, ActivityEvent) and n.target_id == str(instance.id)]
            batch.add(instance, values, notes)
            return instance.status  # instance_synced fires when the batch's write is committed
        _record_progress(instance, values)
    fire(instance_synced, instance, previous_status=previous, new_status=instance.status, callback_url=callback_url)
    return instance.status


def _ended_in_shar(
    instance: WorkflowInstance,
    remote: SharInstance,
    variables: dict,
    activities: list[str],
    now: datetime,
    shar_created_at: datetime | None,
) -> None:
    """SHAR says the instance ended: end it here with what SHAR sent; its event fires once (only the
    winner of a race moves the row)."""
    story.note_path(instance, (), remote.completed_activities)
    values: dict[str, Any] = {
        "variables": variables,
        "last_synced_at": now,
        "completed_at": now,
        "shar_created_at": shar_created_at,
        "shar_completed_at": parse_shar_time(remote.completed_at),
    }
    if remote.status == "completed":
        if change_status(instance, InstanceStatus.COMPLETED, **values):
            fire(instance_completed, instance)
        return
    error = remote.error or "SHAR reports the instance failed"
    # Where it failed: where SHAR says a failed instance stands (failed_activities, an extension: what a
    # move may start from), else the activities it names, else (SHAR may clear them when an instance
    # fails) the ones it was last seen at, so the diagram can count the failure there.
    where = list(remote.failed_activities or ()) or activities or list(instance.current_activities or ())
    if change_status(instance, InstanceStatus.FAILED, error=error, current_activities=where, **values):
        fire(instance_failed, instance, error_message=error)


def _note_kept_in_another_form(instance: WorkflowInstance, remote: SharInstance, variables: dict) -> None:
    """Say on the timeline (with the write that stores them) which variables SHAR sent in a form no
    database stores, kept as storable() made them; once a change, not at every sync that reads
    them again."""
    sent = remote.raw.get("variables")
    altered = altered_paths(untagged(sent)) if isinstance(sent, dict) else []
    if altered and variables != instance.variables:
        paths = ", ".join(altered)
        record_activity(
            instance,
            "variables_kept_as_text",
            clip(
                f"SHAR sent variables no database stores as they are, kept as text (a number "
                f'past what JSON holds as "Infinity", "-Infinity" or "NaN", a NUL as U+FFFD): '
                f"{paths}"
            ),
            paths=altered[:100],
        )


def _progress(
    instance: WorkflowInstance, variables: dict, activities: list[str], now: datetime, shar_created_at: datetime | None
) -> dict[str, Any]:
    """The columns a sync that found the instance running writes: the time of the sync, and what changed."""
    values: dict[str, Any] = {"last_synced_at": now}
    if (variables or instance.variables) != instance.variables:
        values["variables"] = variables
    if activities != list(instance.current_activities or ()):
        values["current_activities"] = activities
        values["progressed_at"] = now
    if shar_created_at != instance.shar_created_at:
        values["shar_created_at"] = shar_created_at
    if len(values) > 1:
        values["updated_at"] = now
    return values


def _record_progress(instance: WorkflowInstance, values: dict[str, Any]) -> None:
    """Write one instance's progress now (a sync of one instance, or one with a timeline note)."""
    written = _write_progress([(instance, instance.id, values)])
    commit_keeping_loaded()
    if written == 1:  # what was written is what the row holds: no read back
        for name, value in values.items():
            set_committed_value(instance, name, value)
    else:
        db.session.refresh(instance)
