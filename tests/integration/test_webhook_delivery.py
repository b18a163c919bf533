"""Webhook deliveries: retried with backoff until the receiver answers, each attempt logged; refused at delivery."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.core.extensions import db
from app.jobs.runner import run_job
from app.models import ActivityEvent, JobAttempt, JobRecord, WebhookDelivery
from app.webhooks.delivery import schedule_delivery
from app.webhooks.signing import (
    SIGNATURE_HEADER,
    standard_headers,
    standard_secret,
    verify,
)
from tests.support.factories import refresh
from tests.support.servers import WebhookReceiver, wait_until


def test_failing_receiver_is_retried_and_each_attempt_logged(make_app, processes, receiver) -> None:
    make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",))
    receiver.status_codes = [503, 500]
    processes.start_consumers()
    delivery = schedule_delivery(
        receiver.url("/retry"),
        {"job_type": "create_workflow", "status": "success"},
        target_type="workflow",
        target_id=1,
    )
    wait_until(lambda: refresh(delivery).state == "delivered", timeout=30, what="the third attempt to deliver")
    assert len(receiver.requests) == 3
    assert receiver.requests[0].body == receiver.requests[2].body  # the same signed body each time
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "deliver_webhook")).one()
    # The handler commits "delivered" before the runner records the attempt's outcome.
    wait_until(lambda: refresh(job).state == "succeeded", what="the job to be recorded as succeeded")
    attempts = db.session.scalars(
        select(JobAttempt).where(JobAttempt.job_id == job.id).order_by(JobAttempt.number)
    ).all()
    assert [a.detail.get("status_code") for a in attempts] == [503, 500, 200]
    assert [a.outcome for a in attempts] == ["retry", "retry", "succeeded"]
    assert all("elapsed_ms" in a.detail for a in attempts)


def test_address_is_checked_again_at_delivery_time(app, processes) -> None:
    # Stored while allowed (e.g. before the operator changed the policy): still refused when sent.
    delivery = WebhookDelivery(
        job_type="create_workflow", url="http://127.0.0.1:9/hook", body="{}", target_type="workflow", target_id="1"
    )
    db.session.add(delivery)
    db.session.flush()
    from app.jobs.dispatch import submit

    submit("deliver_webhook", target_type="webhook", target_id=delivery.id)
    processes.start_consumers()
    wait_until(lambda: refresh(delivery).state == "refused", what="the delivery to be refused")
    assert "not allowed" in refresh(delivery).last_error  # the log, not the row, says what it resolved to
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "deliver_webhook")).one()
    wait_until(lambda: refresh(job).state == "failed", what="the job to fail for good")
    assert refresh(job).attempts == 1


# --- Bounded attempts, the notify queue, signatures receivers know, redirects -------------

SECRET = "receiver-shared-secret"


def _start_notify_consumer(processes, app) -> None:  # type: ignore[no-untyped-def]
    queue = app.config["SHARBOARD_SETTINGS"].shar_notify_queue
    processes.start_consumer(queue)


def _job_for(delivery: WebhookDelivery) -> JobRecord:
    return db.session.scalars(
        select(JobRecord).where(JobRecord.job_type == "deliver_webhook", JobRecord.target_id == str(delivery.id))
    ).one()


def _attempts(job: JobRecord) -> list[JobAttempt]:
    db.session.expire_all()
    return list(db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id).order_by(JobAttempt.number)))


def _wait_failed(delivery: WebhookDelivery, job: JobRecord) -> None:
    """The job's final failure, then its handler marking the delivery failed (committed after the job)."""
    wait_until(lambda: refresh(job).state == "failed", timeout=30, what="the delivery job to fail")
    wait_until(lambda: refresh(delivery).state == "failed", timeout=10, what="the delivery to be marked failed")


def _send(receiver: WebhookReceiver, path: str = "/hook") -> WebhookDelivery:
    return schedule_delivery(
        receiver.url(path), {"job_type": "create_workflow", "status": "success"}, target_type="workflow", target_id=1
    )


