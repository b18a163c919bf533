"""services.access.allowed_actions and nav_actions: what the pages and the API offer, per role,
ownership and state of the row (rows in the offline app's SQLite database)."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask

from app.core.extensions import db
from app.models import JobRecord, User, Workflow, WorkflowInstance, WorkflowName
from app.models._base import new_uuid
from app.services import shar_features
from app.services.access import (
    INSTANCE_ACTIONS,
    JOB_ACTIONS,
    WORKFLOW_ACTIONS,
    allowed_actions,
    nav_actions,
    unavailable_actions,
)
from app.services.actors import CLI
from tests.support.factories import make_user


@pytest.fixture
def people(offline_app: Flask) -> dict[str, User]:
    return {
        "ann": make_user("ann@example.com", "user"),
        "bob": make_user("bob@example.com", "user"),
        "vera": make_user("vera@example.com", "viewer"),
        "ada": make_user("ada@example.com", "admin"),
    }


def _workflow(status: str, owner: User | None, name: str = "Flow") -> Workflow:
    workflow = Workflow(
        name=name,
        version=1,
        bpmn_xml="<x/>",
        bpmn_sha256=hashlib.sha256(name.encode()).hexdigest(),
        summary={},
        status=status,
        created_by=owner.id if owner else None,
    )
    db.session.add_all([workflow, WorkflowName(name=name, owner_id=owner.id if owner else None)])
    db.session.commit()
    return workflow


def _instance(status: str, owner: User, *, in_shar: bool = False) -> WorkflowInstance:
    workflow = db.session.query(Workflow).filter_by(name="Flow").first() or _workflow("active", owner)
    instance = WorkflowInstance(
        id=new_uuid(),
        workflow=workflow,
        status=status,
        variables={},
        created_by=owner.id,
        shar_instance_id="s-1" if in_shar else None,
    )
    db.session.add(instance)
    db.session.commit()
    return instance


def _job(state: str, job_type: str = "launch_instance", target_id: str = "x") -> JobRecord:
    job = JobRecord(job_type=job_type, queue="shar-instances", target_type="instance", target_id=target_id, state=state)
    db.session.add(job)
    db.session.commit()
    return job


# Per status: what the instance's owner (and an admin) may do; viewers see it and change nothing,
# another user does not even see it.
INSTANCE_OFFERS = {
    "running": {"sync", "complete", "deliver_message", "cancel", "see_job"},
    "launching": {"cancel", "see_job"},
    "failed": {"retry", "see_job"},
    "completed": {"see_job"},
    "cancelled": {"see_job"},
}


def test_instance_actions_by_role_and_status(people: dict[str, User]) -> None:
    for status, owner_gets in INSTANCE_OFFERS.items():
        instance = _instance(status, people["ann"])
        assert allowed_actions(people["ann"], instance) == owner_gets, status
        assert allowed_actions(people["ada"], instance) == owner_gets == allowed_actions(CLI, instance), status
        assert allowed_actions(people["vera"], instance) == allowed_actions(people["bob"], instance) == set()


def test_an_instance_that_failed_in_shar_is_not_retried_but_repaired(people: dict[str, User]) -> None:
    """No launch retry (SHAR has it), but its owner or an admin may move it off where it failed or
    change its variables; a viewer or another user may not."""
    instance = _instance("failed", people["ann"], in_shar=True)
    assert allowed_actions(people["ann"], instance) == {"see_job", "move", "edit_variables"}
    assert allowed_actions(people["ada"], instance) == {"see_job", "move", "edit_variables"}
    assert allowed_actions(people["vera"], instance) == allowed_actions(people["bob"], instance) == set()


def test_repairs_of_a_running_instance_in_shar_unless_shar_lacks_the_call(people: dict[str, User]) -> None:
    instance = _instance("running", people["ann"], in_shar=True)
    repairs = {"move", "edit_variables"}
    assert repairs <= allowed_actions(people["ann"], instance)
    assert repairs <= allowed_actions(people["ada"], instance) and repairs <= allowed_actions(CLI, instance)
    assert not repairs & allowed_actions(people["vera"], instance)
    assert unavailable_actions(people["ann"], instance) == {}
    shar_features.record_not_offered("move", "it answered HTTP 501 to the move call")
    db.session.commit()
    assert "move" not in allowed_actions(people["ann"], instance)
    assert unavailable_actions(people["ann"], instance) == {
        "move": "this SHAR does not offer moving instances (it answered HTTP 501 to the move call)"
    }
    assert unavailable_actions(people["vera"], instance) == {}  # nothing a viewer could ask for
    shar_features.record_offered("move")
    db.session.commit()
    assert "move" in allowed_actions(people["ann"], instance) and unavailable_actions(people["ann"], instance) == {}


# Per status of a name's newest version: what its owner and another writer may do.
WORKFLOW_OFFERS = {
    "active": ({"launch", "upload", "delete", "see_job"}, {"launch"}),
    "failed": ({"upload", "delete", "retry", "see_job"}, set()),
    "creating": ({"upload", "see_job"}, set()),
    "inactive": ({"upload", "see_job"}, set()),
}


def test_workflow_actions_by_role_ownership_and_status(people: dict[str, User]) -> None:
    for status, (owner_gets, other_writer_gets) in WORKFLOW_OFFERS.items():
        workflow = _workflow(status, people["ann"], name=f"Flow {status}")
        assert allowed_actions(people["ann"], workflow) == owner_gets, status
        assert allowed_actions(people["bob"], workflow) == other_writer_gets, status
        assert allowed_actions(people["vera"], workflow) == set()
        assert allowed_actions(people["ada"], workflow) == owner_gets | {"transfer"}, status


def test_a_workflow_without_an_owner_is_the_admins(people: dict[str, User]) -> None:
    workflow = _workflow("failed", None)
    assert allowed_actions(people["ann"], workflow) == set()
    assert allowed_actions(people["ada"], workflow) == {"upload", "delete", "retry", "see_job", "transfer"}


def test_jobs_are_the_admins(people: dict[str, User]) -> None:
    for state, gets in (("failed", {"open", "retry", "delete"}), ("succeeded", {"open"}), ("held", {"open"})):
        job = _job(state, job_type="sync_instance")
        assert allowed_actions(people["ada"], job) == gets, state
        assert allowed_actions(people["ann"], job) == allowed_actions(people["vera"], job) == set()


def test_correct_and_retry_is_offered_for_a_failed_launch_of_a_failed_instance(people: dict[str, User]) -> None:
    failed, launching = _instance("failed", people["ann"]), _instance("launching", people["ann"])
    assert "correct_and_retry" in allowed_actions(people["ada"], _job("failed", target_id=failed.id))
    assert "correct_and_retry" not in allowed_actions(people["ada"], _job("failed", target_id=launching.id))
    assert "correct_and_retry" not in allowed_actions(people["ada"], _job("succeeded", target_id=failed.id))
    assert "correct_and_retry" not in allowed_actions(people["ada"], _job("failed", target_id=new_uuid()))


def test_nav_actions_by_role(people: dict[str, User]) -> None:
    admin = {"admin_pages", "upload_workflows", "launch_instances", "filter_mine", "publish_views", "see_queues"}
    assert nav_actions(people["ada"]) == admin | {"save_views"}
    assert nav_actions(CLI) == admin  # the command line is nobody to save a view for
    # The queues (others' failed jobs among them) are shown to admins alone: not to a viewer, who sees every instance.
    # Any signed-in person saves views for themself, a viewer too; only admins publish them.
    assert nav_actions(people["ann"]) == {"upload_workflows", "launch_instances", "save_views"}
    assert nav_actions(people["vera"]) == {"filter_mine", "save_views"}


def test_every_action_given_is_a_listed_name(people: dict[str, User]) -> None:
    """The OpenAPI document enumerates the names: none given may be missing from the lists."""
    given = {
        name
        for person in [*people.values(), CLI]
        for status in ("running", "launching", "failed")
        for name in allowed_actions(person, _instance(status, people["ann"]))
    }
    assert given <= set(INSTANCE_ACTIONS)
    workflow = _workflow("failed", people["ann"], name="Other")
    assert {n for p in people.values() for n in allowed_actions(p, workflow)} <= set(WORKFLOW_ACTIONS)
    assert allowed_actions(CLI, _job("failed")) <= set(JOB_ACTIONS)
