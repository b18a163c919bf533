"""Repairing an instance in SHAR through the API and the CLI, against the real engine over HTTP: a
token moved back to a user task and completed again, a failed instance moved off its failed element
running again, variables changed and then used by an exclusive gateway, and the refusals (viewer,
another's instance, elements it does not stand at or of another process, a launch that never reached
SHAR, a repair already queued, launch's variable checks)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from app.core.extensions import db
from app.jobs.runner import run_job
from app.lifecycle.states import JobState
from app.models import AuditEntry, JobRecord, User, WorkflowInstance
from app.services.instances import timeline
from app.services.launches import launch_instance
from app.services.story import story_of
from app.services.workflows import create_workflow
from tests.cli.conftest import cli_runner
from tests.support.factories import bpmn, make_user


def owner(api: Any | None = None) -> User:
    """Ann, the API client's user (tests/api/conftest.py makes her with the client)."""
    found = db.session.scalars(select(User).where(User.email == "ann@example.com")).first()
    return found or make_user("ann@example.com", "user")


def run_jobs(instance_id: str) -> list[str]:
    """Run the instance's queued jobs here, oldest first, until none is left (a repair queues its sync);
    the kinds run, in order."""
    ran: list[str] = []
    for _ in range(20):
        db.session.expire_all()
        job = db.session.scalars(
            select(JobRecord)
            .where(JobRecord.target_id == instance_id, JobRecord.state == JobState.QUEUED)
            .order_by(JobRecord.id)
            .limit(1)
        ).first()
        if job is None:
            return ran
        ran.append(job.job_type)
        run_job(job.id)
    raise AssertionError(f"jobs kept coming: {ran}")


def instance(instance_id: str) -> WorkflowInstance:
    db.session.expire_all()
    return db.session.get(WorkflowInstance, instance_id)


def entries(instance_id: str, kind: str) -> list[str]:
    return [e.message for e in timeline(instance(instance_id)) if e.kind == kind]


def complete(api: Any, instance_id: str, variables: dict[str, Any] | None = None) -> None:
    answer = api.post(f"/api/shar/instances/{instance_id}/complete", json={"variables": variables or {}})
    assert answer.status_code == 202, answer.get_json()
    run_jobs(instance_id)


def test_a_token_moved_back_to_a_user_task_is_completed_again(database, app, api, shar) -> None:  # type: ignore[no-untyped-def]
    ann = owner(api)
    create_workflow("Twice", bpmn("two_step"), actor=ann, async_=False)
    instance_id = launch_instance("Twice", {"order": 7}, actor=ann, async_=False).instance.id
    complete(api, instance_id)
    assert instance(instance_id).current_activities == ["second"]
    shown = api.get(f"/api/shar/instances/{instance_id}").get_json()["data"]
    assert {"move", "edit_variables"} <= set(shown["allowed_actions"]) and shown["unavailable_actions"] == {}

    body = {"from": "second", "to": "first"}
    preview = api.post(f"/api/shar/instances/{instance_id}/move/preview", json=body)
    assert preview.status_code == 200, preview.get_json()
    data = preview.get_json()["data"]
    assert (data["left"], data["entered"], data["variables_kept"]) == (["second"], ["first"], ["order"])
    assert (data["left_names"], data["entered_names"]) == (["Second approval"], ["First approval"])
    assert data["summary"] == "leaves Second approval (second), enters First approval (first), keeps variables order"
    assert not JobRecord.query.filter_by(job_type="move_instance").count()  # a preview stores nothing

    queued = api.post(f"/api/shar/instances/{instance_id}/move", json=body)
    assert queued.status_code == 202, queued.get_json()
    assert queued.get_json()["data"]["job"]["job_type"] == "move_instance"
    again = api.post(f"/api/shar/instances/{instance_id}/move", json=body)
    assert again.status_code == 409 and "a move of its token" in again.get_json()["message"]
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "instance.move")).one()
    assert (audit.before, audit.after) == ({"status": "running", "at": ["second"]}, {"at": ["first"], "variables": {}})
    assert entries(instance_id, "move_requested") == [
        "move from Second approval (second) to First approval (first) requested by ann@example.com"
    ]

    assert run_jobs(instance_id) == ["move_instance", "sync_instance"]
    moved = instance(instance_id)
    assert (moved.status, moved.current_activities) == ("running", ["first"])
    assert entries(instance_id, "instance_moved") == [
        "moved from Second approval (second) to First approval (first) by ann@example.com"
    ]
    assert story_of(moved).moved_from == ("second",)  # the diagram marks where it was moved from

    complete(api, instance_id)
    assert instance(instance_id).current_activities == ["second"]
    assert story_of(instance(instance_id)).moved_from == ()  # it stands there again
    complete(api, instance_id)
    assert instance(instance_id).status == "completed"


