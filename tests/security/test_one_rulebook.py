"""One rulebook: every write operation, through every front door (pages, API, CLI), is allowed
to the actors the services allow, refused to the others with the same status, and leaves
exactly one audit entry when it runs and none when it is refused."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.extensions import db
from app.models import (
    ApiToken,
    AuditEntry,
    JobRecord,
    SavedView,
    UntrackedSharInstance,
    User,
    WebhookDelivery,
    Workflow,
    WorkflowInstance,
)
from app.models._base import utcnow
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"
SECOND_VERSION = bpmn("user_task").replace("Review an order", "Review an order, v2")


@dataclass
class World:
    app: Flask
    ann: User  # owns the workflow "Flow" and the instance
    bob: User  # another plain user
    viewer: User
    admin: User
    instance_id: str
    message_instance_id: str  # Ann's, waiting at a receive task for "payment-received"
    failed_job_id: int
    failed_launch_job_id: int
    delivery_id: int
    tokens: dict[str, str]

    def user(self, name: str) -> User:
        return getattr(self, name)


@pytest.fixture
def world(app: Flask) -> World:
    users = {
        name: make_user(f"{name}@example.com", role, PASSWORD)
        for name, role in (("ann", "user"), ("bob", "user"), ("viewer", "viewer"), ("admin", "admin"))
    }
    create_workflow("Flow", bpmn("user_task"), actor=users["ann"], async_=False)
    instance = launch_instance("Flow", {"n": 1}, actor=users["ann"], async_=False).instance
    assert instance.status == "running", instance.error
    create_workflow("Inbox", bpmn("messages"), actor=users["ann"], async_=False)
    waiting = launch_instance("Inbox", {}, actor=users["ann"], async_=False).instance
    assert waiting.current_activities == ["payment"], waiting.error
    failed = JobRecord(
        job_type="sync_instance",
        queue="q",
        target_type="instance",
        target_id=instance.id,
        state="failed",
        attempts=2,
        max_attempts=2,
        last_error="SHAR unreachable",
        error_shape="SHAR unreachable",
        finished_at=utcnow(),
    )
    # A launch that failed before reaching SHAR: the one correct-and-retry and PATCH variables accept.
    stalled = launch_instance("Flow", {"n": "x"}, actor=users["ann"]).instance
    stalled.status, stalled.error = "failed", "SHAR refused the variables"
    launch_job = db.session.scalars(select(JobRecord).where(JobRecord.target_id == stalled.id)).one()
    launch_job.state, launch_job.finished_at, launch_job.last_error = "failed", utcnow(), "refused"
    # Ann's workflow whose create failed: the one her retry (and an admin's) accepts.
    broken = create_workflow("Broken", bpmn("user_task"), actor=users["ann"]).workflow
    broken.status, broken.error = "failed", "SHAR unreachable"
    create_job = db.session.scalars(
        select(JobRecord).where(JobRecord.job_type == "create_workflow", JobRecord.target_id == str(broken.id))
    ).one()
    create_job.state, create_job.finished_at, create_job.last_error = "failed", utcnow(), "SHAR unreachable"
    delivery = WebhookDelivery(
        job_type="launch_instance",
        url="http://127.0.0.1:9/hook",
        body='{"job_type": "launch_instance"}',
        target_type="instance",
        target_id=instance.id,
        state="failed",
    )
    ended = WorkflowInstance(
        workflow=instance.workflow,
        status="completed",
        created_by=users["ann"].id,
        completed_at=utcnow() - timedelta(days=90),
    )
    # What a scan of SHAR found that no row tracks: for the adopt and ignore actions.
    strays = [
        UntrackedSharInstance(shar_instance_id=f"stray-{n}", workflow_name="Flow", status="running", variables={})
        for n in (1, 2)
    ]
    db.session.add_all([failed, delivery, ended, *strays])
    db.session.commit()
    tokens = {}
    for name, user in users.items():
        token, plain = ApiToken.issue(user, "test")
        db.session.add(token)
        tokens[name] = plain
    db.session.commit()
    return World(
        app,
        users["ann"],
        users["bob"],
        users["viewer"],
        users["admin"],
        instance.id,
        waiting.id,
        failed.id,
        launch_job.id,
        delivery.id,
        tokens,
    )


def audit_count(action: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


# The reasons services give for a 403: the page must show one of them.
REASONS = re.compile(r"only an admin may do this|role is read-only|only its owner or an admin")


def newest_entry(action: str) -> AuditEntry:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc()).limit(1)
    ).one()


def web_as(world: World, name: str) -> Callable[..., Any]:
    """A signed-in browser: call(url, form) posts the form with a CSRF token."""
    return Browser(world.app, f"{name}@example.com", PASSWORD).post


def api_as(world: World, name: str) -> Callable[..., Any]:
    client = world.app.test_client()

    def call(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        return getattr(client, method)(url, json=body or {}, headers={"Authorization": f"Bearer {world.tokens[name]}"})

    return call


# -- the pages ---------------------------------------------------------------------------

WEB_CASES: list[tuple[str, str, str, int, Callable[[World], tuple[str, dict[str, Any]]]]] = [
    # action, allowed, refused, refused status, (url, form)
    (
        "workflow.create",
        "ann",
        "bob",
        403,
        lambda w: (
            "/workflows",
            {"name": "Flow", "mode": "async", "file": (io.BytesIO(SECOND_VERSION.encode()), "flow.bpmn")},
        ),
    ),
    ("workflow.delete", "ann", "bob", 403, lambda w: ("/workflows/Flow/delete", {})),
    ("workflow.transfer", "admin", "ann", 403, lambda w: ("/workflows/Flow/owner", {"owner": "bob@example.com"})),
    ("instance.launch", "bob", "viewer", 403, lambda w: ("/workflows/Flow/launch", {"variables_json": "{}"})),
    ("instance.complete_task", "ann", "bob", 404, lambda w: (f"/instances/{w.instance_id}/complete", {})),
    ("instance.sync", "ann", "bob", 404, lambda w: (f"/instances/{w.instance_id}/sync", {})),
    (
        "instance.deliver_message",
        "ann",
        "bob",
        404,
        lambda w: (
            f"/instances/{w.message_instance_id}/messages",
            {"name": "payment-received", "variables_json": "{}"},
        ),
    ),
    ("instance.cancel", "ann", "viewer", 403, lambda w: (f"/instances/{w.instance_id}/cancel", {})),
    ("instance.migrate", "ann", "viewer", 403, lambda w: (f"/instances/{_v2(w)}/migrate", {"version": "2"})),
    (
        "instance.bulk_migrate",
        "ann",
        "viewer",
        403,
        lambda w: _v2(w, ("/instances/bulk", {"action": "migrate", "workflow": "Flow", "to_version": "2"})),
    ),
    # Repairs in SHAR: the instance's owner or an admin, never a viewer (404 for another's, as ever).
    (
        "instance.move",
        "ann",
        "bob",
        404,
        lambda w: (f"/instances/{w.instance_id}/move", {"from": "review", "to": "check"}),
    ),
    (
        "instance.move",
        "admin",
        "viewer",
        403,
        lambda w: (f"/instances/{w.instance_id}/move", {"from": "review", "to": "check"}),
    ),
    (
        "instance.edit_variables",
        "ann",
        "viewer",
        403,
        lambda w: (f"/instances/{w.instance_id}/variables", {"set_json": '{"n": 2}'}),
    ),
    (
        "instance.bulk_cancel",
        "ann",
        "viewer",
        403,
        lambda w: ("/instances/bulk", {"action": "cancel", "workflow": "Flow", "status": "running"}),
    ),
    ("job.retry", "admin", "ann", 403, lambda w: (f"/admin/failed-jobs/{w.failed_job_id}/retry", {})),
    # A failed launch or create is retried by its owner (or an admin) from its own page.
    ("job.retry", "ann", "viewer", 403, lambda w: (f"/instances/{_stalled(w)}/retry", {})),
    ("job.retry", "ann", "bob", 404, lambda w: (f"/instances/{_stalled(w)}/retry", {})),
    ("job.retry", "ann", "bob", 403, lambda w: ("/workflows/Broken/retry", {})),
    ("job.delete", "admin", "ann", 403, lambda w: (f"/admin/failed-jobs/{w.failed_job_id}/delete", {})),
    ("job.retry_all", "admin", "ann", 403, lambda w: ("/admin/failed-jobs/retry-all", {})),
    (
        "job.retry_group",
        "admin",
        "viewer",
        403,
        lambda w: ("/admin/failed-jobs/groups/retry", {"job_type": "sync_instance", "error_shape": "SHAR unreachable"}),
    ),
    ("job.flush", "admin", "ann", 403, lambda w: ("/admin/failed-jobs/flush", {})),
    (
        "launch.correct_and_retry",
        "admin",
        "ann",
        403,
        lambda w: (f"/admin/jobs/{w.failed_launch_job_id}/correct-and-retry", {"variables": '{"n": 2}'}),
    ),
    ("queue.periodic_sync", "admin", "viewer", 403, lambda w: ("/admin/queues/periodic-sync", {})),
    (
        "user.create",
        "admin",
        "ann",
        403,
        lambda w: ("/admin/users", {"email": "new@example.com", "password": "long-enough-1", "role": "user"}),
    ),
    ("user.update", "admin", "ann", 403, lambda w: (f"/admin/users/{w.bob.id}", {"role": "viewer", "active": "on"})),
    ("token.create", "admin", "ann", 403, lambda w: (f"/admin/users/{w.bob.id}/tokens", {"name": "ci"})),
    ("token.revoke", "admin", "ann", 403, lambda w: (f"/admin/tokens/{w.bob.tokens[0].id}/revoke", {})),
    ("webhook.replay", "admin", "ann", 403, lambda w: (f"/admin/webhooks/{w.delivery_id}/replay", {})),
    ("shar_instance.scan", "admin", "ann", 403, lambda w: ("/admin/shar-instances/scan", {})),
    (
        "shar_instance.adopt",
        "admin",
        "ann",
        403,
        lambda w: ("/admin/shar-instances/stray-1/adopt", {"workflow_name": "Flow"}),
    ),
    ("shar_instance.ignore", "admin", "viewer", 403, lambda w: ("/admin/shar-instances/stray-2/ignore", {})),
    (
        "sso.mapping_change",
        "admin",
        "ann",
        403,
        lambda w: ("/admin/sso", {"claim": "groups", "default_role": "viewer", "value": "ops", "role": "admin"}),
    ),
    # Saved views: only admins publish; another's private view is not found.
    ("view.publish", "admin", "ann", 403, lambda w: (f"/views/{_view(w, 'admin')}/publish", {"published": "1"})),
    ("view.delete", "ann", "bob", 404, lambda w: (f"/views/{_view(w, 'ann')}/delete", {})),
]


@pytest.mark.parametrize(
    ("action", "allowed", "refused", "status", "request_for"), WEB_CASES, ids=[case[0] for case in WEB_CASES]
)
def test_pages_allow_refuse_and_audit_once(
    world: World,
    action: str,
    allowed: str,
    refused: str,
    status: int,
    request_for: Callable[[World], tuple[str, dict[str, Any]]],
) -> None:
    before = audit_count(action)
    url, form = request_for(world)
    denied = web_as(world, refused)(url, form)
    assert denied.status_code == status, denied.get_data(as_text=True)[:500]
    assert audit_count(action) == before
    url, form = request_for(world)  # a fresh upload stream
    if status == 403:  # the page gives the service's reason, not a bare status
        assert REASONS.search(denied.get_data(as_text=True)), denied.get_data(as_text=True)[:500]
    done = web_as(world, allowed)(url, form)
    assert done.status_code in (200, 302), done.get_data(as_text=True)[:500]
    assert audit_count(action) == before + 1
    assert newest_entry(action).actor_id == world.user(allowed).id


# -- the API -----------------------------------------------------------------------------

API_CASES: list[tuple[str, str, str, int, Callable[[World], tuple[str, str, dict[str, Any]]]]] = [
    (
        "workflow.create",
        "ann",
        "bob",
        403,
        lambda w: ("post", "/api/shar/workflows", {"name": "Flow", "bpmn_xml": SECOND_VERSION}),
    ),
    ("workflow.delete", "ann", "bob", 403, lambda w: ("delete", "/api/shar/workflows/Flow", {})),
    (
        "workflow.transfer",
        "admin",
        "ann",
        403,
        lambda w: ("put", "/api/shar/workflows/Flow/owner", {"owner": "bob@example.com"}),
    ),
    ("instance.launch", "bob", "viewer", 403, lambda w: ("post", "/api/shar/workflows/Flow/launch", {})),
    (
        "instance.complete_task",
        "ann",
        "bob",
        404,
        lambda w: ("post", f"/api/shar/instances/{w.instance_id}/complete", {}),
    ),
    ("instance.sync", "ann", "bob", 404, lambda w: ("post", f"/api/shar/instances/{w.instance_id}/sync", {})),
    # The blocking variant is another service operation with its own checks.
    (
        "instance.sync",
        "ann",
        "viewer",
        403,
        lambda w: ("post", f"/api/shar/instances/{w.instance_id}/sync", {"async": False}),
    ),
    (
        "instance.deliver_message",
        "ann",
        "viewer",
        403,
        lambda w: ("post", f"/api/shar/instances/{w.message_instance_id}/messages", {"name": "payment-received"}),
    ),
    (
        "instance.update_variables",
        "ann",
        "viewer",
        403,
        lambda w: ("patch", f"/api/shar/instances/{_stalled(w)}/variables", {"variables": {"n": 3}}),
    ),
    ("instance.cancel", "ann", "viewer", 403, lambda w: ("post", f"/api/shar/instances/{w.instance_id}/cancel", {})),
    (
        "instance.migrate",
        "ann",
        "bob",
        404,
        lambda w: ("post", f"/api/shar/instances/{_v2(w)}/migrate", {"version": 2}),
    ),
    (
        "instance.bulk_migrate",
        "ann",
        "viewer",
        403,
        lambda w: (
            "post",
            "/api/shar/instances/bulk",
            {"action": "migrate", "filter": {"workflow": "Flow"}, "parameters": {"version": int(_v2(w, "2"))}},
        ),
    ),
    (
        "instance.move",
        "ann",
        "viewer",
        403,
        lambda w: ("post", f"/api/shar/instances/{w.instance_id}/move", {"from": "review", "to": "check"}),
    ),
    (
        "instance.edit_variables",
        "admin",
        "bob",
        404,
        lambda w: ("post", f"/api/shar/instances/{w.instance_id}/variables", {"set": {"n": 2}}),
    ),
    (
        "instance.bulk_sync",
        "ann",
        "viewer",
        403,
        lambda w: ("post", "/api/shar/instances/bulk", {"action": "sync", "filter": {"workflow": "Flow"}}),
    ),
    ("job.retry", "ann", "viewer", 403, lambda w: ("post", f"/api/shar/instances/{_stalled(w)}/retry", {})),
    ("job.retry", "ann", "bob", 404, lambda w: ("post", f"/api/shar/instances/{_stalled(w)}/retry", {})),
    ("job.retry", "ann", "bob", 403, lambda w: ("post", "/api/shar/workflows/Broken/retry", {})),
    ("job.retry", "admin", "viewer", 403, lambda w: ("post", "/api/shar/workflows/Broken/retry", {})),
    (
        "view.publish",
        "admin",
        "viewer",
        403,
        lambda w: ("patch", f"/api/shar/views/{_view(w, 'admin')}", {"published": True}),
    ),
    ("view.delete", "ann", "bob", 404, lambda w: ("delete", f"/api/shar/views/{_view(w, 'ann')}", {})),
    # Retrying failed launches in bulk is an admin's.
    (
        "instance.bulk_retry",
        "admin",
        "ann",
        403,
        lambda w: ("post", "/api/shar/instances/bulk", {"action": "retry", "filter": {"workflow": "Flow"}}),
    ),
]


def _view(world: World, owner: str) -> int:
    """The saved view of `owner` named "Rulebook", made the first time it is asked for."""
    user = world.user(owner)
    view = db.session.scalars(select(SavedView).where(SavedView.owner_id == user.id)).first()
    if view is None:
        view = SavedView(owner_id=user.id, name="Rulebook", filter={"workflow": "Flow"}, columns=[], sort="newest")
        db.session.add(view)
        db.session.commit()
    return view.id


def _v2(world: World, then: Any = None) -> Any:
    """Version 2 of Flow, made once (the instance runs version 1 and may move to it); `then`, else the
    instance's id."""
    if db.session.scalar(select(func.count()).select_from(Workflow).where(Workflow.name == "Flow")) == 1:
        create_workflow("Flow", SECOND_VERSION, actor=world.ann, async_=False)
    return world.instance_id if then is None else then


