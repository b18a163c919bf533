"""The failed-jobs page's groups come from counts the database keeps (failed_job_groups, by
triggers on job_records): after every kind of write to a job they equal a GROUP BY over the
failed jobs, on SQLite and PostgreSQL, and concurrent failures in one group each count once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from app.core.extensions import db
from app.lifecycle.changes import move_job
from app.models import JobRecord
from app.models._base import utcnow
from app.services import failed_jobs as service
from app.services.actors import CLI
from tests.support.databases import pg_available, postgres_database
from tests.support.stack import build_app


def _job(state: str, shape: str | None, job_type: str = "cleanup", **values: Any) -> dict[str, Any]:
    return {
        "job_type": job_type,
        "queue": "q",
        "target_type": "instance",
        "target_id": "t",
        "state": state,
        "last_error": shape,
        "error_shape": shape,
        "finished_at": utcnow(),
        **values,
    }


def _truth() -> list[tuple[str, str, int]]:
    """The groups by scanning the failed jobs: what the kept counts must equal."""
    shape = func.coalesce(JobRecord.error_shape, "")
    rows = db.session.execute(
        select(JobRecord.job_type, shape, func.count())
        .where(JobRecord.state == "failed")
        .group_by(JobRecord.job_type, shape)
    )
    return sorted((t, s, n) for t, s, n in rows)


def _kept() -> list[tuple[str, str, int]]:
    groups = service.failed_groups(actor=CLI)
    counts = [g["count"] for g in groups]
    assert counts == sorted(counts, reverse=True)  # largest first
    return sorted((g["job_type"], g["error_shape"], g["count"]) for g in groups)


def _check(expected: list[tuple[str, str, int]]) -> None:
    db.session.expire_all()
    assert _kept() == _truth() == sorted(expected)


def _ids(shape: str | None, job_type: str = "cleanup") -> list[int]:
    """The failed jobs of one group, oldest first."""
    return list(
        db.session.scalars(
            select(JobRecord.id)
            .where(
                JobRecord.error_shape.is_(None) if shape is None else JobRecord.error_shape == shape,
                JobRecord.state == "failed",
                JobRecord.job_type == job_type,
            )
            .order_by(JobRecord.id)
        )
    )


def test_the_kept_groups_follow_every_write_to_a_job(database: str, app: Any) -> None:  # type: ignore[no-untyped-def]
    L = "cleanup"
    db.session.execute(
        insert(JobRecord),
        [_job("failed", "timeout …") for _ in range(5)]
        + [_job("failed", "refused …") for _ in range(3)]
        + [_job("failed", None)]
        + [_job("running", None), _job("queued", None)],
    )
    db.session.commit()
    _check([(L, "timeout …", 5), (L, "refused …", 3), (L, "", 1)])

    # A job fails (the runner's move), and an operator's retry takes one out of its group.
    running = db.session.scalars(select(JobRecord).where(JobRecord.state == "running")).one()
    running.last_error, running.error_shape = "refused 9", "refused …"
    move_job(running, "failed", finished_at=utcnow())
    db.session.commit()
    service.retry_failed_job(_ids("timeout …")[0], actor=CLI)
    _check([(L, "timeout …", 4), (L, "refused …", 4), (L, "", 1)])

    # A failed job's shape or type changed in place moves it between groups; the last of a group takes it away.
    db.session.execute(update(JobRecord).where(JobRecord.id == _ids(None)[0]).values(error_shape="refused …"))
    db.session.execute(update(JobRecord).where(JobRecord.id == _ids("timeout …")[0]).values(job_type="create_workflow"))
    db.session.commit()
    _check([(L, "timeout …", 3), (L, "refused …", 5), ("create_workflow", "timeout …", 1)])

    # One deleted by an operator, old ones pruned by a bulk delete, one written by hand in SQL.
    service.delete_failed_job(_ids("refused …")[0], actor=CLI)
    db.session.execute(
        update(JobRecord)
        .where(JobRecord.id.in_(_ids("timeout …")[:2]))
        .values(finished_at=utcnow() - timedelta(days=40))
    )
    db.session.commit()
    assert service.prune_finished(30) == 2
    db.session.execute(
        text(
            "INSERT INTO job_records (job_type, queue, target_type, target_id, state, attempts, max_attempts,"
            " payload, held_tries, created_at, updated_at) VALUES ('sync', 'q', 'instance', 't', 'failed', 1, 1,"
            " '{}', 0, '2026-01-01', '2026-01-01')"
        )
    )
    db.session.commit()
    _check([(L, "timeout …", 1), (L, "refused …", 4), ("create_workflow", "timeout …", 1), ("sync", "", 1)])

    # Flush: no group left, and the page says so.
    assert service.flush_failed_jobs(actor=CLI) == 7
    _check([])


def test_the_page_shows_the_kept_groups_and_the_total(database: str, client, sign_in, app) -> None:  # type: ignore[no-untyped-def]
    db.session.execute(
        insert(JobRecord),
        [_job("failed", "timeout …") for _ in range(120)] + [_job("failed", "refused …") for _ in range(30)],
    )
    db.session.commit()
    sign_in("admin")
    page = client.get("/admin/failed-jobs").get_data(as_text=True)
    groups = page.split('id="failed-list"')[0]
    assert groups.index("timeout …") < groups.index("refused …")  # the larger group first
    assert "<td>120</td>" in groups and "<td>30</td>" in groups
    assert "The newest 100 of 150 failed jobs" in page


def test_concurrent_failures_in_one_group_each_count_once_on_postgresql(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Workers failing jobs of one group at once, while an operator retries others of it: each
    failure and each retry counts once (the count is a row the triggers update under its lock)."""
    assert pg_available(), "PostgreSQL is not reachable on 127.0.0.1:5432"
    with postgres_database() as url:
        application = build_app(database_url=url, instance_dir=str(tmp_path), secret_key="x", redis_url="")
        with application.app_context():
            db.session.execute(
                insert(JobRecord),
                [_job("running", None) for _ in range(200)] + [_job("failed", "x …") for _ in range(50)],
            )
            db.session.commit()
            running = list(db.session.scalars(select(JobRecord.id).where(JobRecord.state == "running")))
            failed = _ids("x …")
            db.session.remove()
            engine = db.engine

            def fail(ids: list[int]) -> None:
                for job_id in ids:
                    with Session(engine) as session, session.begin():
                        session.execute(
                            update(JobRecord).where(JobRecord.id == job_id).values(state="failed", error_shape="x …")
                        )

            def retry(ids: list[int]) -> None:
                for job_id in ids:
                    with Session(engine) as session, session.begin():
                        session.execute(update(JobRecord).where(JobRecord.id == job_id).values(state="queued"))

            threads = [threading.Thread(target=fail, args=(running[n::4],)) for n in range(4)]
            threads += [threading.Thread(target=retry, args=(failed[n::2],)) for n in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            _check([("cleanup", "x …", 200)])
            db.session.remove()
            db.engine.dispose()