def test_deliveries_run_on_the_notify_queue_and_honour_max_attempts(make_app, processes, receiver) -> None:
    app = make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",), webhook_max_attempts=2)
    receiver.status_codes = [503] * 10
    _start_notify_consumer(processes, app)  # the only consumer: nothing else could deliver it
    delivery = _send(receiver)
    job = _job_for(delivery)
    assert job.queue == app.config["SHARBOARD_SETTINGS"].shar_notify_queue and job.max_attempts == 2
    _wait_failed(delivery, job)
    assert len(receiver.requests) == 2
    assert refresh(job).attempts == 2


@pytest.mark.timeout(60)
def test_a_dripping_receiver_is_cut_off_at_the_deadline(make_app, processes, receiver) -> None:
    app = make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",), webhook_timeout=2.0, webhook_max_attempts=1)
    receiver.mode, receiver.drip_interval = "drip_body", 0.5  # one byte per 0.5 s, for ever
    _start_notify_consumer(processes, app)
    delivery = _send(receiver)
    job = _job_for(delivery)
    _wait_failed(delivery, job)
    assert "within the 2 s deadline" in refresh(delivery).last_error
    [attempt] = _attempts(job)
    # Cut at the deadline, well before the job's own 10 s time limit would have stopped it.
    assert 1900 <= attempt.detail["elapsed_ms"] < 4000
    assert 1 <= receiver.body_bytes_sent <= 8


def test_a_huge_error_body_is_kept_to_4_kib_and_errors_are_short(make_app, processes, receiver) -> None:
    app = make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",), webhook_max_attempts=1)
    receiver.mode, receiver.huge_bytes, receiver.status_codes = "huge", 300 * 1024 * 1024, [500]
    _start_notify_consumer(processes, app)
    delivery = _send(receiver)
    job = _job_for(delivery)
    _wait_failed(delivery, job)
    [attempt] = _attempts(job)
    assert attempt.detail["status_code"] == 500
    assert attempt.detail["response_body"] == "E" * 4096 and attempt.detail["response_complete"] is False
    assert attempt.detail["response_bytes_read"] <= 4096 + 65536
    wait_until(lambda: receiver.answers_cut_off == 1, what="the receiver to notice the closed connection")
    assert receiver.body_bytes_sent < 64 * 1024 * 1024  # of 300 MiB
    stored = refresh(delivery)
    assert stored.state == "failed" and stored.last_error.startswith("HTTP 500: EEEE") and len(stored.last_error) <= 500
    assert len(refresh(job).last_error) <= 1000 and len(attempt.error) <= 1000
    events = db.session.scalars(select(ActivityEvent).where(ActivityEvent.kind == "callback_failed")).all()
    assert events and all(len(e.message) <= 1000 for e in events)


def test_a_redirect_to_an_internal_address_is_not_followed(make_app, processes, receiver) -> None:
    target = WebhookReceiver()  # internal (127.0.0.1) and not allowed
    try:
        app = make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",))
        receiver.mode, receiver.redirect_location = "redirect", target.url("/internal")
        _start_notify_consumer(processes, app)
        delivery = _send(receiver)
        job = _job_for(delivery)
        _wait_failed(delivery, job)
        stored = refresh(delivery)
        assert stored.state == "failed" and stored.last_status_code == 302
        assert "redirect" in stored.last_error and "not followed" in stored.last_error
        assert target.url("/internal") in stored.last_error
        assert refresh(job).attempts == 1  # a redirect is not retried either
        assert len(receiver.requests) == 1 and target.requests == []
    finally:
        target.stop()


