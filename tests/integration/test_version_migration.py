"""Migrating running instances to another version of their workflow (issue #23), against the real
engine over HTTP: 20 instances of v1 in bulk to v2 with one refused for an element v2 removed (the
preview says so before, the operation's failures name it after, the 19 run v2's diagram and complete
through v2's path); one instance through the API, the page and the CLI; a viewer refused; a mapping
for a renamed id; a SHAR without the call shows the action unavailable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.extensions import db
from app.jobs.runner import run_job
from app.models import ApiToken, AuditEntry, BulkOperation, JobRecord, Workflow, WorkflowInstance
from app.services import version_migrations
from app.services.access import allowed_actions, unavailable_actions
from app.services.instances import timeline
from app.services.launches import launch_instance
from app.services.sync import apply_shar_state
from app.services.workflows import create_workflow
from tests.api.conftest import bearer_for
from tests.cli.conftest import cli_runner
from tests.support.factories import bpmn, make_user, refresh
from tests.support.servers import serving
from tests.support.web import Browser

PASSWORD = "pw-ann-123"
V1 = bpmn("two_step")  # start -> first -> second -> end
# v2: `second` is gone; after `first` comes `third`, a task v1 does not have.
V2 = V1.replace('targetRef="second"', 'targetRef="third"').replace(
    '<bpmn:userTask id="second" name="Second approval"/>\n    <bpmn:sequenceFlow id="f3" sourceRef="second"',
    '<bpmn:userTask id="third" name="Third approval"/>\n    <bpmn:sequenceFlow id="f3" sourceRef="third"',
)
# v3: v1 with `second` renamed `second_b`.
V3 = V1.replace('"second"', '"second_b"')


class Gateway:
    """The engine behind a gateway that may lack the migrate call (answering as Go's router does:
    404 with "404 page not found", not JSON); every other request goes through as it is."""

    def __init__(self, engine_url: str) -> None:
        self.without_migrate = False
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if gateway.without_migrate and self.path.rstrip("/").endswith("/migrate"):
                    self._answer(404, b"404 page not found\n", "text/plain; charset=utf-8")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
                answer = httpx.request(self.command, engine_url + self.path, content=body, headers=headers)
                self._answer(answer.status_code, answer.content, answer.headers.get("content-type", ""))

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        serving(self.server)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(shar: Any) -> Iterator[Gateway]:
    proxy = Gateway(shar.url)
    yield proxy
    proxy.stop()


@pytest.fixture
def overrides(overrides: dict[str, Any], gateway: Gateway) -> dict[str, Any]:
    """Every test of this module reaches the engine through the gateway."""
    return {**overrides, "shar_base_url": gateway.url}


def _versions(owner: Any, *files: str, name: str = "Approvals") -> list[Workflow]:
    """Upload each file as the next version; every version of the name, oldest first."""
    for text in files:
        create_workflow(name, text, actor=owner, async_=False)
    rows = list(db.session.scalars(select(Workflow).where(Workflow.name == name).order_by(Workflow.version)))
    assert {w.status for w in rows} == {"active"}, [(w.version, w.error) for w in rows]
    return rows


def _launch(owner: Any, count: int, name: str = "Approvals") -> list[WorkflowInstance]:
    return [launch_instance(name, {"n": n}, actor=owner, async_=False).instance for n in range(count)]


def _complete_in_shar(shar: Any, instance: WorkflowInstance) -> str:
    """Complete its waiting task in the engine and sync: its status after."""
    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete").raise_for_status()
    return apply_shar_state(refresh(instance))


def _bearer(user: Any) -> dict[str, str]:
    token, plain = ApiToken.issue(user, "test")
    db.session.add(token)
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def _run_jobs(job_type: str) -> int:
    """Run every queued job of `job_type`, as a consumer would; how many ran."""
    ids = list(
        db.session.scalars(select(JobRecord.id).where(JobRecord.job_type == job_type, JobRecord.state == "queued"))
    )
    for job_id in ids:
        run_job(job_id)
    return len(ids)


def test_twenty_in_bulk_one_refused_for_a_removed_element(app, shar) -> None:  # type: ignore[no-untyped-def]
    ann = make_user()
    _versions(ann, V1)
    instances = _launch(ann, 20)  # on v1, the newest when they start
    v1, v2 = _versions(ann, V2)
    stuck = instances[7]
    assert _complete_in_shar(shar, stuck) == "running"
    assert refresh(stuck).current_activities == ["second"]  # an element v2 does not have
    api, headers = app.test_client(), _bearer(ann)
    body = {"action": "migrate", "filter": {"workflow": "Approvals"}, "parameters": {"version": 2}}

    preview = api.post("/api/shar/instances/bulk", json={**body, "preview": True}, headers=headers)
    assert preview.status_code == 200, preview.get_json()
    data = preview.get_json()["data"]
    assert (data["count"], data["skipped"]) == (20, 0)
    detail = data["detail"]
    assert (detail["movable_count"], detail["refused_count"]) == (19, 1)
    [refused] = detail["refused"]
    assert refused["instance_id"] == stuck.id and refused["elements"] == ["second"]
    assert "Second approval (second)" in refused["reason"] and "version 2 does not have" in refused["reason"]
    assert [(c["id"], c["instances"]) for c in detail["changed"]] == [("second", 1)]  # the mapping form
    assert {"id": "third", "label": "Third approval (third)"} in detail["target_elements"]

    started = api.post("/api/shar/instances/bulk", json={**body, "fingerprint": data["fingerprint"]}, headers=headers)
    assert started.status_code == 202, started.get_json()
    operation_id = started.get_json()["data"]["id"]
    assert started.get_json()["data"]["parameters"]["version"] == 2
    run_job(started.get_json()["data"]["job"]["id"])
    operation = db.session.get(BulkOperation, operation_id)
    db.session.refresh(operation)
    assert (operation.state, operation.done, operation.failed) == ("finished", 19, 1)
    [failure] = operation.errors
    assert failure["instance_id"] == stuck.id and "Second approval (second)" in failure["error"]
    revisions = (refresh(v1).counts_revision, refresh(v2).counts_revision)
    assert _run_jobs("migrate_instance") == 19

    moved = [refresh(i) for i in instances if i.id != stuck.id]
    assert {i.workflow_id for i in moved} == {v2.id} and {tuple(i.current_activities) for i in moved} == {("first",)}
    assert refresh(stuck).workflow_id == v1.id
    assert any(e.kind == "migrated" and "version 1 to version 2" in e.message for e in timeline(moved[0]))
    assert refresh(v1).counts_revision > revisions[0] and refresh(v2).counts_revision > revisions[1]
    for instance in moved:  # v2's path: first, then third (which v1 does not have), then the end
        assert _complete_in_shar(shar, instance) == "running"
        assert refresh(instance).current_activities == ["third"]
        assert _complete_in_shar(shar, instance) == "completed"
    one = db.session.get(WorkflowInstance, moved[0].id)
    assert "Third approval (third)" in " ".join(e.message for e in timeline(one) if e.kind == "moved")
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "instance.bulk_migrate")) is not None


def test_one_instance_through_the_api_the_page_and_the_cli(app, shar) -> None:  # type: ignore[no-untyped-def]
    ann = make_user("ann@example.com", "user", PASSWORD)
    make_user("vera@example.com", "viewer", PASSWORD)
    _versions(ann, V1)
    by_api, by_page, by_cli = _launch(ann, 3)
    _, v2 = _versions(ann, V2)
    api, headers = app.test_client(), _bearer(ann)

    # The API: the preview, then the move (202 and its job).
    url = f"/api/shar/instances/{by_api.id}/migrate"
    shown = api.get(f"/api/shar/instances/{by_api.id}", headers=headers).get_json()["data"]
    assert "migrate" in shown["allowed_actions"]
    preview = api.post(f"{url}/preview", json={"version": 2}, headers=headers)
    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json()["data"]["movable"] == [by_api.id]
    assert api.post(f"{url}/preview", json={"version": 1}, headers=headers).status_code == 422  # its own
    assert api.post(f"{url}/preview", json={"version": 9}, headers=headers).status_code == 404
    bad_map = api.post(f"{url}/preview", json={"version": 2, "mapping": {"first": "nowhere"}}, headers=headers)
    assert bad_map.status_code == 422 and "no element 'nowhere'" in bad_map.get_json()["message"]
    viewer = bearer_for("viewer", "vera-api@example.com")
    assert api.post(f"{url}/preview", json={"version": 2}, headers=viewer).status_code == 403
    assert api.post(url, json={"version": 2}, headers=viewer).status_code == 403
    queued = api.post(url, json={"version": 2}, headers=headers)
    assert queued.status_code == 202, queued.get_json()
    assert api.post(url, json={"version": 2}, headers=headers).status_code == 409  # one at a time
    run_job(queued.get_json()["data"]["job"]["id"])
    assert refresh(by_api).workflow_id == v2.id

    # The page: the form, the preview (htmx), the confirm.
    page = Browser(app, "ann@example.com", PASSWORD)
    show = page.get(f"/instances/{by_page.id}").get_data(as_text=True)
    assert 'id="migrate-link"' in show
    form = page.get(f"/instances/{by_page.id}/migrate").get_data(as_text=True)
    assert '<option value="2">version 2</option>' in form
    part = page.post(f"/instances/{by_page.id}/migrate/preview", {"version": "2"}, headers={"HX-Request": "true"})
    html = part.get_data(as_text=True)
    assert part.status_code == 200 and 'id="migrate-confirm-form"' in html and "<html" not in html
    key = unescape(re.search(r'name="form_key" value="([^"]+)"', html).group(1))
    done = page.post(f"/instances/{by_page.id}/migrate", {"version": "2", "form_key": key})
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    assert _run_jobs("migrate_instance") == 1 and refresh(by_page).workflow_id == v2.id
    vera = Browser(app, "vera@example.com", PASSWORD)
    assert 'id="migrate-link"' not in vera.get(f"/instances/{by_cli.id}").get_data(as_text=True)
    assert vera.get(f"/instances/{by_cli.id}/migrate").status_code == 403
    assert vera.post(f"/instances/{by_cli.id}/migrate", {"version": "2"}).status_code == 403

    # The CLI: the preview, then the move.
    run = cli_runner(app)
    result = run("instance", "migrate", by_cli.id, "--to-version", "2", "--yes")
    assert result.exit_code == 0, result.output
    assert "1 can move, 0 cannot" in result.output and "queued" in result.output
    assert _run_jobs("migrate_instance") == 1 and refresh(by_cli).workflow_id == v2.id
    again = run("instance", "migrate", by_cli.id, "--to-version", "2", "--yes")
    assert again.exit_code == 1 and "already runs version 2" in again.output
    audited = db.session.scalars(select(AuditEntry.target_id).where(AuditEntry.action == "instance.migrate"))
    assert sorted(audited) == sorted(i.id for i in (by_api, by_page, by_cli))


def test_a_mapping_for_a_renamed_id(app, shar) -> None:  # type: ignore[no-untyped-def]
    ann = make_user()
    _versions(ann, V1)
    [instance] = _launch(ann, 1)
    v1, _, v3 = _versions(ann, V2, V3)
    assert _complete_in_shar(shar, instance) == "running"
    instance = refresh(instance)
    assert instance.current_activities == ["second"]

    preview = version_migrations.preview_migration([instance.id], 3, actor=ann)
    assert preview.movable_count == 0 and preview.refused[0].elements == ("second",)
    assert [(c.id, c.label, c.instances) for c in preview.changed] == [("second", "Second approval (second)", 1)]
    mapped = version_migrations.preview_migration([instance.id], 3, {"second": "second_b"}, actor=ann)
    assert mapped.movable == [instance.id] and mapped.changed[0].mapped_to == "second_b"

    run = cli_runner(app)
    refused = run("instance", "migrate", instance.id, "--to-version", "3", "--yes")
    assert refused.exit_code == 1 and "version 3 does not have" in refused.output
    result = run("instance", "migrate", instance.id, "--to-version", "3", "--map", "second=second_b", "--yes")
    assert result.exit_code == 0, result.output
    assert _run_jobs("migrate_instance") == 1
    instance = refresh(instance)
    assert instance.workflow_id == v3.id and instance.current_activities == ["second_b"]
    assert any("Second approval (second) → Second approval (second_b)" in e.message for e in timeline(instance))
    assert _complete_in_shar(shar, instance) == "completed"
    assert allowed_actions(ann, instance) == allowed_actions(ann, refresh(instance))  # ended: nothing to migrate
    assert "migrate" not in allowed_actions(ann, instance) and unavailable_actions(ann, instance) == {}


def test_a_shar_without_the_call_shows_the_action_unavailable(app, shar, gateway) -> None:  # type: ignore[no-untyped-def]
    ann = make_user("ann@example.com", "user", PASSWORD)
    _versions(ann, V1)
    first, second = _launch(ann, 2)
    _, v2 = _versions(ann, V2)
    gateway.without_migrate = True
    queued = version_migrations.migrate_instance(first.id, 2, actor=ann)
    run_job(queued.job.id)  # the gateway answers 404 page not found: the job fails at once, untried again
    job = db.session.get(JobRecord, queued.job.id)
    db.session.refresh(job)
    assert (job.state, job.attempts) == ("failed", 1)
    assert refresh(first).workflow_id != v2.id
    said = [e.message for e in timeline(refresh(first)) if e.kind == "migration_failed"]
    assert len(said) == 1 and said[0].startswith("this SHAR does not offer migrating instances")

    second = refresh(second)
    assert "migrate" not in allowed_actions(ann, second)
    assert unavailable_actions(ann, second)["migrate"].startswith("this SHAR does not offer migrating")
    page = Browser(app, "ann@example.com", PASSWORD).get(f"/instances/{second.id}").get_data(as_text=True)
    assert 'id="migrate-unavailable"' in page and 'id="migrate-link"' not in page
    assert "this SHAR does not offer migrating instances" in page
    api = app.test_client()
    shown = api.get(f"/api/shar/instances/{second.id}", headers=_bearer(ann)).get_json()["data"]
    assert "migrate" not in shown["allowed_actions"]
    refused = api.post(f"/api/shar/instances/{second.id}/migrate", json={"version": 2}, headers=_bearer(ann))
    assert refused.status_code == 501, refused.get_json()
    # Nor is it offered in bulk: not on the list's bulk form, not as the version diff's link.
    browser = Browser(app, "ann@example.com", PASSWORD)
    listing = browser.get("/instances?workflow=Approvals").get_data(as_text=True)
    assert 'name="action"' in listing and '<option value="migrate">' not in listing
    diff = browser.get("/workflows/Approvals/diff?from=1&to=2").get_data(as_text=True)
    assert "still run" in diff and "preview moving them" not in diff


def test_the_bulk_form_previews_maps_and_confirms(app, shar) -> None:  # type: ignore[no-untyped-def]
    ann = make_user("ann@example.com", "user", PASSWORD)
    _versions(ann, V1)
    at_first, at_second = _launch(ann, 2)
    assert _complete_in_shar(shar, at_second) == "running"
    _, v2 = _versions(ann, V2)
    page = Browser(app, "ann@example.com", PASSWORD)
    diff = unescape(page.get("/workflows/Approvals/diff?from=1&to=2").get_data(as_text=True))
    assert "preview moving them to version 2" in diff  # the version diff links to the bulk preview
    assert "workflow=Approvals&version=1&status=running&action=migrate&to_version=2" in diff
    make_user("vera@example.com", "viewer", PASSWORD)  # a viewer sees the counts, never the offer
    seen = Browser(app, "vera@example.com", PASSWORD).get("/workflows/Approvals/diff?from=1&to=2")
    assert seen.status_code == 200 and "preview moving them" not in seen.get_data(as_text=True)
    listing = page.get("/instances?workflow=Approvals").get_data(as_text=True)
    assert '<option value="migrate">migrate to version</option>' in listing and 'name="to_version"' in listing

    shown = page.get("/instances/bulk/preview?workflow=Approvals&action=migrate&to_version=2")
    html = unescape(shown.get_data(as_text=True))
    assert shown.status_code == 200, html[:500]
    assert 'data-movable="1" data-refused="1"' in html
    assert f'<li data-instance="{at_second.id}">instance {at_second.id} stands at Second approval (second)' in html
    assert 'name="map.second"' in html  # the mapping form: v2 has no `second`
    mapped = page.get("/instances/bulk/preview?workflow=Approvals&action=migrate&to_version=2&map.second=third")
    html = unescape(mapped.get_data(as_text=True))
    assert 'data-movable="2" data-refused="0"' in html
    form = re.search(r'<form[^>]*id="bulk-confirm-form".*?</form>', html, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    assert (fields["action"], fields["to_version"], fields["map.second"]) == ("migrate", "2", "third")
    fields.pop("csrf_token")
    started = page.post("/instances/bulk", fields)
    assert started.status_code == 302, started.get_data(as_text=True)[:500]
    assert _run_jobs("bulk_operation") == 1 and _run_jobs("migrate_instance") == 2
    operation = db.session.scalars(select(BulkOperation)).one()
    db.session.refresh(operation)
    assert (operation.done, operation.failed, operation.parameters["mapping"]) == (2, 0, {"second": "third"})
    assert {refresh(i).workflow_id for i in (at_first, at_second)} == {v2.id}
    assert refresh(at_second).current_activities == ["third"]
