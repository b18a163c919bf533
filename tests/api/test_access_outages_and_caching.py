"""More error rows and rules: tokens, roles, ownership, 413/502/Redis down, idempotent launches, ETags, paging."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from app.core.extensions import db
from app.jobs.runner import run_job
from app.models import (
    ApiToken,
    IdempotentResponse,
    JobRecord,
    User,
    Workflow,
    WorkflowInstance,
)
from app.models._base import utcnow
from app.services import idempotency
from tests.api.conftest import bearer_for
from tests.support.factories import bpmn
from tests.support.servers import wait_until


def _count(model, *where) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _active(api, name: str = "Flow", fixture: str = "user_task") -> int:  # type: ignore[no-untyped-def]
    response = api.post("/api/shar/workflows", json={"name": name, "bpmn_xml": bpmn(fixture), "async": False})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"]


def test_401_for_a_revoked_token_and_for_an_inactive_user(app, api) -> None:
    assert api.get("/api/shar/statistics").status_code == 200
    token = db.session.query(ApiToken).one()
    token.revoked_at = utcnow()
    db.session.commit()
    revoked = api.get("/api/shar/statistics")
    assert revoked.status_code == 401 and revoked.headers["WWW-Authenticate"].startswith("Bearer")
    token.revoked_at = None
    db.session.query(User).one().active = False
    db.session.commit()
    assert api.get("/api/shar/statistics").status_code == 401


def test_403_for_a_viewer_on_every_write_and_for_deleting_someone_elses_workflow(api) -> None:
    _active(api)
    instance_id = api.post("/api/shar/workflows/Flow/launch", json={}).get_json()["data"]["id"]
    viewer = api.as_role("viewer")
    writes = [
        ("post", "/api/shar/workflows", {"name": "V", "bpmn_xml": bpmn("user_task")}),
        ("post", "/api/shar/workflows/Flow/launch", {}),
        ("delete", "/api/shar/workflows/Flow", None),
        ("post", f"/api/shar/instances/{instance_id}/complete", {}),
        ("post", f"/api/shar/instances/{instance_id}/sync", {}),
        ("patch", f"/api/shar/instances/{instance_id}/variables", {"variables": {"x": 1}}),
        ("post", f"/api/shar/instances/{instance_id}/cancel", {}),
    ]
    for method, path, body in writes:
        response = getattr(viewer, method)(path, json=body)
        assert response.status_code == 403 and response.get_json()["success"] is False, (method, path)
    assert viewer.get(f"/api/shar/instances/{instance_id}").status_code == 200  # viewers read everything
    other = api.as_role("user", "eve@example.com")
    denied = other.delete("/api/shar/workflows/Flow")
    assert denied.status_code == 403 and "only its owner or an admin" in denied.get_json()["message"]
    for method, path, body in writes[3:]:  # someone else's instance does not exist for a plain user
        assert getattr(other, method)(path, json=body).status_code == 404, path
    assert _count(WorkflowInstance, WorkflowInstance.status == "launching") == 1


def test_413_when_the_request_body_is_over_the_limit(make_app) -> None:
    app = make_app(max_bpmn_bytes=1024)  # the request limit is twice the BPMN limit plus the JSON limit (1 MiB)
    body = b'{"name": "Big", "bpmn_xml": "' + b"x" * (1024 * 1024 + 2048) + b'"}'
    response = app.test_client().post(
        "/api/shar/workflows", data=body, content_type="application/json", headers=bearer_for()
    )
    assert response.status_code == 413
    assert response.get_json() == {
        "success": False,
        "message": "the request body is over the upload limit",
        "errors": {"bpmn_xml": ["the upload is too large"]},
    }


def test_a_bpmn_within_its_limit_is_not_refused_for_its_json_escaping(make_app) -> None:
    """Quotes double in a JSON string: a BPMN under SHARBOARD_MAX_BPMN_BYTES must still get in."""
    app = make_app(max_bpmn_bytes=2 * 1024 * 1024)
    xml = bpmn("user_task").replace("<bpmn:process", "<!--" + '"' * 2_000_000 + "--><bpmn:process", 1)
    # Under the BPMN limit, yet over the old request limit (the BPMN limit plus 1 MiB) once escaped.
    assert len(xml.encode()) < 2 * 1024 * 1024 and len(json.dumps(xml)) > 3 * 1024 * 1024
    response = app.test_client().post(
        "/api/shar/workflows", json={"name": "Quoted", "bpmn_xml": xml}, headers=bearer_for()
    )
    assert response.status_code == 202, response.get_json()


def test_502_when_a_blocking_create_or_launch_fails_in_shar(api, shar) -> None:
    shar.set_faults(error_rate=1.0)
    failed = api.post("/api/shar/workflows", json={"name": "Down", "bpmn_xml": bpmn("user_task"), "async": False})
    body = failed.get_json()
    assert failed.status_code == 502 and body["success"] is False and body["data"]["status"] == "failed"
    assert body["errors"]["shar"] and body["message"].startswith("Workflow creation failed")
    shar.set_faults(error_rate=0.0)
    _active(api)
    shar.set_faults(error_rate=1.0)
    launch = api.post("/api/shar/workflows/Flow/launch", json={"async": False})
    assert launch.status_code == 502 and launch.get_json()["data"]["status"] == "failed"


def test_a_dead_redis_answers_with_the_placeholder_and_says_the_job_waits(make_app) -> None:
    app = make_app(redis_url="redis://127.0.0.1:1/0")
    client, headers = app.test_client(), bearer_for()
    created = client.post("/api/shar/workflows", json={"name": "Later", "bpmn_xml": bpmn("user_task")}, headers=headers)
    body = created.get_json()
    assert created.status_code == 202 and body["data"]["status"] == "creating" and body["data"]["async"] is True
    assert body["message"] == (
        "Workflow creation stored; the queue is unavailable, so it will be queued when the queue is back"
    )
    job = db.session.scalars(select(JobRecord)).one()
    assert job.enqueue_error and job.state == "queued"
    run_job(job.id)  # what a consumer does once the reconciler has handed the job over
    launched = client.post("/api/shar/workflows/Later/launch", json={"variables": {"a": 1}}, headers=headers)
    assert launched.status_code == 202 and launched.get_json()["data"]["status"] == "launching"
    assert "will be queued when the queue is back" in launched.get_json()["message"]
    instance_id = launched.get_json()["data"]["id"]
    run_job(db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one().id)
    synced = client.post(f"/api/shar/instances/{instance_id}/sync", json={}, headers=headers)
    assert synced.status_code == 202 and synced.get_json()["message"] == (
        "Instance sync stored; the queue is unavailable, so it will be queued when the queue is back"
    )


def test_idempotent_launch_retried_makes_one_instance_and_one_job(api) -> None:
    _active(api)
    jobs = _count(JobRecord)
    headers = {"Idempotency-Key": "launch-42"}
    first = api.post("/api/shar/workflows/Flow/launch", json={"variables": {"n": 42}}, headers=headers)
    again = api.post("/api/shar/workflows/Flow/launch", json={"variables": {"n": 42}}, headers=headers)
    assert first.status_code == again.status_code == 202 and first.get_json() == again.get_json()
    assert _count(WorkflowInstance) == 1 and _count(JobRecord) == jobs + 1
    other_user = api.as_role("user", "bob@example.com")  # keys are per user
    assert (
        other_user.post("/api/shar/workflows/Flow/launch", json={"variables": {"n": 42}}, headers=headers).status_code
        == 202
    )
    assert _count(WorkflowInstance) == 2


def test_a_key_whose_first_request_is_still_running_is_409_and_a_refused_request_frees_its_key(api) -> None:
    user_id = db.session.query(User).one().id
    digest = idempotency.request_hash("POST", "/api/shar/workflows/Flow/launch", b"{}")
    db.session.add(IdempotentResponse(user_id=user_id, key="busy", request_hash=digest, status_code=0, body=""))
    db.session.commit()  # as if the first request with this key were still being answered
    busy = api.post(
        "/api/shar/workflows/Flow/launch",
        data=b"{}",
        content_type="application/json",
        headers={"Idempotency-Key": "busy"},
    )
    assert busy.status_code == 409 and "still being processed" in busy.get_json()["message"]
    refused = api.post("/api/shar/workflows/Nope/launch", json={}, headers={"Idempotency-Key": "k2"})
    assert refused.status_code == 404
    _active(api, "Nope")
    retried = api.post("/api/shar/workflows/Nope/launch", json={}, headers={"Idempotency-Key": "k2"})
    assert retried.status_code == 202


def test_etags_change_with_the_status_and_304_otherwise(api) -> None:
    created = api.post("/api/shar/workflows", json={"name": "Flow", "bpmn_xml": bpmn("user_task")}).get_json()
    status_url = f"/api/shar/workflows/{created['data']['id']}/status"
    creating = api.get(status_url)
    assert creating.get_json() == {"status": "creating", "ready": False}
    etag = creating.headers["ETag"]
    assert api.get(status_url, headers={"If-None-Match": etag}).status_code == 304
    run_job(db.session.scalars(select(JobRecord)).one().id)
    active = api.get(status_url, headers={"If-None-Match": etag})
    assert active.status_code == 200 and active.get_json() == {"status": "active", "ready": True}
    for url in ("/api/shar/workflows/Flow", "/api/shar/workflows", "/api/shar/statistics"):
        first = api.get(url)
        assert api.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304, url
    instance_id = api.post("/api/shar/workflows/Flow/launch", json={}).get_json()["data"]["id"]
    shown = api.get(f"/api/shar/instances/{instance_id}")
    assert (
        api.get(f"/api/shar/instances/{instance_id}", headers={"If-None-Match": shown.headers["ETag"]}).status_code
        == 304
    )
    # The instance's ETag is its row's version: launched, then synced, it answers in full again.
    launch = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    run_job(launch.id)
    running = api.get(f"/api/shar/instances/{instance_id}", headers={"If-None-Match": shown.headers["ETag"]})
    assert running.status_code == 200 and running.get_json()["data"]["status"] == "running"
    api.post(f"/api/shar/instances/{instance_id}/sync", json={"async": False})
    assert (
        api.get(f"/api/shar/instances/{instance_id}", headers={"If-None-Match": running.headers["ETag"]}).status_code
        == 200
    )
    assert api.get("/api/shar/workflows/999/status").status_code == 404


def test_async_defaults_to_shar_async_enabled(make_app) -> None:
    app = make_app(shar_async_enabled=False)
    created = app.test_client().post(
        "/api/shar/workflows", json={"name": "Now", "bpmn_xml": bpmn("user_task")}, headers=bearer_for()
    )
    assert created.status_code == 201 and created.get_json()["data"] == {
        "id": created.get_json()["data"]["id"],
        "name": "Now",
        "status": "active",
        "async": False,
    }


def test_workflow_list_pages_filters_and_limits(api) -> None:
    for name in ("A", "B", "C"):
        _active(api, name)
    api.post("/api/shar/workflows", json={"name": "D", "bpmn_xml": bpmn("user_task")})  # creating
    api.post("/api/shar/workflows", json={"name": "A", "bpmn_xml": bpmn("parallel")})  # A v2, creating
    page = api.get("/api/shar/workflows?page=2&per_page=2").get_json()["data"]
    assert [w["name"] for w in page["items"]] == ["C", "D"] and page["total"] == 4
    active = api.get("/api/shar/workflows?status=active").get_json()["data"]
    assert [(w["name"], w["version"]) for w in active["items"]] == [("B", 1), ("C", 1)]  # A's latest is v2
    for bad, field in (
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page=-1", "page"),
        ("per_page=1_0", "per_page"),
        ("page=" + "9" * 5000, "page"),
        ("status=bogus", "status"),
    ):
        response = api.get(f"/api/shar/workflows?{bad}")
        assert response.status_code == 422 and list(response.get_json()["errors"]) == [field], bad


def test_variables_patch_merges_before_launch_and_sync_takes_a_callback(make_app, processes, receiver) -> None:
    app = make_app(webhook_allowed_hosts=(f"127.0.0.1:{receiver.port}",))
    client, headers = app.test_client(), bearer_for()
    client.post(
        "/api/shar/workflows", json={"name": "Flow", "bpmn_xml": bpmn("user_task"), "async": False}, headers=headers
    )
    instance_id = client.post(
        "/api/shar/workflows/Flow/launch", json={"variables": {"a": 1}}, headers=headers
    ).get_json()["data"]["id"]
    patched = client.patch(
        f"/api/shar/instances/{instance_id}/variables", json={"variables": {"b": 2}}, headers=headers
    )
    assert patched.status_code == 200 and patched.get_json()["data"]["variables"] == {"a": 1, "b": 2}
    assert client.patch(f"/api/shar/instances/{instance_id}/variables", json={}, headers=headers).status_code == 422
    processes.start_consumers()
    wait_until(
        lambda: (
            client.get(f"/api/shar/instances/{instance_id}", headers=headers).get_json()["data"]["status"] == "running"
        ),
        what="the launch",
    )
    synced = client.post(
        f"/api/shar/instances/{instance_id}/sync", json={"callback_url": receiver.url("/synced")}, headers=headers
    )
    assert synced.status_code == 202 and synced.get_json()["data"]["job"]["job_type"] == "sync_instance"
    wait_until(lambda: any(r.path == "/synced" for r in receiver.requests), what="the sync callback")
    payload = next(r for r in receiver.requests if r.path == "/synced").json()
    assert payload["status"] == "success"


def test_statistics_average_duration_and_success_rate_in_sql(api) -> None:
    _active(api)
    now = utcnow()
    workflow_id = db.session.scalar(select(Workflow.id).where(Workflow.name == "Flow"))
    rows = [("completed", 10), ("completed", 30), ("failed", 5), ("running", None)]
    for status, seconds in rows:
        instance = WorkflowInstance(
            workflow_id=workflow_id,
            status=status,
            variables={},
            launched_at=now,
            completed_at=now + timedelta(seconds=seconds) if seconds else None,
            duration_seconds=seconds,
            duration_clock="sharboard" if seconds else None,
        )
        db.session.add(instance)
    db.session.commit()
    admin = api.as_role("admin")  # the rows belong to no user: only an admin (or viewer) counts them
    data = admin.get("/api/shar/workflows/Flow/statistics").get_json()["data"]
    assert (data["total"], data["completed"], data["failed"], data["running"]) == (4, 2, 1, 1)
    assert data["average_duration_seconds"] == 20.0 and data["success_rate"] == round(2 / 3, 4)
    listed = admin.get("/api/shar/workflows").get_json()["data"]["items"][0]["statistics"]
    assert listed == {k: v for k, v in data.items() if k != "workflow"}


def test_blocking_sync_reads_shar_now_and_answers_502_when_shar_fails(api, shar) -> None:
    _active(api)
    instance_id = api.post("/api/shar/workflows/Flow/launch", json={"async": False}).get_json()["data"]["id"]
    synced = api.post(f"/api/shar/instances/{instance_id}/sync", json={"async": False})
    assert synced.status_code == 200 and synced.get_json()["data"]["current_activities"] == ["review"]
    assert _count(JobRecord, JobRecord.job_type == "sync_instance") == 0
    shar.set_faults(error_rate=1.0)
    down = api.post(f"/api/shar/instances/{instance_id}/sync", json={"async": False})
    assert down.status_code == 502 and down.get_json()["errors"]["shar"]
    shar.set_faults(error_rate=0.0)
    api.post(f"/api/shar/instances/{instance_id}/cancel", json={})
    ended = api.post(f"/api/shar/instances/{instance_id}/sync", json={"async": False})
    assert ended.status_code == 409 and "cancelled" in ended.get_json()["message"]


def test_statistics_count_only_a_plain_users_own_instances(api) -> None:
    _active(api)
    api.post("/api/shar/workflows/Flow/launch", json={})
    other = api.as_role("user", "eve@example.com")
    other.post("/api/shar/workflows/Flow/launch", json={})
    other.post("/api/shar/workflows/Flow/launch", json={})
    admin = api.as_role("admin")
    for client, expected in ((api, 1), (other, 2), (admin, 3), (api.as_role("viewer"), 3)):
        assert client.get("/api/shar/statistics").get_json()["data"]["launching"] == expected
        assert client.get("/api/shar/workflows/Flow/statistics").get_json()["data"]["total"] == expected
        assert client.get("/api/shar/workflows").get_json()["data"]["items"][0]["statistics"]["total"] == expected
