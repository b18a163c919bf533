"""A megabyte error (e.g. an evaluator quoting a huge variable) never reaches notifications, e-mails or callbacks whole."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from app.extensions import db
from app.jobs.runner import run_job
from app.models import JobRecord, Notification, Workflow
from app.notifications.listeners import on_workflow_creation_failed
from app.notifications.text import clip
from app.webhooks.payload import workflow_payload
from tests.support.factories import make_user
from tests.support.servers import wait_until

HUGE = "variable x = '" + "A" * 2_000_000 + "' is not a number"


def _failed_workflow(user_id: int) -> Workflow:
    workflow = Workflow(name="Huge", bpmn_xml="<x/>", bpmn_sha256=hashlib.sha256(b"<x/>").hexdigest(),
                        status="failed", error=HUGE, created_by=user_id)
    db.session.add(workflow)
    db.session.commit()
    return workflow


def test_clip_says_how_much_was_cut() -> None:
    assert clip("short") == "short" and clip(None) == ""
    cut = clip("x" * 5000, 100)
    assert len(cut) == 100 and cut.startswith("xxx") and "more characters cut" in cut


def test_notification_and_its_email_carry_a_short_error(app, smtp) -> None:
    user = make_user()
    workflow = _failed_workflow(user.id)
    on_workflow_creation_failed(workflow, error_message=HUGE)
    note = db.session.scalars(select(Notification)).one()
    assert len(note.body) <= 2000 and "more characters cut" in note.body
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "send_email")).one()
    assert job.queue == app.config["SHARBOARD_SETTINGS"].shar_notify_queue
    run_job(job.id)  # here, in this process: the same handler a consumer runs
    wait_until(lambda: smtp.messages, what="the e-mail")
    message = smtp.messages[0]
    for kind in ("plain", "html"):
        text = message.get_body((kind,)).get_content()
        assert "more characters cut" in text and len(text) < 10_000


def test_callback_payload_carries_a_short_error(app) -> None:
    user = make_user()
    workflow = _failed_workflow(user.id)
    payload = workflow_payload(workflow, error=HUGE)
    assert len(json.dumps(payload)) < 10_000
    assert payload["data"]["error"].startswith("variable x = 'AAA") and "more characters cut" in payload["data"]["error"]
    assert len(payload["data"]["workflow"]["error"]) <= 1000
