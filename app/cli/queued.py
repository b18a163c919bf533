"""After a command queued a job: say when it is stored but not queued, and wait for its row."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from app.cli.output import emit_json, fail
from app.core.serializers import job_dict

Row = TypeVar("Row")


def follow(
    job: object,
    row: Row,
    what: str,
    *,
    wait: bool,
    timeout: float,
    busy: Callable[[Row], bool],
    again: Callable[[Row], Row],
) -> Row:
    """After an operation that queued `job`: say when the job is stored but not queued (and then do
    not wait); with `wait`, read `row` `again` until it is no longer `busy` or `timeout` has passed."""
    if warn_if_not_queued(job) and wait:
        fail(f"{what} is stored but the queue is unavailable; not waiting")
    deadline = time.monotonic() + timeout
    while wait and busy(row) and time.monotonic() < deadline:
        time.sleep(0.5)
        row = again(row)
    return row


def warn_if_not_queued(job: object) -> bool:
    """Say on stderr when the operation's job is stored but the queue refused it."""
    error = getattr(job, "enqueue_error", None)
    if not error:
        return False
    click.echo(
        f"warning: job {getattr(job, 'id', '?')} is stored but not queued ({error}); "
        "it is queued when the queue is back",
        err=True,
    )
    return True


def show_queued(job: Any, fmt: str, text: str) -> None:
    """The answer of a command that queued one job: the job as JSON, or `text` naming it; then the
    warning when it is stored but not queued."""
    emit_json(job_dict(job)) if fmt == "json" else click.echo(f"{text} (job {job.id})")
    warn_if_not_queued(job)
