"""Nothing is a dead end (issue 18): a failed launch or create offers its owner (and admins) Retry
and the job behind it with every attempt, on its own page; an admin's Retry group and Retry all
update the failed-jobs page in place."""

from __future__ import annotations

from sqlalchemy import func, select

from app.core.extensions import db
from app.jobs.runner import run_job
from app.models import AuditEntry, JobRecord
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh
from tests.support.web import Browser

PASSWORD = "correct-horse-1"
HTMX = {"HX-Request": "true"}


def _retries_by(user) -> int:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "job.retry", AuditEntry.actor_id == user.id)
    )


def test_the_owner_sees_the_failed_launch_with_its_attempts_and_retries_it(app, shar) -> None:
    ann = make_user("ann@example.com", "user", PASSWORD)
    make_user("bob@example.com", "user", PASSWORD)
    make_user("viewer@example.com", "viewer", PASSWORD)
    create_workflow("Stalls", bpmn("user_task"), actor=ann, async_=False)
    shar.set_faults(error_rate=1.0)
    instance = launch_instance("Stalls", {"n": 1}, actor=ann, async_=False).instance
    shar.set_faults(error_rate=0.0)
    assert refresh(instance).status == "failed"
    job = db.session.scalars(select(JobRecord).where(JobRecord.target_id == instance.id)).one()
    url = f"/instances/{instance.id}"

    owner = Browser(app, "ann@example.com", PASSWORD)
    page = owner.get(url).get_data(as_text=True)
    assert "Retry the launch" in page and f"Job #{job.id}" in page
    attempts = page[page.index('id="row-job-attempts"') :]
    assert "injected fault" in attempts and ">failed<" in attempts
    assert f"/admin/jobs/{job.id}" not in page  # the job's own page (tracebacks) is the admins'
    # A viewer reads the instance, not its job, and retries nothing; another user does not see it.
    viewer = Browser(app, "viewer@example.com", PASSWORD)
    shown = viewer.get(url).get_data(as_text=True)
    assert "Retry the launch" not in shown and f"Job #{job.id}" not in shown
    assert viewer.post(f"{url}/retry").status_code == 403
    bob = Browser(app, "bob@example.com", PASSWORD)
    assert bob.get(url).status_code == 404 and bob.post(f"{url}/retry").status_code == 404
    assert refresh(job).state == "failed"

    assert owner.post(f"{url}/retry").status_code == 302
    assert refresh(job).state == "queued" and refresh(instance).status == "launching"
    assert _retries_by(ann) == 1
    run_job(job.id)  # what the instance consumer does with it
    assert refresh(instance).status == "running"
    assert "Retry the launch" not in owner.get(url).get_data(as_text=True)


def test_the_owner_retries_a_failed_create_from_the_workflow_page(app, shar) -> None:
    ann = make_user("ann@example.com", "user", PASSWORD)
    make_user("bob@example.com", "user", PASSWORD)
    make_user("admin@example.com", "admin", PASSWORD)
    shar.set_faults(error_rate=1.0)
    workflow = create_workflow("Unborn", bpmn("user_task"), actor=ann, async_=False).workflow
    shar.set_faults(error_rate=0.0)
    assert refresh(workflow).status == "failed"
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "create_workflow")).one()

    bob = Browser(app, "bob@example.com", PASSWORD)
    shown = bob.get("/workflows/Unborn").get_data(as_text=True)
    assert "Retry the create" not in shown and f"Job #{job.id}" not in shown
    assert bob.post("/workflows/Unborn/retry").status_code == 403
    admin = Browser(app, "admin@example.com", PASSWORD)
    assert f'href="/admin/jobs/{job.id}"' in admin.get("/workflows/Unborn").get_data(as_text=True)

    owner = Browser(app, "ann@example.com", PASSWORD)
    page = owner.get("/workflows/Unborn").get_data(as_text=True)
    assert "Retry the create" in page and "injected fault" in page
    assert owner.post("/workflows/Unborn/retry").status_code == 302
    assert _retries_by(ann) == 1
    run_job(job.id)  # the retried attempt is a re-send: it asks SHAR first, which holds nothing yet
    assert refresh(workflow).status == "active"
    history = owner.get("/workflows/Unborn").get_data(as_text=True)
    history = history[history.index('id="version-history"') :]
    assert "create request sent again: SHAR holds no workflow named Unborn" in history