def test_variables_changed_in_shar_decide_the_gateway(app, shar) -> None:  # type: ignore[no-untyped-def]
    ann = owner()
    create_workflow("Amounts", bpmn("repair_gateway"), actor=ann, async_=False)
    instance_id = launch_instance("Amounts", {"amount": 10, "note": "small"}, actor=ann, async_=False).instance.id
    assert instance(instance_id).current_activities == ["review"]
    run = cli_runner(app)

    asked = run("instance", "set-variables", instance_id, "--set", "amount=5000", "--remove", "note", input="n\n")
    assert asked.exit_code == 1 and "not changed" in asked.stderr
    assert "~ amount: 10 -> 5000" in asked.stdout and '- note: "small"' in asked.stdout
    assert "0 unchanged" in asked.stdout
    refused = run("instance", "set-variables", instance_id, "--set", "_sharboard_x=1", "--yes")
    assert refused.exit_code == 1 and "is reserved" in refused.stderr

    done = run("instance", "set-variables", instance_id, "--set", "amount=5000", "--remove", "note", "--yes")
    assert done.exit_code == 0, done.output
    assert run_jobs(instance_id) == ["set_instance_variables", "sync_instance"]
    assert instance(instance_id).variables == {"amount": 5000}
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "instance.edit_variables")).one()
    assert audit.before == {"variables": {"amount": 10, "note": "small"}}
    assert audit.after == {"variables": {"amount": 5000}, "removed": ["note"]}

    completed = run("instance", "complete", instance_id)
    assert completed.exit_code == 0, completed.output
    run_jobs(instance_id)
    assert instance(instance_id).current_activities == ["manager"]  # amount > 1000: the manager approves

    moved = run("instance", "move", instance_id, "--from", "manager", "--to", "review", "--yes", "--format=json")
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout)["preview"]["summary"].startswith("leaves Manager approval (manager), enters")
    run_jobs(instance_id)
    assert instance(instance_id).current_activities == ["review"]


def test_a_failed_instance_moved_off_its_failed_element_runs_again(app, api, shar) -> None:  # type: ignore[no-untyped-def]
    ann = owner(api)
    create_workflow("Decision", bpmn("review_decision"), actor=ann, async_=False)
    instance_id = launch_instance("Decision", {}, actor=ann, async_=False).instance.id
    complete(api, instance_id, {"approved": False})  # not approved: the default flow ends at the error end event
    failed = instance(instance_id)
    assert failed.status == "failed", failed.error
    at = failed.current_activities
    assert at, "a failed instance keeps where it failed"

    preview = api.post(f"/api/shar/instances/{instance_id}/move/preview", json={"from": at, "to": "review"})
    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json()["data"]["runs_again"] is True
    assert preview.get_json()["data"]["summary"].endswith("; the failed instance runs again")
    queued = api.post(
        f"/api/shar/instances/{instance_id}/move", json={"from": at, "to": "review", "variables": {"approved": True}}
    )
    assert queued.status_code == 202, queued.get_json()
    run_jobs(instance_id)
    again = instance(instance_id)
    assert (again.status, again.error, again.current_activities) == ("running", None, ["review"])
    assert "running again: moved off the element it failed at" in entries(instance_id, "status_running")
    complete(api, instance_id)
    assert instance(instance_id).status == "completed"  # approved = true, set with the move


