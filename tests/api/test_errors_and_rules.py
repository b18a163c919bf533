"""Every error row of the API, idempotency, ETags and visibility."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import create_app
from app.core.extensions import db
from app.models import JobRecord
from tests.support.factories import bpmn


def _create_sync(api, name: str = "Flow", fixture: str = "user_task"):  # type: ignore[no-untyped-def]
    return api.post("/api/shar/workflows", json={"name": name, "bpmn_xml": bpmn(fixture), "async": False})


def test_401_without_a_valid_token(app) -> None:
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/shar/workflows", headers=headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["success"] is False


def test_403_for_a_viewer_writing(api) -> None:
    viewer = api.as_role("viewer")
    assert viewer.get("/api/shar/workflows").status_code == 200
    response = viewer.post("/api/shar/workflows", json={"name": "X", "bpmn_xml": bpmn("user_task")})
    assert response.status_code == 403 and "read-only" in response.get_json()["message"]


def test_422_names_the_bad_field(api) -> None:
    cases = [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"bpmn_xml": "<x/>"}', "name"),
        (b'{"name": "X"}', "bpmn_xml"),
        (b'{"name": "X", "bpmn_xml": "<html/>"}', "bpmn_xml"),
        (b'{"name": "../etc", "bpmn_xml": "<x/>"}', "name"),
        (b'{"name": "X", "bpmn_xml": "<x/>", "async": "yes"}', "async"),
    ]
    for raw, field in cases:
        response = api.post("/api/shar/workflows", data=raw, content_type="application/json")
        assert response.status_code == 422, raw
        body = response.get_json()
        assert body["success"] is False and field in body["errors"], (raw, body)


def test_405_carries_allow_and_names_the_methods_the_url_takes(api) -> None:
    # HTTP requires Allow on every 405; the envelope's own answer had dropped werkzeug's.
    for method, path, allowed in (
        ("put", "/api/shar/workflows", "GET, HEAD, OPTIONS, POST"),
        ("delete", "/api/shar/instances", "GET, HEAD, OPTIONS"),
    ):
        response = getattr(api, method)(path)
        assert response.status_code == 405 and response.headers["Allow"] == allowed, path
        body = response.get_json()
        assert body["success"] is False
        assert body["message"] == f"{method.upper()} is not allowed here: this URL takes {allowed}"


def test_an_unknown_body_field_is_refused_naming_it_not_ignored(api) -> None:
    """A misspelt field would otherwise be dropped without a word (a launch without its variables)."""
    assert _create_sync(api).status_code == 201
    for path, body in [
        ("/api/shar/workflows/Flow/launch", {"varibles": {"a": 1}}),
        ("/api/shar/workflows", {"name": "X", "bpmn_xml": bpmn("user_task"), "owner": "x"}),
        ("/api/shar/instances/bulk", {"action": "sync", "filters": {}}),
    ]:
        response = api.post(path, json=body)
        assert response.status_code == 422, (path, response.get_json())
        unknown = next(name for name in body if name not in ("name", "bpmn_xml", "action"))
        assert list(response.get_json()["errors"]) == [unknown]
        assert f"unknown field {unknown!r}" in response.get_json()["message"]
    assert (
        db.session.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.job_type != "create_workflow"))
        == 0
    )


def test_422_for_a_hostile_callback_and_variables_that_are_not_an_object(api) -> None:
    refused = api.post(
        "/api/shar/workflows",
        json={"name": "X", "bpmn_xml": bpmn("user_task"), "callback_url": "http://169.254.169.254/latest"},
    )
    assert refused.status_code == 422 and "callback_url" in refused.get_json()["errors"]
    _create_sync(api)
    bad = api.post("/api/shar/workflows/Flow/launch", json={"variables": [1, 2]})
    assert bad.status_code == 422 and "variables" in bad.get_json()["errors"]


def test_404_unknown_or_not_yours(api) -> None:
    assert api.get("/api/shar/workflows/Nope").status_code == 404
    assert api.post("/api/shar/workflows/Nope/launch", json={}).status_code == 404
    _create_sync(api)
    instance_id = api.post("/api/shar/workflows/Flow/launch", json={"async": False}).get_json()["data"]["id"]
    other = api.as_role("user", "eve@example.com")
    assert other.get(f"/api/shar/instances/{instance_id}").status_code == 404
    assert other.get("/api/shar/instances").get_json()["data"]["total"] == 0
    admin = api.as_role("admin")
    assert admin.get(f"/api/shar/instances/{instance_id}").status_code == 200


def test_409_when_the_state_forbids_it(api) -> None:
    api.post("/api/shar/workflows", json={"name": "Busy", "bpmn_xml": bpmn("user_task")})  # still creating
    launch = api.post("/api/shar/workflows/Busy/launch", json={})
    assert launch.status_code == 409 and "creating" in launch.get_json()["message"]
    _create_sync(api, "Auto", "parallel")
    instance_id = api.post("/api/shar/workflows/Auto/launch", json={"async": False}).get_json()["data"]["id"]
    complete = api.post(f"/api/shar/instances/{instance_id}/complete", json={})
    # Service tasks only: it ended inside SHAR's launch answer, so it is completed at once.
    assert complete.status_code == 409 and "is completed" in complete.get_json()["message"]


def test_413_over_the_upload_limit(make_app) -> None:
    from app.models import ApiToken
    from tests.support.factories import make_user

    app = make_app(max_bpmn_bytes=2048)
    row, token = ApiToken.issue(make_user(), "test")
    db.session.add(row)
    db.session.commit()
    huge = bpmn("user_task") + "<!--" + "x" * 4000 + "-->"
    response = app.test_client().post(
        "/api/shar/workflows", json={"name": "Big", "bpmn_xml": huge}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 413 and "bpmn_xml" in response.get_json()["errors"]


def test_503_with_retry_after_when_the_database_is_down(tmp_path) -> None:
    app = create_app(
        instance_dir=str(tmp_path),
        secret_key="x",
        database_url="postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=1",
    )
    response = app.test_client().get("/api/shar/workflows", headers={"Authorization": "Bearer shb_x"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.get_json()["success"] is False


def test_idempotency_key_replays_and_queues_one_job(api) -> None:
    payload = {"name": "Once", "bpmn_xml": bpmn("user_task")}
    headers = {"Idempotency-Key": "create-once-1"}
    first = api.post("/api/shar/workflows", json=payload, headers=headers)
    second = api.post("/api/shar/workflows", json=payload, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.get_json() == second.get_json() and second.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).select_from(JobRecord)) == 1
    changed = api.post("/api/shar/workflows", json={**payload, "description": "other"}, headers=headers)
    assert changed.status_code == 422 and "Idempotency-Key" in changed.get_json()["errors"]


def test_status_endpoints_answer_304_when_unchanged(api) -> None:
    workflow_id = _create_sync(api).get_json()["data"]["id"]
    first = api.get(f"/api/shar/workflows/{workflow_id}/status")
    assert first.status_code == 200 and first.headers["ETag"]
    again = api.get(f"/api/shar/workflows/{workflow_id}/status", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_instances_list_complete_sync_variables_cancel_and_statistics(api) -> None:
    _create_sync(api)
    instance_id = api.post("/api/shar/workflows/Flow/launch", json={"variables": {"a": 1}, "async": False}).get_json()[
        "data"
    ]["id"]
    listed = api.get("/api/shar/instances?status=running&workflow=Flow").get_json()["data"]
    assert [i["id"] for i in listed["items"]] == [instance_id]
    assert api.get("/api/shar/instances?status=bogus").status_code == 422
    shown = api.get(f"/api/shar/instances/{instance_id}").get_json()["data"]
    assert shown["current_activities"] == ["review"]
    assert api.post(f"/api/shar/instances/{instance_id}/complete", json={}).status_code == 202
    assert api.post(f"/api/shar/instances/{instance_id}/sync", json={}).status_code == 202
    patched = api.patch(f"/api/shar/instances/{instance_id}/variables", json={"variables": {"b": 2}})
    assert patched.status_code == 409  # SHAR cannot change a launched instance's variables
    cancelled = api.post(f"/api/shar/instances/{instance_id}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.get_json()["data"]["status"] == "cancelled"
    stats = api.get("/api/shar/statistics").get_json()["data"]
    assert stats["total"] == 1 and stats["cancelled"] == 1
    per_workflow = api.get("/api/shar/workflows/Flow/statistics").get_json()["data"]
    assert per_workflow["workflow"] == "Flow" and per_workflow["total"] == 1
    listing = api.get("/api/shar/workflows?status=active").get_json()["data"]
    assert listing["items"][0]["statistics"]["total"] == 1


def test_delete_makes_the_workflow_inactive_and_keeps_history(api) -> None:
    _create_sync(api)
    response = api.delete("/api/shar/workflows/Flow")
    assert response.status_code == 202 and response.get_json()["data"]["status"] == "inactive"
    assert api.get("/api/shar/workflows/Flow").get_json()["data"]["status"] == "inactive"
    assert api.post("/api/shar/workflows/Flow/launch", json={}).status_code == 409


def _complete(api, instance_id: str):  # type: ignore[no-untyped-def]
    return api.post(f"/api/shar/instances/{instance_id}/complete", json={"variables": {"n": 1}})


def _completions() -> list[JobRecord]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(JobRecord).where(JobRecord.job_type == "complete_task").order_by(JobRecord.id))
    )


def test_409_while_a_completion_of_the_instance_is_queued_or_retrying(database, api, shar) -> None:
    from app.jobs.runner import run_job

    _create_sync(api)
    instance_id = api.post("/api/shar/workflows/Flow/launch", json={"async": False}).get_json()["data"]["id"]
    first = _complete(api, instance_id)
    assert first.status_code == 202
    job_id = first.get_json()["data"]["job"]["id"]
    for _ in range(2):  # sent three times: only the first is queued
        again = _complete(api, instance_id)
        assert again.status_code == 409, again.get_json()
        assert again.get_json()["message"] == (
            f"a completion of instance {instance_id} is already queued (job {job_id}); wait for it to finish"
        )
    assert [job.id for job in _completions()] == [job_id]
    # Its first attempt fails (SHAR down) and a retry waits: still one completion at a time.
    shar.set_faults(error_rate=1.0)
    run_job(job_id)
    assert _completions()[0].state == "retrying"
    retrying = _complete(api, instance_id)
    assert retrying.status_code == 409
    assert f"already queued for a retry (job {job_id})" in retrying.get_json()["message"]
    # Once it has finished (failed for good here), a new completion is accepted.
    run_job(job_id, allow_retry=False)
    shar.set_faults(error_rate=0.0)
    assert _completions()[0].state == "failed"
    accepted = _complete(api, instance_id)
    assert accepted.status_code == 202, accepted.get_json()
    second = accepted.get_json()["data"]["job"]["id"]
    assert [job.id for job in _completions()] == [job_id, second]
    # An admin retrying the failed one meanwhile is refused too: the task would be completed twice.
    from app.core.errors import Conflict
    from app.services.actors import CLI
    from app.services.failed_jobs import retry_failed_job

    with pytest.raises(Conflict, match=f"already queued \\(job {second}\\)"):
        retry_failed_job(job_id, actor=CLI)
    assert [job.state for job in _completions()] == ["failed", "queued"]


def test_422_names_an_empty_or_control_character_variable_name(database, api) -> None:
    _create_sync(api)
    instance_id = api.post("/api/shar/workflows/Flow/launch", json={"async": False}).get_json()["data"]["id"]
    bad = [
        ({"": 1}, "a variable has an empty name"),
        ({"  ": 1}, "a variable has an empty name"),
        ({"a\x01": 1}, "the variable name 'a\\x01' contains the control character U+0001"),
        ({"line\nbreak": 1}, "U+000A"),
        ({"del\x7f": 1}, "U+007F"),
        ({"c1\x85": 1}, "U+0085"),
        ({"x" * 201: 1}, "is too long: 201 characters"),
    ]
    for variables, words in bad:
        for path in (
            "/api/shar/workflows/Flow/launch",
            f"/api/shar/instances/{instance_id}/complete",
            f"/api/shar/instances/{instance_id}/messages",
        ):
            body = {"variables": variables, **({"name": "go"} if path.endswith("messages") else {})}
            response = api.post(path, json=body)
            assert response.status_code == 422, (path, variables, response.get_json())
            assert words in response.get_json()["message"] and "variables" in response.get_json()["errors"], words
    assert (
        db.session.scalar(select(func.count()).select_from(JobRecord).where(JobRecord.job_type != "create_workflow"))
        == 1
    )  # the one launch above
    # Names no filter can match are still stored: spaces, dots, any letter, 200 characters, nested keys.
    fine = {"order id": 1, "customer.name": "x", "größe": 2, "名前": 3, "x" * 200: 4, "nested": {"": {"a\x01": 5}}}
    launched = api.post("/api/shar/workflows/Flow/launch", json={"variables": fine, "async": False})
    assert launched.status_code == 201, launched.get_json()
    shown = api.get(f"/api/shar/instances/{launched.get_json()['data']['id']}").get_json()["data"]
    assert shown["status"] == "running" and shown["variables"] == fine


def test_a_new_name_differing_from_another_only_in_case_is_refused(database, api) -> None:
    assert _create_sync(api, "Invoice").status_code == 201
    for name, token in (("invoice", api), ("INVOICE", api.as_role("user", "bob@example.com"))):
        refused = token.post("/api/shar/workflows", json={"name": name, "bpmn_xml": bpmn("user_task"), "async": False})
        assert refused.status_code == 409, refused.get_json()
        assert (
            "a workflow named 'Invoice' exists; names that differ only in case are not allowed"
            in refused.get_json()["message"]
        )
    assert _create_sync(api, "Invoice").status_code in (200, 201)  # the name itself takes new versions
    from app.models import Workflow

    assert set(db.session.scalars(select(Workflow.name))) == {"Invoice"}
    # Two requests at once pass the check together: the database's index refuses the second name.
    from sqlalchemy.exc import IntegrityError

    from app.models import WorkflowName

    db.session.add(WorkflowName(name="INVOICE"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_retried_completion_that_already_reached_shar_does_not_complete_the_next_task(database, api, shar) -> None:
    """The fault probe's case: an attempt completes `first` in SHAR and is cut off (a timeout, a killed
    worker) before it is recorded; the retry must not complete `second`, which nobody approved."""
    from app.jobs.runner import run_job
    from app.models import ActivityEvent, WorkflowInstance
    from app.services.instance_work import complete_task_in_shar
    from app.shar import current_client

    assert _create_sync(api, "TwoStep", "two_step").status_code == 201
    instance_id = api.post("/api/shar/workflows/TwoStep/launch", json={"async": False}).get_json()["data"]["id"]
    job_id = _complete(api, instance_id).get_json()["data"]["job"]["id"]
    assert _completions()[0].payload["waiting_at"] == ["first"]
    complete_task_in_shar(instance_id, {"n": 1})  # the first attempt reached SHAR...
    job = db.session.get(JobRecord, job_id)
    job.attempts = 1  # ...and was cut off: the reconciler marks it interrupted, the next attempt runs
    db.session.commit()
    run_job(job_id)
    assert _completions()[0].state == "succeeded"
    shar_id = db.session.get(WorkflowInstance, instance_id).shar_instance_id
    assert current_client().get_instance(shar_id).current_activities == ("second",)  # second still waits
    said = [e.message for e in db.session.scalars(select(ActivityEvent).where(ActivityEvent.target_id == instance_id))]
    assert any("by an earlier attempt" in message and "not sent again" in message for message in said), said


def test_a_completion_asked_from_a_view_older_than_shar_does_not_complete_the_next_task(database, api, shar) -> None:
    """Found from outside: a completion succeeded in SHAR, its sync still queued behind others, so the row
    still showed `first`; a second completion, asked from that view, was sent on its first attempt and
    completed `second`, an approval nobody gave. Every attempt now asks SHAR where the instance waits."""
    from app.jobs.runner import run_job
    from app.models import ActivityEvent, WorkflowInstance
    from app.shar import current_client

    assert _create_sync(api, "TwoStep", "two_step").status_code == 201
    instance_id = api.post("/api/shar/workflows/TwoStep/launch", json={"async": False}).get_json()["data"]["id"]
    shar_id = db.session.get(WorkflowInstance, instance_id).shar_instance_id
    current_client().complete_instance(shar_id, None)  # completed elsewhere: the row has not synced since
    assert db.session.get(WorkflowInstance, instance_id).current_activities == ["first"]
    job_id = _complete(api, instance_id).get_json()["data"]["job"]["id"]
    assert _completions()[0].payload["waiting_at"] == ["first"]
    run_job(job_id)
    assert _completions()[0].state == "succeeded"
    assert current_client().get_instance(shar_id).current_activities == ("second",)  # second still waits
    said = [e.message for e in db.session.scalars(select(ActivityEvent).where(ActivityEvent.target_id == instance_id))]
    assert any(message.startswith("not sent: it no longer waits at") and "second" in message for message in said), said


def test_a_completion_that_fails_for_good_says_so_on_the_timeline(database, api, shar) -> None:
    from app.jobs.runner import run_job
    from app.models import ActivityEvent

    _create_sync(api)
    instance_id = api.post("/api/shar/workflows/Flow/launch", json={"async": False}).get_json()["data"]["id"]
    job_id = _complete(api, instance_id).get_json()["data"]["job"]["id"]
    shar.set_faults(error_rate=1.0)
    run_job(job_id, allow_retry=False)
    shar.set_faults(error_rate=0.0)
    said = [e.message for e in db.session.scalars(select(ActivityEvent).where(ActivityEvent.target_id == instance_id))]
    assert any(message.startswith("the task completion failed: ") for message in said), said


def test_cancel_waits_for_a_launch_being_sent_and_a_launch_answered_after_a_cancel_is_kept(database, api, shar) -> None:
    """The fault probe's case: cancelled while the launch was in SHAR, the instance ran there with
    no trace of it here."""
    from app.lifecycle.events import Pending
    from app.models import ActivityEvent, WorkflowInstance
    from app.services.instance_work import _apply_launch_answer
    from app.shar import current_client

    _create_sync(api)
    instance_id = api.post("/api/shar/workflows/Flow/launch", json={}).get_json()["data"]["id"]
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    job.state = "running"  # claimed: its call to SHAR is under way
    db.session.commit()
    refused = api.post(f"/api/shar/instances/{instance_id}/cancel")
    assert refused.status_code == 409, refused.get_json()
    assert f"is being sent to SHAR (job {job.id})" in refused.get_json()["message"]
    assert db.session.get(WorkflowInstance, instance_id).status == "launching"

    # The narrow race left: the cancel lands between the job's claim and SHAR's answer.
    answer = current_client().launch_instance("Flow", {})
    job.state = "queued"
    db.session.commit()
    assert api.post(f"/api/shar/instances/{instance_id}/cancel").status_code == 200
    instance = db.session.get(WorkflowInstance, instance_id)
    _apply_launch_answer(instance, answer, Pending(), requests=1)
    db.session.expire_all()
    instance = db.session.get(WorkflowInstance, instance_id)
    assert (instance.status, instance.shar_instance_id) == ("cancelled", answer.id)
    said = [e.message for e in db.session.scalars(select(ActivityEvent).where(ActivityEvent.target_id == instance_id))]
    assert any("it runs there, untracked" in message for message in said), said