def _stalled(world: World) -> str:
    return db.session.get(JobRecord, world.failed_launch_job_id).target_id


@pytest.mark.parametrize(
    ("action", "allowed", "refused", "status", "request_for"), API_CASES, ids=[case[0] for case in API_CASES]
)
def test_api_allows_refuses_and_audits_once(
    world: World,
    action: str,
    allowed: str,
    refused: str,
    status: int,
    request_for: Callable[[World], tuple[str, str, dict[str, Any]]],
) -> None:
    before = audit_count(action)
    denied = api_as(world, refused)(*request_for(world))
    assert denied.status_code == status and denied.get_json()["success"] is False, denied.get_json()
    assert audit_count(action) == before
    done = api_as(world, allowed)(*request_for(world))
    assert done.status_code in (200, 201, 202), done.get_json()
    assert audit_count(action) == before + 1
    assert newest_entry(action).actor_id == world.user(allowed).id


def test_a_plain_user_cannot_take_over_anothers_workflow_name(world: World) -> None:
    bob = api_as(world, "bob")
    refused = bob("post", "/api/shar/workflows", {"name": "Flow", "bpmn_xml": SECOND_VERSION})
    assert refused.status_code == 403
    assert "belongs to ann@example.com" in refused.get_json()["message"]
    assert bob("delete", "/api/shar/workflows/Flow").status_code == 403
    # Nothing changed: one version, still active, still Ann's.
    shown = api_as(world, "ann")("get", "/api/shar/workflows/Flow").get_json()["data"]
    assert (shown["versions"], shown["status"], shown["owner"]) == ([1], "active", "ann@example.com")