def test_refusals(database, app, api, shar) -> None:  # type: ignore[no-untyped-def]
    ann = owner(api)
    create_workflow("Twice", bpmn("two_step"), actor=ann, async_=False)
    create_workflow("Two", bpmn("two_processes"), actor=ann, async_=False)
    instance_id = launch_instance("Twice", {"n": 1}, actor=ann, async_=False).instance.id
    url = f"/api/shar/instances/{instance_id}"
    move = {"from": "first", "to": "second"}

    viewer, bob = api.as_role("viewer"), api.as_role("user", "bob@example.com")
    for path, body in (("move/preview", move), ("move", move), ("variables/preview", {"set": {"n": 2}})):
        denied = viewer.post(f"{url}/{path}", json=body)
        assert denied.status_code == 403 and "read-only" in denied.get_json()["message"], denied.get_json()
        assert bob.post(f"{url}/{path}", json=body).status_code == 404  # not his to see
    shown = viewer.get(url).get_json()["data"]
    assert "move" not in shown["allowed_actions"] and shown["unavailable_actions"] == {}

    def refused(path: str, body: dict[str, Any], status: int, words: str) -> None:
        answer = api.post(f"{url}/{path}", json=body)
        assert answer.status_code == status, answer.get_json()
        assert words in answer.get_json()["message"], answer.get_json()

    refused("move/preview", {"from": "second", "to": "first"}, 422, "does not stand at Second approval (second)")
    refused("move/preview", {"from": "first", "to": "nowhere"}, 422, "has no element 'nowhere'")
    two = launch_instance("Two", {}, actor=ann, async_=False, process_id="Customer").instance
    assert two.current_activities == ["c_pay"], two.error
    other = api.post(f"/api/shar/instances/{two.id}/move/preview", json={"from": "c_pay", "to": "s_ship"})
    assert other.status_code == 422, other.get_json()
    assert (
        "s_ship is an element of process Shop, not of this instance's process Customer" in other.get_json()["message"]
    )
    refused("move/preview", {"from": [], "to": "second"}, 422, "choose where it stands now")
    retry = api.post(f"{url}/move/preview", json={"from": "first", "to": "first"}).get_json()["data"]
    assert retry["summary"] == "leaves First approval (first), enters First approval (first), keeps variables n"
    refused("variables/preview", {"set": {"_sharboard_id": 1}}, 422, "is reserved")
    refused("variables/preview", {"remove": ["ghost"]}, 422, "has no variable ghost")
    refused("variables/preview", {}, 422, "nothing to change")
    diff = api.post(f"{url}/variables/preview", json={"set": {"n": 2, "m": [1]}}).get_json()["data"]
    assert (diff["added"], diff["changed"], diff["removed"], diff["unchanged"]) == (
        {"m": [1]},
        {"n": {"old": 1, "new": 2}},
        {},
        0,
    )

    pending = launch_instance("Twice", {}, actor=ann).instance  # queued: it has not reached SHAR
    never = api.post(f"/api/shar/instances/{pending.id}/move/preview", json=move)
    assert never.status_code == 409 and "never reached SHAR" in never.get_json()["message"]

    assert api.post(f"{url}/variables", json={"set": {"n": 2}}).status_code == 202
    queued = api.post(f"{url}/move", json=move)
    assert queued.status_code == 409 and "a change of its variables" in queued.get_json()["message"]


def test_a_move_is_retried_after_a_failing_shar_and_never_made_twice(database, app, api, shar) -> None:  # type: ignore[no-untyped-def]
    """SHAR failing the call (500) retries it after the spec's wait; an attempt that reached SHAR and was
    cut off (a timeout, a killed worker) is not sent again: the retry finds it no longer at `from`."""
    from app.shar import current_client

    ann = owner(api)
    create_workflow("Twice", bpmn("two_step"), actor=ann, async_=False)
    instance_id = launch_instance("Twice", {}, actor=ann, async_=False).instance.id
    job_id = api.post(f"/api/shar/instances/{instance_id}/move", json={"from": "first", "to": "second"}).get_json()[
        "data"
    ]["job"]["id"]
    shar.set_faults(error_rate=1.0)
    run_job(job_id)
    assert db.session.get(JobRecord, job_id).state == "retrying"
    shar.set_faults(error_rate=0.0)
    current_client().move_instance(instance(instance_id).shar_instance_id, ["first"], "second")  # reached SHAR...
    run_job(job_id)  # ...and the retry sees it has moved
    db.session.expire_all()
    assert db.session.get(JobRecord, job_id).state == "succeeded"
    assert entries(instance_id, "instance_moved") == [
        "moved from First approval (first) to Second approval (second) by ann@example.com "
        "(by an earlier attempt: not sent again)"
    ]
    run_jobs(instance_id)
    assert instance(instance_id).current_activities == ["second"]
