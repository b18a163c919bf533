"""dispatch.submit_many, what a fan-out of many jobs goes through: one INSERT per 500 jobs, committed
before any is queued, then one Redis round trip per INSERT; a postponed job goes as its own message,
and a queue that refuses leaves every record for the reconciler."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from app.core.extensions import db
from app.jobs.dispatch import FANOUT_JOBS, submit_many
from app.jobs.queues import current_queues
from app.models import JobRecord
from tests.support.factories import make_user


def _jobs() -> list[JobRecord]:
    return list(db.session.scalars(select(JobRecord).order_by(JobRecord.id)))


def test_many_jobs_take_one_insert_and_one_round_trip_per_500_in_order(database: str, app: Any) -> None:
    user = make_user()
    count = 2 * FANOUT_JOBS + 1
    inserts: list[str] = []
    round_trips: list[int] = []
    queues = current_queues()
    enqueue_many = queues.enqueue_many

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO JOB_RECORDS"):
            inserts.append(statement)

    def counted(queue: str, job_ids: Any, **kwargs: Any) -> None:  # the real hand-over, counted
        round_trips.append(len(job_ids))
        enqueue_many(queue, job_ids, **kwargs)

    queues.enqueue_many = counted  # type: ignore[method-assign]
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        handed = submit_many(
            "sync_instance",
            [{"n": n} for n in range(count)],
            target_type="instance",
            target_ids=[f"i{n}" for n in range(count)],
            created_by=user.id,
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
        del queues.enqueue_many
    assert handed == [True] * count
    # SQLAlchemy hands SQLite's driver the rows one at a time (RETURNING in order); PostgreSQL gets 3 statements.
    assert len(inserts) == (3 if database == "postgresql" else count)
    assert round_trips == [FANOUT_JOBS, FANOUT_JOBS, 1]
    jobs = _jobs()
    assert [(j.payload["n"], j.target_id) for j in jobs] == [(n, f"i{n}") for n in range(count)]
    assert {(j.state, j.attempts, j.max_attempts, j.created_by, j.next_attempt_at, j.enqueue_error) for j in jobs} == {
        ("queued", 0, 2, user.id, None, None)
    }
    assert current_queues().counts(jobs[0].queue) == {"pending": count, "scheduled": 0}


def test_postponed_jobs_wait_their_delays(database: str, app: Any) -> None:
    handed = submit_many(
        "sync_instance", [{}, {}, {}], target_type="instance", target_ids=["a", "b", "c"], delays=[0.0, 30.0, 60.0]
    )
    jobs = _jobs()
    assert handed == [True] * 3 and [j.next_attempt_at is None for j in jobs] == [True, False, False]
    assert [round((j.next_attempt_at - j.created_at).total_seconds()) for j in jobs[1:]] == [30, 60]
    # Huey carries each with its time (a consumer moves the postponed ones to its schedule).
    assert current_queues().counts(jobs[0].queue) == {"pending": 3, "scheduled": 0}


def test_a_refusing_queue_keeps_every_record_for_the_reconciler(make_app: Any) -> None:
    make_app(redis_url="redis://127.0.0.1:1/0")
    assert submit_many("sync_instance", [{}, {}], target_type="instance", target_ids=["d", "e"]) == [False] * 2
    jobs = _jobs()
    assert [j.target_id for j in jobs] == ["d", "e"] and all("ConnectionError" in j.enqueue_error for j in jobs)