def test_retry_group_and_retry_all_update_the_rows_and_counts_in_place(app, shar) -> None:
    make_user("admin@example.com", "admin", PASSWORD)
    create_workflow("Kept", bpmn("user_task"), async_=False, actor=CLI)
    shar.set_faults(error_rate=1.0)
    for name in ("DownA", "DownB", "DownC"):
        create_workflow(name, bpmn("user_task"), async_=False, actor=CLI)
    launch = launch_instance("Kept", {}, actor=CLI, async_=False)  # a failed launch: another group, left alone
    shar.set_faults(error_rate=0.0)
    creates = list(
        db.session.scalars(
            select(JobRecord).where(JobRecord.job_type == "create_workflow", JobRecord.state == "failed")
        )
    )
    assert len(creates) == 3 and refresh(launch.job).state == "failed"
    web = Browser(app, "admin@example.com", PASSWORD)
    page = web.get("/admin/failed-jobs").get_data(as_text=True)
    assert all(f'id="job-{j.id}"' in page for j in creates)

    answer = web.post(
        "/admin/failed-jobs/groups/retry",
        {"job_type": "create_workflow", "error_shape": creates[0].error_shape},
        headers=HTMX,
    ).get_data(as_text=True)
    assert "3 requeued" in answer
    groups = answer[answer.index('id="failed-groups"') : answer.index('id="failed-list"')]
    lists = answer[answer.index('id="failed-list"') :]
    assert 'hx-swap-oob="outerHTML"' in groups and 'hx-swap-oob="outerHTML"' in lists
    assert "create_workflow" not in groups and "launch_instance" in groups  # the retried group's count is gone
    assert not any(f'id="job-{j.id}"' in lists for j in creates)
    assert f'id="job-{launch.job.id}"' in lists

    answer = web.post("/admin/failed-jobs/retry-all", {"queue": "", "type": ""}, headers=HTMX).get_data(as_text=True)
    assert "1 requeued" in answer
    lists = answer[answer.index('id="failed-list"') :]
    assert f'id="job-{launch.job.id}"' not in lists and "No failed jobs." in lists


def test_only_the_newest_versions_create_is_retried(app, shar, post, client, sign_in) -> None:
    sign_in("admin")
    shar.set_faults(error_rate=1.0)
    old = create_workflow("Aging", bpmn("user_task"), async_=False, actor=CLI).workflow
    shar.set_faults(error_rate=0.0)
    create_workflow("Aging", bpmn("user_task").replace("Review an order", "Review it again"), async_=False, actor=CLI)
    job = db.session.scalars(select(JobRecord).where(JobRecord.target_id == str(old.id))).one()
    answer = post(f"/admin/failed-jobs/{job.id}/retry", page="/admin/failed-jobs", headers=HTMX).get_data(as_text=True)
    assert "is not its newest version (v2 is)" in answer
    assert (refresh(job).state, refresh(old).status) == ("failed", "failed")


def test_a_retry_from_the_page_takes_a_batch_at_a_time_and_says_how_many_remain(app) -> None:  # type: ignore[no-untyped-def]
    """A load probe: a group of 10,000 took 38 s inside the request (gunicorn's timeout is 60 s), and a
    group over 10,000 retried 10,000 without a word about the rest. A press now takes at most
    PAGE_RETRY_BATCH, oldest first, and says what is left."""
    from sqlalchemy import insert

    from app.services.failed_jobs import PAGE_RETRY_BATCH

    make_user("admin@example.com", "admin", PASSWORD)
    queue = app.config["SHARBOARD_SETTINGS"].shar_sync_queue
    row = {"job_type": "sync_instance", "queue": queue, "target_type": "instance", "state": "failed"}
    shape = "SHAR answered 500"
    many = PAGE_RETRY_BATCH + 5
    db.session.execute(
        insert(JobRecord),
        [{**row, "target_id": str(n), "max_attempts": 3, "attempts": 3, "error_shape": shape} for n in range(many)],
    )
    db.session.commit()
    web = Browser(app, "admin@example.com", PASSWORD)
    query = {"job_type": "sync_instance", "error_shape": shape}
    preview = web.get("/admin/failed-jobs/groups/preview", query_string=query, headers=HTMX).get_data(as_text=True)
    assert (
        f"<strong>{PAGE_RETRY_BATCH}</strong> of the {many} failed" in preview and "retry again for the rest" in preview
    )
    answer = web.post("/admin/failed-jobs/groups/retry", query, headers=HTMX).get_data(as_text=True)
    assert f"{PAGE_RETRY_BATCH} requeued" in answer and "<strong>5 still failed</strong>" in answer
    answer = web.post("/admin/failed-jobs/groups/retry", query, headers=HTMX).get_data(as_text=True)
    assert "5 requeued" in answer and "still failed" not in answer
    failed = select(func.count()).select_from(JobRecord).where(JobRecord.state == "failed")
    assert db.session.scalar(failed) == 0
    db.session.execute(
        insert(JobRecord), [{**row, "target_id": f"a{n}", "max_attempts": 3, "attempts": 3} for n in range(many)]
    )
    db.session.commit()
    answer = web.post("/admin/failed-jobs/retry-all", {"queue": "", "type": ""}, headers=HTMX).get_data(as_text=True)
    assert f"{PAGE_RETRY_BATCH} requeued" in answer and "<strong>5 still failed</strong>" in answer
