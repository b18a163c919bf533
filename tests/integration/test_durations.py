"""One clock for durations (issue 9, item 4): the launch answer's status and times are used,
durations come from SHAR's clock when both ends are known, else ours, and are never negative;
statistics, notifications and e-mails show the same number; the migration repairs stored rows.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from app.core.extensions import db
from app.jobs.runner import run_job
from app.lifecycle.durations import measure
from app.models import JobRecord, Notification, WorkflowInstance
from app.services.correlation import CORRELATION_VARIABLE
from app.services.launches import launch_instance
from app.services.statistics import instance_statistics
from app.services.sync import apply_shar_state
from app.services.workflows import create_workflow
from tests.support.databases import pg_available, postgres_database
from tests.support.factories import bpmn, make_user, refresh
from tests.support.stack import build_app

T0 = datetime(2026, 1, 1, 12, 0, 0)


def test_the_rule_prefers_shar_clock_falls_back_to_ours_and_never_goes_negative() -> None:
    later = T0 + timedelta(seconds=3)
    assert measure(shar_created_at=T0, shar_completed_at=later, launched_at=later, completed_at=T0) == (3.0, "shar")
    assert measure(shar_created_at=T0, shar_completed_at=None, launched_at=T0, completed_at=later) == (3.0, "sharboard")
    assert measure(shar_created_at=later, shar_completed_at=T0, launched_at=None, completed_at=None) == (
        0.0,
        "shar-clamped",
    )
    assert measure(shar_created_at=None, shar_completed_at=T0, launched_at=later, completed_at=T0) == (
        0.0,
        "sharboard-clamped",
    )
    assert measure(shar_created_at=None, shar_completed_at=None, launched_at=None, completed_at=T0) == (None, None)


def _completes_during_launch(shar_url: str, smtp: Any) -> None:
    """A workflow of service tasks only ends inside SHAR's launch answer."""
    user = make_user()
    create_workflow("Quick", bpmn("parallel"), actor=user, async_=False)
    instance = launch_instance("Quick", {"n": 1}, actor=user, async_=False).instance
    instance = refresh(instance)
    assert instance.status == "completed", instance.error  # at once, not at the next sync
    assert instance.duration_clock == "shar"
    assert instance.duration_seconds == pytest.approx(
        (instance.shar_completed_at - instance.shar_created_at).total_seconds()
    )
    assert 0 <= instance.duration_seconds < 5
    assert instance.variables == {"n": 1}  # the correlation variable is SHAR's business, not the user's
    remote = httpx.get(f"{shar_url}/api/v1/instances/{instance.shar_instance_id}").json()
    assert remote["variables"][CORRELATION_VARIABLE] == instance.id
    # The completion event fired once: one notification; a later sync changes nothing.
    assert apply_shar_state(instance) == "completed"
    notes = db.session.scalars(select(Notification).where(Notification.target_id == instance.id)).all()
    assert [n.kind for n in notes] == ["instance_completed"]
    assert f"in {instance.duration_seconds:.0f} s." in notes[0].body
    # Statistics average the same stored number, in SQL.
    assert instance_statistics()["average_duration_seconds"] == pytest.approx(instance.duration_seconds, abs=0.001)
    # The e-mail says the same.
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "send_email")).one()
    smtp.messages.clear()
    run_job(job.id, allow_retry=False)
    body = smtp.messages[-1].get_body(preferencelist=("plain",)).get_content()
    assert f"Duration:  {instance.duration_seconds:.1f} s" in body


def test_an_instance_finished_during_launch_completes_at_once_on_sqlite(app, shar, smtp) -> None:
    _completes_during_launch(shar.url, smtp)


@pytest.mark.services  # PostgreSQL or Redis, reached without a fixture
def test_an_instance_finished_during_launch_completes_at_once_on_postgresql(
    overrides, shar, smtp, tmp_path: Path
) -> None:
    if not pg_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
    with postgres_database() as url:
        application = build_app(**{**overrides, "database_url": url})
        with application.app_context():
            _completes_during_launch(shar.url, smtp)
            db.session.remove()
            db.engine.dispose()


def test_a_synced_completion_uses_shar_clock(app, shar) -> None:
    user = make_user()
    create_workflow("Waits", bpmn("user_task"), actor=user, async_=False)
    instance = launch_instance("Waits", {}, actor=user, async_=False).instance
    assert instance.status == "running" and instance.shar_created_at is not None
    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete")
    assert apply_shar_state(instance) == "completed"
    instance = refresh(instance)
    assert instance.duration_clock == "shar" and instance.duration_seconds >= 0
    assert instance.duration_seconds == pytest.approx(
        (instance.shar_completed_at - instance.shar_created_at).total_seconds()
    )
    assert CORRELATION_VARIABLE not in instance.variables


# -- the migration ---------------------------------------------------------------------


