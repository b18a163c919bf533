"""Webhook deliveries: retried with backoff until the receiver answers, each attempt logged; refused at delivery."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import JobAttempt, JobRecord, WebhookDelivery
from app.webhooks.delivery import schedule_delivery
from tests.support.factories import refresh
from tests.support.servers import wait_until


def test_failing_receiver_is_retried_and_each_attempt_logged(make_app, processes, receiver) -> None:
    make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",))
    receiver.status_codes = [503, 500]
    processes.start_consumers()
    delivery = schedule_delivery(receiver.url("/retry"), {"job_type": "create_workflow", "status": "success"},
                                 subject_type="workflow", subject_id=1)
    wait_until(lambda: refresh(delivery).state == "delivered", timeout=30, what="the third attempt to deliver")
    assert len(receiver.requests) == 3
    assert receiver.requests[0].body == receiver.requests[2].body  # the same signed body each time
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "deliver_webhook")).one()
    # The attempt records its end just after the delivery row it changed commits.
    wait_until(lambda: refresh(job).state == "succeeded", what="the job to record its success")
    attempts = db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id)
                                  .order_by(JobAttempt.number)).all()
    assert [a.detail.get("status_code") for a in attempts] == [503, 500, 200]
    assert [a.outcome for a in attempts] == ["retry", "retry", "succeeded"]
    assert all("elapsed_ms" in a.detail for a in attempts)


def test_address_is_checked_again_at_delivery_time(app, processes) -> None:
    # Stored while allowed (e.g. before the operator changed the policy): still refused when sent.
    delivery = WebhookDelivery(job_type="create_workflow", url="http://127.0.0.1:9/hook", body="{}",
                               subject_type="workflow", subject_id="1")
    db.session.add(delivery)
    db.session.flush()
    from app.jobs.dispatch import submit

    submit("deliver_webhook", target_type="webhook", target_id=delivery.id)
    processes.start_consumers()
    wait_until(lambda: refresh(delivery).state == "refused", what="the delivery to be refused")
    assert "internal address" in refresh(delivery).last_error
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "deliver_webhook")).one()
    wait_until(lambda: refresh(job).state == "failed", what="the job to fail for good")
    assert refresh(job).attempts == 1