# -- the command line --------------------------------------------------------------------

CLI_CASES: list[tuple[str, Callable[[World, Any], list[str]]]] = [
    ("workflow.create", lambda w, tmp: ["workflow", "create", "Flow", _file(tmp, SECOND_VERSION)]),
    ("workflow.delete", lambda w, tmp: ["workflow", "delete", "Flow", "--force"]),
    ("workflow.transfer", lambda w, tmp: ["workflow", "transfer", "Flow", "bob@example.com"]),
    ("instance.launch", lambda w, tmp: ["workflow", "launch", "Flow"]),
    ("instance.complete_task", lambda w, tmp: ["instance", "complete", w.instance_id]),
    (
        "instance.deliver_message",
        lambda w, tmp: ["instance", "message", w.message_instance_id, "payment-received", "--variables", '{"paid": 1}'],
    ),
    ("job.retry", lambda w, tmp: ["failed", "retry", str(w.failed_job_id)]),
    ("job.retry_all", lambda w, tmp: ["failed", "retry", "all"]),
    ("job.retry", lambda w, tmp: ["instance", "retry", _stalled(w)]),
    ("job.retry", lambda w, tmp: ["workflow", "retry", "Broken"]),
    ("job.flush", lambda w, tmp: ["failed", "flush"]),
    ("job.flush", lambda w, tmp: ["queue", "clear"]),
    ("user.create", lambda w, tmp: ["user", "create", "cli-made@example.com"]),
    ("instance.move", lambda w, tmp: ["instance", "move", w.instance_id, "--from", "review", "--to", "check", "--yes"]),
    ("instance.edit_variables", lambda w, tmp: ["instance", "set-variables", w.instance_id, "--set", "n=2", "--yes"]),
    ("token.create", lambda w, tmp: ["token", "create", "--user", "bob@example.com"]),
    ("instance.sync_many", lambda w, tmp: ["sync", "--force"]),
    ("instance.sync", lambda w, tmp: ["instance", "show", w.instance_id, "--sync"]),
    ("instance.bulk_cancel", lambda w, tmp: ["instance", "bulk", "cancel", "--workflow", "Flow", "--yes"]),
    ("instance.migrate", lambda w, tmp: ["instance", "migrate", _v2(w), "--to-version", "2", "--yes"]),
    (
        "instance.bulk_migrate",
        lambda w, tmp: _v2(w, ["instance", "bulk", "migrate", "--workflow", "Flow", "--to-version", "2", "--yes"]),
    ),
    ("instance.launch", lambda w, tmp: ["batch", "launch", "--workflow", "Flow"]),
    ("workflow.create", lambda w, tmp: ["batch", "import", "--bpmn", _file(tmp, SECOND_VERSION, "Batched")]),
    ("instance.complete_task", lambda w, tmp: ["batch", "complete", "--instance", w.instance_id]),
    ("instance.cleanup", lambda w, tmp: ["cleanup", "--days", "30", "--force"]),
    ("queue.periodic_sync", lambda w, tmp: ["queue", "sync"]),
    ("shar_instance.scan", lambda w, tmp: ["untracked", "scan"]),
    ("shar_instance.adopt", lambda w, tmp: ["untracked", "adopt", "stray-1", "--workflow", "Flow"]),
    ("shar_instance.ignore", lambda w, tmp: ["untracked", "ignore", "stray-2"]),
]


