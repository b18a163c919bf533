"""What each kind of job is: its queue, attempts, waits, time limit, and the code it runs.

The numbers for SHAR jobs are the seed's. A handler receives the JobRecord; it raises
to fail the attempt. What it leaves uncommitted is committed with the job's success, and what it
returns (a callable: the events of a status change) runs after that commit, so a job that changes a
status costs one transaction after its claim, not three. `on_failure` runs once, when the last
attempt has failed. The specs themselves are declared in app.tasks, and installed on the app by create_app: this
package never imports the services whose work it runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from app.core.config import Settings
    from app.models import JobRecord

AfterCommit = Callable[[], None]
Handler = Callable[["JobRecord"], AfterCommit | None]
RetryHandler = Callable[["JobRecord"], None]
FailureHandler = Callable[["JobRecord", BaseException], None]


@dataclass(frozen=True)
class Together:
    """How a kind of job runs several claimed jobs at once (app.jobs.together): `read` loads what
    their calls need in one go (by job id; a job left out runs alone, through the spec's handler),
    `call` makes one job's SHAR call and writes nothing, `apply` writes its answer uncommitted and
    returns what to run after the commit. The answers of all are committed in one transaction."""

    read: Callable[[Sequence[JobRecord]], dict[int, Any]]
    call: Callable[[Any], Any]
    apply: Callable[[Any, Any], AfterCommit | None]
    # A sort key of what `read` gives, so that two workers writing answers lock shared rows in one
    # order (None: in the order claimed).
    order: Callable[[Any], Any] | None = None
    most: int = 16


@dataclass(frozen=True)
class JobSpec:
    job_type: str
    queue_setting: str  # the Settings field naming its queue
    max_attempts: int
    # Seconds to wait before attempt 2, 3, ... (the last entry repeats).
    waits: tuple[float, ...]
    timeout: int
    handler: Handler
    on_failure: FailureHandler | None = None
    jitter: bool = False
    # Runs when an admin retries a failed job: moves its row back (failed -> creating ...).
    on_retry: RetryHandler | None = None
    # A Settings field that overrides max_attempts (the operator's SHARBOARD_WEBHOOK_MAX_ATTEMPTS).
    attempts_setting: str | None = None
    # What the job delivers to someone outside (webhook, email): its attempts are counted as deliveries too.
    delivers: str | None = None
    # It calls SHAR: while SHAR cannot be reached it is held, not failed (app.jobs.outage).
    needs_shar: bool = False
    # Several first attempts of this kind may run together when a queue is behind (app.jobs.together).
    together: Together | None = None

    def attempts(self, settings: Settings) -> int:
        """How many attempts a job of this kind gets: the setting when there is one."""
        return int(getattr(settings, self.attempts_setting)) if self.attempts_setting else self.max_attempts

    def effective_timeout(self, settings: Settings) -> float:
        """The time limit of one attempt; scaled with the waits, never below 10 s."""
        return max(self.timeout * settings.time_scale, 10.0)

    def queue(self, settings: Settings) -> str:
        return getattr(settings, self.queue_setting)

    def wait_before(self, attempt: int, *, time_scale: float = 1.0) -> float:
        """The wait before attempt number `attempt` (2 is the first retry)."""
        if attempt < 2 or not self.waits:
            return 0.0
        wait = self.waits[min(attempt - 2, len(self.waits) - 1)]
        if self.jitter:  # full jitter around the capped exponential, so retries spread out
            wait = random.uniform(wait / 2, wait)
        return wait * time_scale


class JobRegistry:
    """The job kinds an app knows, by type: built once from app.tasks, held by the app."""

    def __init__(self, specs: Iterable[JobSpec]) -> None:
        self._specs: dict[str, JobSpec] = {}
        for spec in specs:
            if spec.job_type in self._specs:
                raise ValueError(f"job type {spec.job_type!r} is defined twice")
            self._specs[spec.job_type] = spec

    def spec(self, job_type: str) -> JobSpec:
        try:
            return self._specs[job_type]
        except KeyError:
            raise KeyError(f"no handler for job type {job_type!r}") from None

    def all(self) -> dict[str, JobSpec]:
        return dict(self._specs)


EXTENSION_KEY = "sharboard.jobs"


def install(app: Flask, registry: JobRegistry) -> None:
    app.extensions[EXTENSION_KEY] = registry


def spec_for(job_type: str) -> JobSpec:
    return _registry().spec(job_type)


def all_specs() -> dict[str, JobSpec]:
    return _registry().all()


def exponential_waits(base: float, cap: float, count: int) -> tuple[float, ...]:
    """base, 2·base, 4·base ... capped at `cap`: the webhook retry schedule."""
    return tuple(min(base * 2**i, cap) for i in range(count))


def _registry() -> JobRegistry:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]
