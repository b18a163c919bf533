"""A megabyte error (an engine quoting a huge variable, a receiver's page) is bounded where it
enters: the SHAR client and the job runner. Notifications, e-mails and callbacks never see it whole."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.core.extensions import db
from app.core.text import clip
from app.jobs.runner import run_job
from app.jobs.specs import JobRegistry, JobSpec, install
from app.models import JobRecord, Notification, WebhookDelivery
from app.services.workflows import create_workflow
from app.tasks import SPECS
from tests.support.factories import bpmn, make_user
from tests.support.servers import WebhookReceiver, wait_until

HUGE = "variable x = '" + "A" * 2_000_000 + "' is not a number"


def test_clip_says_exactly_how_much_was_cut() -> None:
    assert clip("short") == "short" and clip(None) == ""
    cut = clip("x" * 5000, 100)
    kept = cut.index("…")
    assert len(cut) == 100 and cut.startswith("xxx") and f"[{5000 - kept:,} more characters cut]" in cut


def test_a_huge_shar_error_stays_short_in_the_row_the_notice_the_email_and_the_callback(make_app, smtp) -> None:  # type: ignore[no-untyped-def]
    shar = WebhookReceiver(status_codes=[422], answer_body=json.dumps({"error": HUGE}).encode())
    hook = WebhookReceiver()
    try:
        make_app(shar_base_url=shar.url(""), webhook_allowed_hosts=(f"127.0.0.1:{hook.port}",))
        user = make_user()
        workflow = create_workflow(
            "Huge", bpmn("user_task"), actor=user, async_=False, callback_url=hook.url("/created")
        ).workflow
        assert workflow.status == "failed" and len(workflow.error) <= 1000 and "more characters cut" in workflow.error
        assert workflow.error.startswith("variable x = 'AAA") or "variable x = 'AAA" in workflow.error
        job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "create_workflow")).one()
        assert len(job.last_error) <= 1000
        note = db.session.scalars(select(Notification)).one()
        assert len(note.body) <= 2000 and "more characters cut" in note.body
        email = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "send_email")).one()
        run_job(email.id)  # here, in this process: the same handler a consumer runs
        wait_until(lambda: smtp.messages, what="the e-mail")
        for kind in ("plain", "html"):
            text = smtp.messages[0].get_body((kind,)).get_content()
            assert "more characters cut" in text and len(text) < 10_000
        raw = smtp.messages[0].as_bytes()
        assert max(len(line) for line in raw.split(b"\n")) <= 998  # SMTP's line limit
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert len(delivery.body) < 10_000 and "more characters cut" in json.loads(delivery.body)["data"]["error"]
    finally:
        shar.stop()
        hook.stop()


def test_the_runner_bounds_whatever_a_job_raises(app) -> None:  # type: ignore[no-untyped-def]
    def explode(job: JobRecord) -> None:
        raise ValueError(HUGE)

    install(app, JobRegistry([*SPECS, JobSpec("explode", "shar_sync_queue", 1, (), 60, explode)]))
    job = JobRecord(job_type="explode", queue="q", target_type="system", target_id="x", max_attempts=1)
    db.session.add(job)
    db.session.commit()
    run_job(job.id)
    db.session.refresh(job)
    assert job.state == "failed" and len(job.last_error) <= 1000 and "more characters cut" in job.last_error
    assert len(job.attempt_rows[0].error) <= 1000
