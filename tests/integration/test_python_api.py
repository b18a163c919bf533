"""The Python API (app/python_api.py, issue 24) through the real stack: consumers, the local engine,
SQLite and PostgreSQL. Each call of the seed (create and launch with a placeholder, sync one, sync all
running) and the reads, with actors named by e-mail or as the system; and from outside any app context
(a thread of a worker, a request of another Flask app)."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from app import python_api
from app.core.extensions import db
from app.models import AuditEntry, JobRecord, Notification
from tests.support.factories import bpmn, make_user
from tests.support.servers import wait_until


def _status(instance_id: str, actor: Any = python_api.SYSTEM) -> str:
    return python_api.get_instance(instance_id, actor=actor).status


def _active(name: str, file: str, actor: Any) -> python_api.WorkflowView:
    python_api.create_workflow(name, bpmn(file), actor=actor)
    wait_until(lambda: python_api.get_workflow(name, actor=actor).status == "active", what=f"{name} to be active")
    return python_api.get_workflow(name, actor=actor)


def _running(name: str, actor: Any) -> python_api.InstanceView:
    instance = python_api.launch(name, {"orderId": "A1"}, actor=actor)
    wait_until(lambda: _status(instance.id) == "running", what="the instance to run")
    return python_api.get_instance(instance.id, actor=actor)


def _complete_in_shar(shar: Any, instance: python_api.InstanceView) -> None:
    """Behind sharboard's back: only a sync can tell it."""
    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete").raise_for_status()


def test_create_workflow_returns_its_placeholder_and_a_job_makes_it_active(database, app, processes) -> None:
    user = make_user()
    processes.start_consumers()
    created = python_api.create_workflow("Orders", bpmn("user_task"), actor=user.email, description="orders")
    assert (created.name, created.version, created.status, created.created_by) == ("Orders", 1, "creating", user.id)
    assert db.session.get(JobRecord, created.job_id).job_type == "create_workflow"
    wait_until(lambda: python_api.get_workflow("Orders", actor=user.email).status == "active", what="active")
    again = python_api.create_workflow("Orders", bpmn("user_task"), actor=user.email)
    assert (again.id, again.job_id) == (created.id, None)  # the same file: nothing new
    assert python_api.create_workflow("Orders", bpmn("parallel"), actor=user.email).version == 2
    assert python_api.get_workflow("Orders", actor=user.email, version=1).description == "orders"
    with pytest.raises(python_api.InvalidInput):
        python_api.create_workflow("Orders", "<not bpmn", actor=user.email)


def test_launch_returns_the_placeholder_at_once_with_its_job_queued(database, app, processes) -> None:
    user = make_user()
    processes.start_consumers()
    _active("Review", "user_task", user.email)
    processes.stop()  # nobody runs the launch: what comes back is the placeholder, its job queued
    launched = python_api.launch("Review", {"orderId": "A1"}, actor=user.email)
    assert (launched.status, dict(launched.variables), launched.created_by) == ("launching", {"orderId": "A1"}, user.id)
    job = db.session.get(JobRecord, launched.job_id)
    assert (job.job_type, job.target_id, job.state) == ("launch_instance", launched.id, "queued")
    processes.start_consumers()
    wait_until(lambda: _status(launched.id) == "running", what="the launch")
    assert python_api.get_instance(launched.id, actor=user.email).current_activities == ("review",)
    with pytest.raises(python_api.NotFound):
        python_api.launch("Nothing", {}, actor=user.email)


def test_sync_one_reads_an_instance_back_from_shar(database, app, processes, shar) -> None:
    user = make_user()
    processes.start_consumers()
    _active("Review", "user_task", user.email)
    instance = _running("Review", user.email)
    _complete_in_shar(shar, instance)
    assert _status(instance.id) == "running"
    job_id = python_api.sync_one(instance.id, actor=user.email)
    assert db.session.get(JobRecord, job_id).job_type == "sync_instance"
    wait_until(lambda: _status(instance.id) == "completed", what="the sync to see the completion")
    with pytest.raises(python_api.Conflict):
        python_api.sync_one(instance.id, actor=user.email)  # only running instances are synced


