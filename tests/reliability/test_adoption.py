"""Re-sends adopt what SHAR already holds (issue 18): a workflow create whose answer came after its
job's time limit is adopted by the next attempt, never created twice nor marked failed."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from sqlalchemy import select

from app.core.extensions import db
from app.models import ActivityEvent, JobAttempt, JobRecord
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import wait_until


def test_a_create_answered_after_its_time_limit_is_adopted_by_the_next_attempt(
    make_app, processes, shar, monkeypatch
) -> None:
    # SHAR's own timeout above the job's time limit (10 s at the test's scale): the attempt is cut off
    # by the time limit (huey's TaskTimeout), not by the HTTP client.
    make_app(shar_timeout=30.0)
    user = make_user()
    created = shar.engine.create_workflow
    slow_once, answered = threading.Event(), threading.Event()

    def stored_then_slow(name: str, bpmn_xml: str) -> dict[str, Any]:
        answer = created(name, bpmn_xml)  # SHAR holds it now; its answer is what is late
        if not slow_once.is_set():
            slow_once.set()
            time.sleep(12)
            answered.set()
        return answer

    monkeypatch.setattr(shar.engine, "create_workflow", stored_then_slow)
    processes.start_consumers()
    workflow = create_workflow("Slowborn", bpmn("user_task"), actor=user).workflow
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "create_workflow")).one()
    wait_until(lambda: refresh(workflow).status != "creating", timeout=60, what="the create to end")

    assert refresh(workflow).status == "active"
    attempts = db.session.scalars(
        select(JobAttempt).where(JobAttempt.job_id == job.id).order_by(JobAttempt.number)
    ).all()
    assert [a.outcome for a in attempts] == ["retry", "succeeded"]
    assert "timeout" in (attempts[0].error or "").lower()
    # One create reached SHAR: it holds version 1 only, and the second attempt only asked.
    assert answered.wait(20), "the slow create never answered"
    time.sleep(0.2)  # its request is logged once its answer has been written
    posts = [
        e
        for e in httpx.get(f"{shar.url}/_sharlite/requests").json()
        if e["method"] == "POST" and e["path"] == "/api/v1/workflows"
    ]
    assert len(posts) == 1
    assert httpx.get(f"{shar.url}/api/v1/workflows/Slowborn").json()["version"] == 1
    kinds = [
        e.kind
        for e in db.session.scalars(
            select(ActivityEvent).where(
                ActivityEvent.target_type == "workflow", ActivityEvent.target_id == str(workflow.id)
            )
        )
    ]
    assert "create_adopted" in kinds and "create_resent" not in kinds
    assert refresh(workflow).shar_response["version"] == 1