def _file(tmp: Any, text: str, stem: str = "flow") -> str:
    path = tmp / f"{stem}.bpmn"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(("action", "command"), CLI_CASES, ids=[f"{c[0]}-{n}" for n, c in enumerate(CLI_CASES)])
def test_cli_acts_as_the_system_and_audits_once(
    world: World, tmp_path: Any, action: str, command: Callable[[World, Any], list[str]]
) -> None:
    before = audit_count(action)
    result = world.app.test_cli_runner().invoke(args=["shar", *command(world, tmp_path)])
    assert result.exit_code == 0, result.output
    assert audit_count(action) == before + 1
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc()).limit(1)
    ).one()
    assert (entry.actor_id, entry.actor_name) == (None, CLI.email)


# -- variables, at every door that takes them ----------------------------------------------

# Small, so an over-size set fits in a request body (SHARBOARD_JSON_MAX_BYTES) and in a CLI argument.
VARIABLES_LIMIT = 4096


@pytest.fixture
def overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    return {**overrides, "max_variables_bytes": VARIABLES_LIMIT}


def _page(world: World, name: str, url: str, form: dict[str, Any]) -> tuple[bool, str]:
    answer = Browser(world.app, f"{name}@example.com", PASSWORD).post(url, form, follow_redirects=True)
    return answer.status_code in (200, 422), html.unescape(answer.get_data(as_text=True))