def test_callbacks_carry_standard_webhooks_headers_verified_by_the_library(make_app, processes, receiver) -> None:
    app = make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",), webhook_secret=SECRET)
    receiver.standard_secret = standard_secret(SECRET)  # "whsec_" + base64, as receivers configure it
    receiver.status_codes = [503]
    _start_notify_consumer(processes, app)
    delivery = _send(receiver, "/std")
    wait_until(lambda: refresh(delivery).state == "delivered", timeout=30, what="the retried delivery")
    first, second = receiver.requests
    assert first.standard_verified is True and second.standard_verified is True
    # The id is the delivery's, the same on each retry, so receivers can drop duplicates.
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"sharboard-delivery-{delivery.id}"
    assert abs(int(second.headers["webhook-timestamp"]) - second.at) < 30
    # Today's header is still there for existing receivers.
    assert verify(second.body, SECRET, second.headers[SIGNATURE_HEADER])
    assert Webhook(SECRET.encode()).verify(second.body, second.headers) == second.json()  # raw key bytes work too


def test_the_library_refuses_a_replayed_old_timestamp(make_app, processes, receiver) -> None:
    webhook = Webhook(standard_secret(SECRET))
    body = b'{"job_type": "create_workflow"}'
    now = int(time.time())
    assert webhook.verify(body, standard_headers("sharboard-delivery-7", body, SECRET, timestamp=now))
    # A captured request sent again ten minutes later: its timestamp is too old.
    old = standard_headers("sharboard-delivery-7", body, SECRET, timestamp=now - 600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhook.verify(body, old)
    # Refreshing the timestamp of a captured request breaks its signature.
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhook.verify(body, {**old, "webhook-timestamp": str(now)})
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhook.verify(body, standard_headers("sharboard-delivery-7", body, "another-secret", timestamp=now))


@pytest.mark.timeout(120)
def test_a_sync_runs_while_a_delivery_hangs(make_app, processes, receiver, shar) -> None:
    from app.services.launches import launch_instance
    from app.services.workflows import create_workflow
    from tests.support.factories import bpmn, make_user

    make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",), webhook_timeout=8.0)
    user = make_user()
    processes.start_consumers(workers=1)  # one worker per queue, as a small deployment runs
    workflow = create_workflow("Hang", bpmn("user_task"), actor=user).workflow
    wait_until(lambda: refresh(workflow).status == "active", timeout=30, what="the workflow to become active")
    receiver.mode = "hold"  # accepts the callback and does not answer
    instance = launch_instance("Hang", {}, actor=user, callback_url=receiver.url("/slow")).instance
    wait_until(lambda: refresh(instance).status == "running", timeout=30, what="the instance to run")
    wait_until(receiver.holding.is_set, timeout=30, what="the launch callback to reach the hanging receiver")
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    delivery_job = _job_for(delivery)
    assert refresh(delivery_job).state == "running"

    httpx.post(f"{shar.url}/api/v1/instances/{refresh(instance).shar_instance_id}/complete")
    from app.jobs.dispatch import submit

    sync_job = submit("sync_instance", target_type="instance", target_id=instance.id)
    wait_until(lambda: refresh(sync_job).state == "succeeded", timeout=30, what="the sync")
    assert refresh(instance).status == "completed"
    # The delivery's first attempt was still hanging while the sync ran and finished.
    [attempt] = _attempts(delivery_job)
    assert attempt.ended_at is None and attempt.outcome == "running"
    assert len(receiver.requests) == 1 and refresh(delivery).state == "pending"
    receiver.release.set()
    wait_until(lambda: refresh(delivery).state == "delivered", timeout=30, what="the held callback to be delivered")


def test_a_slow_name_lookup_is_retried_not_refused(make_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """ResolveTimeout is a kind of AddressRefused: the delivery must treat it as temporary."""
    import time

    from app.webhooks import address_policy

    make_app(webhook_timeout=0.2)
    delivery = schedule_delivery(
        "https://slow.example.com/hook", {"job_type": "create_workflow"}, target_type="workflow", target_id=1
    )
    monkeypatch.setattr(address_policy, "_resolve", lambda host, port: time.sleep(3) or ["93.184.216.34"])
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "deliver_webhook")).one()
    run_job(job.id)
    assert (refresh(job).state, refresh(delivery).state) == ("retrying", "pending")
    attempt = db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id)).one()
    assert "did not resolve within" in attempt.detail["error"] and attempt.outcome == "retry"
