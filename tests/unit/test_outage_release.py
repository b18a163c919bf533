"""Held jobs resume on a ramp, oldest first, once the breaker is closed (app.jobs.release), and fail
past the longest hold: the release itself, on an offline app (no Redis, no SHAR)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.extensions import db
from app.jobs import outage
from app.jobs.release import release_held
from app.models import JobRecord
from app.models._base import utcnow


def _held(count: int) -> list[int]:
    now = utcnow()
    jobs = [
        JobRecord(
            job_type="sync_instance",
            queue="q",
            target_type="instance",
            target_id=str(n),
            state="held",
            max_attempts=2,
            created_at=now - timedelta(seconds=count - n),
            held_since=now,
        )
        for n in range(count)
    ]
    db.session.add_all(jobs)
    db.session.commit()
    return [job.id for job in jobs]


def _queued() -> list[int]:
    return list(db.session.scalars(select(JobRecord.id).where(JobRecord.state == "queued").order_by(JobRecord.id)))


def test_held_jobs_go_on_oldest_first_and_twice_as_many_each_release(offline_app) -> None:  # type: ignore[no-untyped-def]
    ids = _held(20)
    outage.opened("test: SHAR unreachable")
    db.session.commit()
    assert release_held() == {"failed": 0, "released": 0}  # nothing goes while SHAR is unreachable
    outage.closed(ramp_start=3)
    db.session.commit()
    assert release_held()["released"] == 3
    assert _queued() == ids[:3]  # the oldest
    assert release_held()["released"] == 6
    assert release_held()["released"] == 11  # 12 allowed, 11 left
    assert _queued() == ids


def test_a_job_held_past_the_longest_hold_fails_naming_the_outage(offline_app) -> None:  # type: ignore[no-untyped-def]
    (job_id,) = _held(1)
    db.session.get(JobRecord, job_id).held_since = utcnow() - timedelta(days=2)
    outage.opened("test: SHAR unreachable")
    db.session.commit()
    assert release_held() == {"failed": 1, "released": 0}
    job = db.session.get(JobRecord, job_id)
    assert job.state == "failed" and "unreachable for longer than 24 h" in job.last_error