def test_sync_all_running_queues_every_running_instance(database, app, processes, shar) -> None:
    user = make_user()
    processes.start_consumers()
    _active("Review", "user_task", user.email)
    instances = [_running("Review", user.email) for _ in range(3)]
    for instance in instances[:2]:
        _complete_in_shar(shar, instance)
    with pytest.raises(python_api.PermissionDenied):
        python_api.sync_all_running(actor=user.email)  # admins only; a user is not one
    assert python_api.sync_all_running(actor=python_api.system("nightly")) == 3
    wait_until(lambda: [_status(i.id) for i in instances] == ["completed", "completed", "running"], what="syncs")
    actors = db.session.scalars(select(AuditEntry.actor_name).where(AuditEntry.action == "instance.sync_many")).all()
    assert actors == ["system:nightly"]


def test_reading_and_actors_follow_the_same_rules(database, app, processes) -> None:
    ann, bob = make_user(), make_user("bob@example.com")
    processes.start_consumers()
    _active("Review", "user_task", ann.email)
    instance = _running("Review", ann.email)
    assert python_api.get_instance(instance.id, actor=python_api.SYSTEM).id == instance.id
    with pytest.raises(python_api.NotFound):
        python_api.get_instance(instance.id, actor=bob.email)  # not bob's to see
    with pytest.raises(python_api.NotFound):
        python_api.get_instance(instance.id, actor="nobody@example.com")
    bob.active = False
    db.session.commit()
    with pytest.raises(python_api.PermissionDenied):
        python_api.launch("Review", {}, actor=bob.email)
    with pytest.raises(python_api.InvalidInput):
        python_api.system("Not A Name")
    with pytest.raises(TypeError):
        python_api.get_instance(instance.id, actor=ann)  # type: ignore[arg-type]  (a row: named by e-mail instead)


def test_calls_need_no_app_context_of_their_own(database, app, processes, monkeypatch) -> None:
    """A worker's thread has no app context; another Flask app's request has its own: both reach
    sharboard's app through use_app, and get values that outlive the call's context."""
    email = make_user().email  # plain values only cross into another context, as the API's own results are
    processes.start_consumers()
    monkeypatch.setattr(python_api, "_apps", [])  # use_app's choice ends with the test
    python_api.use_app(app)
    results: dict[str, Any] = {}

    def worker() -> None:
        try:
            results["workflow"] = python_api.create_workflow("Quick", bpmn("parallel"), actor=email)
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            results["error"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(60)
    assert "error" not in results and results["workflow"].status == "creating"
    wait_until(lambda: python_api.get_workflow("Quick", actor=email).status == "active", what="active")

    other = Flask("another_app")

    @other.post("/orders")
    def order() -> dict[str, str]:
        launched = python_api.launch("Quick", {"from": "another app"}, actor=email)
        return {"id": launched.id, "status": launched.status}

    answer = other.test_client().post("/orders").get_json()
    assert answer["status"] == "launching"
    wait_until(lambda: _status(answer["id"]) == "completed", what="the other app's launch")


def test_notify_sends_a_custom_notification_as_sharboard_does(database, app, processes, smtp) -> None:
    ann, quiet = make_user(), make_user("quiet@example.com")
    quiet.email_notifications = False
    db.session.commit()
    processes.start_consumers()
    workflow = _active("Quick", "parallel", ann.email)
    assert python_api.notify(ann.email, actor=python_api.SYSTEM, kind="billing.ready", title="Ready", about=workflow)
    assert not python_api.notify(ann.id, actor=python_api.SYSTEM, kind="billing.ready", title="Ready", about=workflow)
    assert python_api.notify(quiet.id, actor=python_api.SYSTEM, kind="billing.ready", title="Ready", body="no mail")
    wait_until(lambda: [m["To"] for m in smtp.messages if m["Subject"] == "Ready"] == [ann.email], what="one e-mail")
    notes = db.session.scalars(select(Notification).where(Notification.kind == "billing.ready")).all()
    assert sorted((n.user_id, n.link) for n in notes) == sorted(
        [(ann.id, "/workflows/Quick"), (quiet.id, "/notifications")]
    )
    with pytest.raises(python_api.PermissionDenied):
        python_api.notify(quiet.id, actor=ann.email, kind="billing.ready", title="x")  # admins and the system only
    with pytest.raises(python_api.InvalidInput):
        python_api.notify(ann.id, actor=python_api.SYSTEM, kind="instance_completed", title="x")  # sharboard's own
    with pytest.raises(python_api.InvalidInput):
        python_api.notify(ann.id, actor=python_api.SYSTEM, kind="billing.x", title="x", link="https://elsewhere")
