"""What the admin actions flash: a service's refusal, and a job queued (or stored but not queued)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import flash

from app.core.errors import SharboardError


@dataclass
class Refusal:
    """Whether the block was refused: true, with the service's message, when it was."""

    message: str | None = None

    def __bool__(self) -> bool:
        return self.message is not None


@contextmanager
def refusal_flashed(*kinds: type[SharboardError]) -> Iterator[Refusal]:
    """Run the block; when the service refuses it with one of `kinds`, flash its message as an error
    and go on after the block (the rest of the block, its success flash with it, is skipped).

    A view names only the refusals its form can cause; any other error keeps its own answer (an
    unknown id stays a 404 page)."""
    refusal = Refusal()
    try:
        yield refusal
    except kinds as exc:
        refusal.message = exc.message
        flash(exc.message, "error")


def flash_queued(job: Any, message: str) -> None:
    """Flash `message` (that `job` was queued); as an error, saying why, when the job is stored but the
    queue refused it."""
    error = job.enqueue_error
    flash(message + (f" (not yet handed to the queue: {error})" if error else ""), "error" if error else "success")
