"""The async heart, end to end: real Redis, real Huey consumer processes, the local SHAR engine over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.extensions import db
from app.jobs.reconcile import reconcile
from app.models import (
    ActivityEvent,
    JobAttempt,
    JobRecord,
    Notification,
    WebhookDelivery,
)
from app.services.actors import CLI
from app.services.failed_jobs import retry_failed_job
from app.services.instances import complete_task
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from app.webhooks.signing import SIGNATURE_HEADER, verify, webhook_secret
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import free_port, wait_until
from tests.support.stack import PrivateRedis


def _status(row: Any) -> str:
    return refresh(row).status


def _shar_requests(shar: Any, method: str, path_part: str) -> list[dict[str, Any]]:
    log = httpx.get(f"{shar.url}/_sharlite/requests").json()
    return [r for r in log if r["method"] == method and path_part in r["path"]]


def _jobs(job_type: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(db.func.count()).select_from(JobRecord).where(JobRecord.job_type == job_type))


def _all_ended(job_type: str) -> bool:
    db.session.expire_all()
    return not db.session.scalars(
        select(JobRecord).where(JobRecord.job_type == job_type, JobRecord.state.in_(("queued", "running", "retrying")))
    ).first()


def _active_workflow(name: str, user: Any) -> Any:
    workflow = create_workflow(name, bpmn("user_task"), actor=user).workflow
    wait_until(lambda: _status(workflow) == "active", what=f"{name} to become active")
    return refresh(workflow)


def test_create_goes_from_creating_to_active(app, processes) -> None:
    user = make_user()
    processes.start_consumers()
    result = create_workflow("OrderProcess", bpmn("user_task"), actor=user)
    assert result.created and result.workflow.status == "creating"
    wait_until(lambda: _status(result.workflow) == "active", what="workflow to become active")
    workflow = refresh(result.workflow)
    assert workflow.shar_response["name"] == "OrderProcess"
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "create_workflow")).one()
    # The job records its success just after the status change it made commits.
    wait_until(lambda: refresh(job).state == "succeeded", what="the job to record its success")
    assert job.attempts == 1


def test_launch_runs_and_completion_notifies_once(app, processes, smtp) -> None:
    user = make_user()
    processes.start_consumers()
    _active_workflow("Review", user)
    instance = launch_instance("Review", {"orderId": "12345"}, actor=user).instance
    assert instance.status == "launching"
    wait_until(lambda: _status(instance) == "running", what="instance to run")
    instance = refresh(instance)
    assert instance.shar_instance_id and instance.current_activities == ["review"]

    complete_task(instance.id, actor=user)
    wait_until(lambda: _status(instance) == "completed", what="instance to complete after its task")
    # The completed event fires right after the status is committed: wait for its listener.
    notes = wait_until(
        lambda: db.session.scalars(select(Notification).where(Notification.target_id == instance.id)).all(),
        what="the completion notification",
    )
    # Nothing more happens: every sync of it has ended (their listeners ran in the same jobs).
    wait_until(lambda: _all_ended("sync_instance"), what="every sync to end")
    assert (
        [n.kind for n in db.session.scalars(select(Notification).where(Notification.target_id == instance.id))]
        == ["instance_completed"]
        == [n.kind for n in notes]
    )
    wait_until(lambda: smtp.messages, what="the completion email")
    message = smtp.messages[0]
    assert message["Subject"] == "Workflow Instance Completed: Review"
    assert message["To"] == user.email
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert instance.id in part and "Review" in part and "completed" in part
        assert f"/instances/{instance.id}" in part  # the link to the instance page
    assert "Duration" in text and "Started" in text and "Ended" in text
    kinds = [e.kind for e in db.session.scalars(select(ActivityEvent).where(ActivityEvent.target_id == instance.id))]
    assert kinds.count("status_completed") == 1


def test_a_failing_shar_retries_three_times_then_fails_and_admin_retry_recovers(
    make_app, processes, shar, receiver
) -> None:
    # Waits of 10 s and 30 s scaled to 3 s and 9 s: long enough to measure against Huey's 1 s scheduler tick,
    # which may add up to a second to each wait (so the ratio lies between 9/4 and 10/3).
    make_app(time_scale=0.3, webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",))
    user = make_user()
    shar.set_faults(error_rate=1.0)
    processes.start_consumers()
    workflow = create_workflow("Outage", bpmn("user_task"), actor=user, callback_url=receiver.url("/created")).workflow
    wait_until(lambda: _status(workflow) == "failed", timeout=50, what="workflow to fail after 3 attempts")
    # One request an attempt: the create, then re-sends, which first ask SHAR whether it holds the
    # workflow (and, SHAR failing that call, send nothing).
    calls = sorted(
        _shar_requests(shar, "POST", "/api/v1/workflows") + _shar_requests(shar, "GET", "/Outage"),
        key=lambda r: r["time"],
    )
    assert [c["method"] for c in calls] == ["POST", "GET", "GET"]
    first_wait = calls[1]["time"] - calls[0]["time"]
    second_wait = calls[2]["time"] - calls[1]["time"]
    assert first_wait >= 3.0 and second_wait >= 9.0
    assert 2.2 <= second_wait / first_wait <= 3.4, (first_wait, second_wait)

    workflow = refresh(workflow)
    assert "injected fault" in workflow.error
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "create_workflow")).one()
    assert (job.state, job.attempts) == ("failed", 3)
    attempts = db.session.scalars(
        select(JobAttempt).where(JobAttempt.job_id == job.id).order_by(JobAttempt.number)
    ).all()
    assert [a.outcome for a in attempts] == ["retry", "retry", "failed"]
    assert all(a.traceback for a in attempts)
    wait_until(
        lambda: db.session.scalars(select(Notification).where(Notification.kind == "workflow_failed")).all(),
        what="the failure notification",
    )

    wait_until(lambda: receiver.requests, what="the failure callback")
    callback = receiver.requests[0].json()
    assert callback["job_type"] == "create_workflow" and callback["status"] == "failed"
    assert callback["workflow_name"] == "Outage" and callback["request_id"] == workflow.id
    assert "injected fault" in callback["data"]["error"]

    shar.set_faults(error_rate=0.0)
    retry_failed_job(job.id, actor=CLI)
    assert _status(workflow) in ("creating", "active")
    wait_until(lambda: _status(workflow) == "active", what="retried workflow to become active")
    wait_until(lambda: len(receiver.requests) == 2, what="the success callback")
    assert receiver.requests[1].json()["status"] == "success"


def test_permanent_error_is_tried_once(app, processes, shar) -> None:
    user = make_user()
    processes.start_consumers()
    _active_workflow("Gone", user)
    httpx.delete(f"{shar.url}/api/v1/workflows/Gone")  # SHAR forgets it: a launch now gets 404
    httpx.delete(f"{shar.url}/_sharlite/requests")
    instance = launch_instance("Gone", {}, actor=user).instance
    wait_until(lambda: _status(instance) == "failed", what="launch to fail")
    assert len(_shar_requests(shar, "POST", "/instances")) == 1
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    assert (job.state, job.attempts) == ("failed", 1)
    assert refresh(instance).launch_requests == 1


def test_callback_is_signed_seed_payload(make_app, processes, receiver) -> None:
    app = make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",))
    user = make_user()
    processes.start_consumers()
    workflow = create_workflow("Signed", bpmn("user_task"), actor=user, callback_url=receiver.url("/wf")).workflow
    wait_until(lambda: receiver.requests, what="the callback")
    request = receiver.requests[0]
    body = request.json()
    assert set(body) == {"job_type", "workflow_name", "request_id", "status", "data", "timestamp"}
    assert body["job_type"] == "create_workflow" and body["status"] == "success"
    assert body["workflow_name"] == "Signed" and body["request_id"] == workflow.id
    assert body["data"]["workflow"]["status"] == "active"
    assert body["data"]["shar_response"]["name"] == "Signed"
    assert body["timestamp"].endswith("Z")
    secret = webhook_secret("", app.config["SECRET_KEY"])
    assert verify(request.body, secret, request.headers[SIGNATURE_HEADER])
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    wait_until(lambda: refresh(delivery).state == "delivered", what="delivery to be recorded")
    assert refresh(delivery).last_status_code == 200

    instance = launch_instance("Signed", {"a": 1}, actor=user, callback_url=receiver.url("/inst")).instance
    wait_until(lambda: len(receiver.requests) == 2, what="the launch callback")
    launched = receiver.requests[1].json()
    assert launched["job_type"] == "launch_instance" and launched["request_id"] == instance.id
    assert launched["data"]["instance"]["status"] == "running" and launched["data"]["shar_response"]["id"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost/x",
        "http://[::1]/x",
        "http://10.1.2.3/x",
        "file:///etc/passwd",
        "gopher://example.com/",
    ],
)
def test_internal_callback_addresses_are_refused(app, url: str) -> None:
    from app.core.errors import InvalidInput

    user = make_user()
    with pytest.raises(InvalidInput) as info:
        create_workflow("Refused", bpmn("user_task"), actor=user, callback_url=url)
    assert "callback_url" in info.value.errors
    assert db.session.scalars(select(JobRecord)).all() == []


def test_redis_down_keeps_the_row_and_reconciler_queues_it(tmp_path, make_app, processes) -> None:
    redis = PrivateRedis(free_port(), tmp_path)
    redis.start()
    make_app(redis_url=redis.url)
    try:
        user = make_user()
        redis.stop()
        result = create_workflow("NoRedis", bpmn("user_task"), actor=user)
        workflow = refresh(result.workflow)
        assert workflow.status == "creating"
        job = db.session.scalars(select(JobRecord)).one()
        assert job.state == "queued" and "Connection" in (job.enqueue_error or "")

        redis.start()
        processes.start_consumers()
        report = reconcile()
        assert report.requeued == [job.id]
        wait_until(lambda: _status(workflow) == "active", what="the reconciled create to finish")
        assert refresh(job).enqueue_error is None
    finally:
        processes.stop()
        redis.stop()


def test_racing_syncs_give_one_completion_notice(app, processes, shar, smtp) -> None:
    user = make_user()
    processes.start_consumers(workers=3)
    _active_workflow("Race", user)
    instance = launch_instance("Race", {}, actor=user).instance
    wait_until(lambda: _status(instance) == "running", what="instance to run")
    instance = refresh(instance)
    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete")  # completed behind our back
    # Many syncs at once over three worker processes, plus one in this process.
    from app.jobs.dispatch import submit
    from app.services.sync import apply_shar_state

    for _ in range(6):
        submit("sync_instance", target_type="instance", target_id=instance.id)
    apply_shar_state(refresh(instance))
    wait_until(
        lambda: (
            db.session.scalar(
                select(db.func.count())
                .select_from(JobRecord)
                .where(JobRecord.job_type == "sync_instance", JobRecord.state == "succeeded")
            )
            == 6
        ),
        what="all syncs to finish",
    )
    assert _status(instance) == "completed"
    notes = db.session.scalars(select(Notification).where(Notification.target_id == instance.id)).all()
    assert len(notes) == 1
    wait_until(lambda: smtp.messages, what="the email")
    # Nothing more happens: every e-mail job has ended, and there was one.
    wait_until(lambda: _all_ended("send_email"), what="every e-mail job to end")
    assert _jobs("send_email") == 1
    assert len(smtp.messages) == 1
    completed = db.session.scalars(
        select(ActivityEvent).where(ActivityEvent.target_id == instance.id, ActivityEvent.kind == "status_completed")
    ).all()
    assert len(completed) == 1
