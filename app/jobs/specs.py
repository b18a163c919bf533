"""What each kind of job is: its queue, attempts, waits, time limit, and the code it runs.

The numbers for SHAR jobs are the seed's. A handler receives the JobRecord; it raises
to fail the attempt. `on_failure` runs once, when the last attempt has failed.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.config import Settings
    from app.models import JobRecord

Handler = Callable[["JobRecord"], None]
FailureHandler = Callable[["JobRecord", BaseException], None]


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
    on_retry: Handler | None = None

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


_SPECS: dict[str, JobSpec] = {}


def register(spec: JobSpec) -> JobSpec:
    _SPECS[spec.job_type] = spec
    return spec


def job(job_type: str, *, queue: str, attempts: int, waits: tuple[float, ...] = (),
        timeout: int = 300, on_failure: FailureHandler | None = None,
        on_retry: Handler | None = None, jitter: bool = False) -> Callable[[Handler], Handler]:
    """Decorator: make the function the handler of `job_type`."""
    def decorate(func: Handler) -> Handler:
        register(JobSpec(job_type, queue, attempts, waits, timeout, func, on_failure, jitter, on_retry))
        return func
    return decorate


def spec_for(job_type: str) -> JobSpec:
    _load_handlers()
    try:
        return _SPECS[job_type]
    except KeyError:
        raise KeyError(f"no handler for job type {job_type!r}") from None


def all_specs() -> dict[str, JobSpec]:
    _load_handlers()
    return dict(_SPECS)


def exponential_waits(base: float, cap: float, count: int) -> tuple[float, ...]:
    """base, 2·base, 4·base ... capped at `cap`: the webhook retry schedule."""
    return tuple(min(base * 2 ** i, cap) for i in range(count))


def _load_handlers() -> None:
    # The services define the handlers; importing them registers every spec.
    from app.notifications import email  # noqa: F401
    from app.services import instances, sync, workflows  # noqa: F401
    from app.webhooks import delivery  # noqa: F401