def _repair(url: str, tmp_path: Path) -> None:
    from app import create_app

    application = create_app(database_url=url, instance_dir=str(tmp_path), secret_key="x")
    with application.app_context():
        upgrade(revision="9b1d4e7a3c20")
        conn = db.session.connection()
        conn.execute(
            text(
                "INSERT INTO workflows (name, version, description, bpmn_xml, bpmn_sha256, summary, status, "
                "created_at, updated_at) VALUES ('Old', 1, '', '<x/>', 'x', '{}', 'active', :t, :t)"
            ),
            {"t": T0},
        )
        workflow_id = conn.execute(text("SELECT id FROM workflows")).scalar()
        rows = {  # id: status, launched_at (ours, after SHAR's answer), completed_at (SHAR's, from a sync)
            "negative": ("completed", T0 + timedelta(seconds=2), T0 + timedelta(seconds=1)),
            "positive": ("completed", T0, T0 + timedelta(seconds=7)),
            "with-shar-start": ("completed", T0 + timedelta(seconds=2), T0 + timedelta(seconds=1)),
            "running": ("running", T0, None),
        }
        for row_id, (status, launched, completed) in rows.items():
            conn.execute(
                text(
                    "INSERT INTO workflow_instances (id, workflow_id, status, variables, current_activities, "
                    "launch_requests, created_at, updated_at, progressed_at, launched_at, completed_at) "
                    "VALUES (:id, :w, :s, '{}', '[]', 1, :t, :t, :t, :l, :c)"
                ),
                {"id": row_id, "w": workflow_id, "s": status, "t": T0, "l": launched, "c": completed},
            )
        body = (
            '{"job_type": "launch_instance", "data": {"shar_response": {"id": "s1", '
            '"created_at": "2026-01-01T11:59:59.500000Z"}}}'
        )
        conn.execute(
            text(
                "INSERT INTO webhook_deliveries (job_type, url, body, target_type, target_id, state, "
                "attempts, created_at) VALUES ('launch_instance', 'http://x', :b, 'instance', "
                "'with-shar-start', 'delivered', 1, :t)"
            ),
            {"b": body, "t": T0},
        )
        db.session.commit()
        upgrade()
        db.session.expire_all()
        got = {i.id: i for i in db.session.scalars(select(WorkflowInstance))}
        assert (got["negative"].duration_seconds, got["negative"].duration_clock) == (0.0, "sharboard-clamped")
        assert (got["positive"].duration_seconds, got["positive"].duration_clock) == (7.0, "sharboard")
        fixed = got["with-shar-start"]
        assert fixed.shar_created_at == T0 - timedelta(seconds=0.5)
        assert (fixed.duration_seconds, fixed.duration_clock) == (1.5, "shar")
        assert got["running"].duration_seconds is None
        assert (
            db.session.scalar(
                select(func.count()).select_from(WorkflowInstance).where(WorkflowInstance.duration_seconds < 0)
            )
            == 0
        )
        assert instance_statistics()["average_duration_seconds"] == pytest.approx((0 + 7 + 1.5) / 3, abs=0.001)
        db.session.remove()
        db.engine.dispose()


def test_migration_repairs_durations_on_sqlite(tmp_path: Path) -> None:
    _repair(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)


@pytest.mark.services  # PostgreSQL or Redis, reached without a fixture
def test_migration_repairs_durations_on_postgresql(tmp_path: Path) -> None:
    if not pg_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
    with postgres_database() as url:
        _repair(url, tmp_path)


def test_every_end_stores_a_duration_and_a_retry_clears_it(app) -> None:  # type: ignore[no-untyped-def]
    """The duration, and where the instance waits, are set by the one status change, whichever
    path ends the instance: completed or cancelled wait nowhere; failed keeps where it failed."""
    from app.lifecycle.changes import change_status
    from app.services.actors import CLI

    workflow = create_workflow("Ends", bpmn("user_task"), actor=CLI).workflow
    instance = WorkflowInstance(
        workflow_id=workflow.id, status="running", launched_at=T0, current_activities=["review"]
    )
    db.session.add(instance)
    db.session.commit()
    # Cancelled: no SHAR times, so ours; the clock of the change is later than T0.
    assert change_status(instance, "cancelled")
    assert instance.duration_seconds > 0 and instance.duration_clock == "sharboard"
    assert instance.current_activities == []
    failed = WorkflowInstance(
        workflow_id=workflow.id, status="running", launched_at=T0 + timedelta(days=9999), current_activities=["review"]
    )
    db.session.add(failed)
    db.session.commit()
    assert change_status(failed, "failed", error="boom")
    assert (failed.duration_seconds, failed.duration_clock) == (0.0, "sharboard-clamped")
    assert failed.current_activities == ["review"]
    assert change_status(failed, "launching")  # an operator's retry starts the row over
    assert (failed.completed_at, failed.duration_seconds, failed.duration_clock) == (None, None, None)
