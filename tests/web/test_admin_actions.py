"""Admin actions: failed-job groups with preview, correct-and-retry, replay, users and tokens, audit, stuck."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from app.core.extensions import db
from app.models import AuditEntry, JobRecord, User, WebhookDelivery, WorkflowInstance
from app.models._base import utcnow
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from app.webhooks.delivery import schedule_delivery
from tests.support.factories import bpmn, make_user, refresh

HTMX = {"HX-Request": "true"}


def _failed_creates(shar, count: int) -> list[JobRecord]:  # type: ignore[no-untyped-def]
    shar.set_faults(error_rate=1.0)
    for n in range(count):
        create_workflow(f"Down{n}", bpmn("user_task"), async_=False, actor=CLI)
    shar.set_faults(error_rate=0.0)
    return list(db.session.scalars(select(JobRecord).where(JobRecord.state == "failed")))


def test_group_preview_then_retry_reports_requeued(client, sign_in, post, shar) -> None:
    sign_in("admin")
    jobs = _failed_creates(shar, 3)
    page = client.get("/admin/failed-jobs").get_data(as_text=True)
    assert "By error" in page and ">3<" in page
    from app.services.failed_jobs import failed_groups

    group = failed_groups(actor=CLI)[0]
    preview = client.get(
        "/admin/failed-jobs/groups/preview",
        query_string={"job_type": group["job_type"], "error_shape": group["error_shape"]},
        headers=HTMX,
    ).get_data(as_text=True)
    assert "<strong>3</strong> failed" in preview and "Retry 3" in preview
    report = post(
        "/admin/failed-jobs/groups/retry",
        {"job_type": group["job_type"], "error_shape": group["error_shape"]},
        page="/admin/failed-jobs",
        headers=HTMX,
    ).get_data(as_text=True)
    assert "3 requeued" in report and "0 skipped" in report
    assert all(refresh(j).state in ("queued", "running", "succeeded") for j in jobs)
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "job.retry_group")).one()


def test_retry_one_answers_a_row_fragment_and_second_retry_is_refused(client, sign_in, post, shar) -> None:
    sign_in("admin")
    job = _failed_creates(shar, 1)[0]
    first = post(f"/admin/failed-jobs/{job.id}/retry", page="/admin/failed-jobs", headers=HTMX)
    assert first.status_code == 200 and f'id="job-{job.id}"' in first.get_data(as_text=True)
    second = post(f"/admin/failed-jobs/{job.id}/retry", page="/admin/failed-jobs", headers=HTMX)
    assert "only failed jobs can be retried" in second.get_data(as_text=True)


def test_failed_launch_variables_corrected_and_retried(client, sign_in, post, shar) -> None:
    admin = sign_in("admin")
    create_workflow("Flow", bpmn("user_task"), async_=False, actor=CLI)
    shar.set_faults(error_rate=1.0)
    instance = launch_instance("Flow", {"amount": "12x"}, actor=admin, async_=False).instance
    shar.set_faults(error_rate=0.0)
    assert refresh(instance).status == "failed"
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    page = client.get(f"/admin/jobs/{job.id}").get_data(as_text=True)
    assert "Correct the variables and retry" in page
    response = post(
        f"/admin/jobs/{job.id}/correct-and-retry",
        {"variables": json.dumps({"amount": 12})},
        page=f"/admin/jobs/{job.id}",
    )
    assert response.status_code == 302
    instance = refresh(instance)
    assert instance.variables == {"amount": 12} and instance.status in ("launching", "running")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "launch.correct_and_retry")).one()
    assert entry.before == {"variables": {"amount": "12x"}} and entry.after == {"variables": {"amount": 12}}


def test_webhook_replay_makes_a_new_delivery(client, sign_in, post, app) -> None:
    sign_in("admin")
    original = schedule_delivery(
        "https://hooks.example.com/x",
        {"job_type": "create_workflow", "status": "success"},
        target_type="workflow",
        target_id=1,
    )
    db.session.commit()
    response = post(f"/admin/webhooks/{original.id}/replay", page="/admin/webhooks")
    assert response.status_code == 302
    copies = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.replay_of == original.id)).all()
    assert len(copies) == 1 and copies[0].body == original.body
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert "replay of #" in page
    assert '<span class="badge badge-running">pending</span>' in page  # the state's badge, a service's answer


def test_the_queues_page_shows_each_consumer_alive_or_missing(client, sign_in, app) -> None:
    from app.core.config import current_settings
    from app.jobs.heartbeat import beat

    sign_in("admin")
    beat(current_settings().shar_instance_queue)  # only the instance queue's consumer beats
    page = client.get("/admin/queues").get_data(as_text=True)
    assert page.count('<span class="badge badge-active">alive</span>') == 1
    assert page.count('<span class="badge badge-failed">no consumer</span>') == len(current_settings().queue_names) - 1


def test_users_roles_and_tokens_are_audited(client, sign_in, post) -> None:
    sign_in("admin")
    assert (
        post(
            "/admin/users",
            {"email": "new@example.com", "password": "long-enough-1", "role": "viewer"},
            page="/admin/users",
        ).status_code
        == 302
    )
    new = db.session.scalars(select(User).where(User.email == "new@example.com")).one()
    assert new.role == "viewer"
    post(f"/admin/users/{new.id}", {"role": "user", "active": "on"}, page="/admin/users")
    assert refresh(new).role == "user"
    page = post(f"/admin/users/{new.id}/tokens", {"name": "ci"}, page="/admin/users").get_data(as_text=True)
    assert 'id="new-token"' in page and "shb_" in page
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["user.create", "user.update", "token.create"]
    audit_page = client.get("/admin/audit").get_data(as_text=True)
    assert (
        "user.update" in audit_page
        and "&quot;role&quot;: &quot;viewer&quot;" in audit_page
        or '"role": "viewer"' in audit_page
    )


def test_a_refused_admin_action_flashes_the_reason_and_an_unknown_id_stays_404(client, sign_in, post) -> None:
    admin = sign_in("admin")
    taken = post(
        "/admin/users",
        {"email": admin.email, "password": "long-enough-1", "role": "user"},
        page="/admin/users",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"a user {admin.email} exists already" in taken and f"{admin.email} created" not in taken
    unknown = post("/admin/shar-instances/stray-9/ignore", page="/admin/shar-instances", follow_redirects=True)
    assert unknown.status_code == 200 and "no untracked SHAR instance stray-9" in unknown.get_data(as_text=True)
    assert "SHAR instance stray-9 ignored" not in unknown.get_data(as_text=True)
    assert post("/admin/users/999999", {"role": "user", "active": "on"}, page="/admin/users").status_code == 404
    assert [e.action for e in db.session.scalars(select(AuditEntry))] == []


def test_stuck_instances_are_flagged(client, sign_in, app) -> None:
    user = sign_in("admin")
    create_workflow("Flow", bpmn("user_task"), async_=False, actor=CLI)
    instance = launch_instance("Flow", {}, actor=user, async_=False).instance
    db.session.execute(
        WorkflowInstance.__table__.update()
        .where(WorkflowInstance.id == instance.id)
        .values(progressed_at=utcnow() - timedelta(hours=2))
    )
    db.session.commit()
    assert instance.id[:8] in client.get("/admin/stuck").get_data(as_text=True)
    assert "unchanged since" in client.get("/").get_data(as_text=True)
    assert instance.id[:8] not in client.get("/admin/stuck?minutes=500").get_data(as_text=True)


def test_the_bell_counts_to_99_plus_and_still_moves_with_each_new_notification(
    database, client, sign_in, post, app
) -> None:
    from sqlalchemy import insert

    from app.models import Notification
    from app.notifications.in_app import notify

    user = sign_in("user")
    now = utcnow()
    db.session.execute(
        insert(Notification),
        [
            {
                "user_id": user.id,
                "kind": "instance_completed",
                "target_type": "instance",
                "target_id": f"x-{n}",
                "title": "done",
                "created_at": now - timedelta(seconds=n),
            }
            for n in range(150)
        ],
    )
    db.session.commit()
    first = client.get("/notifications/_bell")
    page = first.get_data(as_text=True)
    assert ">99+</span>" in page and 'aria-label="99+ unread notifications"' in page
    assert client.get("/notifications/_bell", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    notify(user.id, kind="instance_failed", target_type="instance", target_id="x-new", title="t", body="", link="/")
    moved = client.get("/notifications/_bell", headers={"If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200 and ">99+</span>" in moved.get_data(as_text=True)
    post("/notifications/read-all", {}, page="/notifications")
    assert 'data-count="0"' in client.get("/notifications/_bell").get_data(as_text=True)


def test_notifications_mark_read_and_email_preference(client, sign_in, post, app) -> None:
    from app.notifications.in_app import notify

    user = sign_in("user")
    note = notify(
        user.id,
        kind="instance_completed",
        target_type="instance",
        target_id="x-1",
        title="Workflow Instance Completed: Flow",
        body="done",
        link="/instances/x-1",
    )
    assert (
        note is not None
        and notify(
            user.id, kind="instance_completed", target_type="instance", target_id="x-1", title="again", body="", link=""
        )
        is None
    )  # exactly once
    assert 'data-count="1"' in client.get("/notifications/_bell").get_data(as_text=True)
    fragment = post(f"/notifications/{note.id}/read", page="/notifications", headers=HTMX).get_data(as_text=True)
    assert "unread" not in fragment.split(">")[0]
    assert 'data-count="0"' in client.get("/notifications/_bell").get_data(as_text=True)
    post("/notifications/preferences", {}, page="/notifications")
    assert refresh(user).email_notifications is False
    before = db.session.scalar(select(db.func.count()).select_from(JobRecord).where(JobRecord.job_type == "send_email"))
    notify(user.id, kind="instance_failed", target_type="instance", target_id="x-2", title="t", body="b", link="/")
    after = db.session.scalar(select(db.func.count()).select_from(JobRecord).where(JobRecord.job_type == "send_email"))
    assert after == before  # the user turned email off: no email job


def test_viewer_cannot_change_anything_even_with_a_valid_form(client, sign_in, post, app) -> None:
    owner = make_user("owner@example.com")
    create_workflow("Flow", bpmn("user_task"), async_=False, actor=CLI)
    instance = launch_instance("Flow", {}, actor=owner, async_=False).instance
    sign_in("viewer")
    assert client.get(f"/instances/{instance.id}").status_code == 200  # viewers read everything
    for url in (
        f"/instances/{instance.id}/complete",
        f"/instances/{instance.id}/sync",
        f"/instances/{instance.id}/cancel",
        "/workflows/Flow/launch",
        "/workflows/Flow/delete",
    ):
        assert post(url, page="/").status_code == 403, url