def _api(world: World, method: str, url: str, body: dict[str, Any]) -> tuple[bool, str]:
    answer = api_as(world, "ann")(method, url, body)
    return answer.status_code == 422, answer.get_json()["message"]


def _cli(world: World, *args: str) -> tuple[bool, str]:
    result = world.app.test_cli_runner().invoke(args=["shar", *args])
    return result.exit_code == 1, result.output


def _batch(world: World, tmp: Any, command: str, item: dict[str, Any]) -> tuple[bool, str]:
    path = tmp / f"{command}.json"
    path.write_text(json.dumps([item]))
    return _cli(world, "batch", command, str(path))


VARIABLE_DOORS: list[tuple[str, Callable[[World, Any, dict[str, Any]], tuple[bool, str]]]] = [
    # door, (world, tmp_path, variables) -> (refused as that door refuses, the answer's text)
    ("page launch", lambda w, tmp, v: _page(w, "ann", "/workflows/Flow/launch", {"variables_json": json.dumps(v)})),
    (
        "page message",
        lambda w, tmp, v: _page(
            w,
            "ann",
            f"/instances/{w.message_instance_id}/messages",
            {"name": "payment-received", "variables_json": json.dumps(v)},
        ),
    ),
    (
        "page correct-and-retry",
        lambda w, tmp, v: _page(
            w, "admin", f"/admin/jobs/{w.failed_launch_job_id}/correct-and-retry", {"variables": json.dumps(v)}
        ),
    ),
    ("api launch", lambda w, tmp, v: _api(w, "post", "/api/shar/workflows/Flow/launch", {"variables": v})),
    (
        "api complete",
        lambda w, tmp, v: _api(w, "post", f"/api/shar/instances/{w.instance_id}/complete", {"variables": v}),
    ),
    (
        "api message",
        lambda w, tmp, v: _api(
            w,
            "post",
            f"/api/shar/instances/{w.message_instance_id}/messages",
            {"name": "payment-received", "variables": v},
        ),
    ),
    (
        "api update variables",
        lambda w, tmp, v: _api(w, "patch", f"/api/shar/instances/{_stalled(w)}/variables", {"variables": v}),
    ),
    ("cli launch", lambda w, tmp, v: _cli(w, "workflow", "launch", "Flow", "--variables", json.dumps(v))),
    ("cli complete", lambda w, tmp, v: _cli(w, "instance", "complete", w.instance_id, "--variables", json.dumps(v))),
    (
        "cli message",
        lambda w, tmp, v: _cli(
            w, "instance", "message", w.message_instance_id, "payment-received", "--variables", json.dumps(v)
        ),
    ),
    (
        "page move",
        lambda w, tmp, v: _page(
            w,
            "ann",
            f"/instances/{w.instance_id}/move",
            {"from": "review", "to": "check", "variables_json": json.dumps(v)},
        ),
    ),
    (
        "page edit variables",
        lambda w, tmp, v: _page(w, "ann", f"/instances/{w.instance_id}/variables", {"set_json": json.dumps(v)}),
    ),
    (
        "api move",
        lambda w, tmp, v: _api(
            w, "post", f"/api/shar/instances/{w.instance_id}/move", {"from": "review", "to": "check", "variables": v}
        ),
    ),
    (
        "api edit variables",
        lambda w, tmp, v: _api(w, "post", f"/api/shar/instances/{w.instance_id}/variables", {"set": v}),
    ),
    (
        "cli move",
        lambda w, tmp, v: _cli(
            w,
            "instance",
            "move",
            w.instance_id,
            "--from",
            "review",
            "--to",
            "check",
            "--variables",
            json.dumps(v),
            "--yes",
        ),
    ),
    (
        "cli set-variables",
        lambda w, tmp, v: _cli(
            w,
            "instance",
            "set-variables",
            w.instance_id,
            *[f"--set={k}={json.dumps(x)}" for k, x in v.items()],
            "--yes",
        ),
    ),
    ("cli batch launch", lambda w, tmp, v: _batch(w, tmp, "launch", {"workflow": "Flow", "variables": v})),
    ("cli batch complete", lambda w, tmp, v: _batch(w, tmp, "complete", {"instance": w.instance_id, "variables": v})),
]
BAD_NAMES_AND_SIZES = [  # (variables, words the answer must contain)
    ({"amount": 1, "_sharboard_instance_id": "another-rows-id"}, "is reserved"),
    ({"_SharBoard_anything": 1}, "is reserved"),
    ({"blob": "x" * VARIABLES_LIMIT}, f"the limit is {VARIABLES_LIMIT:,} bytes"),
]


def _written() -> tuple[int, ...]:
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (WorkflowInstance, JobRecord, AuditEntry)
    )


@pytest.mark.parametrize(("variables", "words"), BAD_NAMES_AND_SIZES, ids=["reserved", "reserved-any-case", "size"])
@pytest.mark.parametrize(("door", "send"), VARIABLE_DOORS, ids=[door[0] for door in VARIABLE_DOORS])
def test_every_door_refuses_reserved_names_and_oversized_variables(
    world: World, tmp_path: Any, door: str, send: Callable[..., tuple[bool, str]], variables: dict[str, Any], words: str
) -> None:
    before = _written()
    stalled = dict(db.session.get(WorkflowInstance, _stalled(world)).variables)
    refused, text = send(world, tmp_path, variables)
    assert refused and words in text, text[:2000]
    assert _written() == before  # no row, no job, no audit entry
    assert db.session.get(WorkflowInstance, _stalled(world)).variables == stalled
