"""What an outage of SHAR means to people: the banner every page shows, and which workflows and
instances say "waiting for SHAR" (their work is held until SHAR answers; app.jobs.outage)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.core.extensions import db
from app.jobs import outage
from app.jobs.outage import Outage
from app.jobs.specs import all_specs
from app.lifecycle.states import OPEN_JOB_STATES, JobState
from app.models import JobRecord


def current_outage() -> Outage | None:
    """SHAR unreachable since when, with the operations held: the banner's facts (cached a second)."""
    return outage.current()


def version_key() -> str:
    """The outage's part of a polled fragment's version, so badges move on when SHAR comes back."""
    return outage.key()


def waiting_for_shar(target_type: str, ids: Iterable[str | int]) -> set[str]:
    """The ids among `ids` whose work waits for SHAR: a held job, or, while SHAR is unreachable, an
    open job that needs it (it will be held as soon as a worker takes it). One query."""
    wanted = [str(i) for i in ids]
    if not wanted:
        return set()
    states = OPEN_JOB_STATES if outage.current() is not None else (JobState.HELD,)
    kinds = [name for name, spec in all_specs().items() if spec.needs_shar]
    return set(
        db.session.scalars(
            select(JobRecord.target_id)
            .where(
                JobRecord.target_type == target_type,
                JobRecord.target_id.in_(wanted),
                JobRecord.state.in_(states),
                JobRecord.job_type.in_(kinds),
            )
            .distinct()
        )
    )


def is_waiting(target_type: str, target_id: str | int) -> bool:
    return bool(waiting_for_shar(target_type, [target_id]))
