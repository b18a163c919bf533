"""Pages and their rules on the first tier: no Redis, no SHAR, no SMTP behind the app."""

from __future__ import annotations

import re

from flask import Flask

from app.models import AuditEntry
from app.services.actors import CLI
from app.services.workflows import create_workflow, transfer_workflow
from tests.support.factories import bpmn, make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"


def _signed_in(app: Flask, email: str, role: str) -> Browser:
    make_user(email, role, PASSWORD)
    return Browser(app, email, PASSWORD)


def test_vendored_assets_are_served_locally(offline_app: Flask) -> None:
    client = offline_app.test_client()
    for path in (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js",
        "/static/vendor/bpmn-js/bpmn-js.css",
        "/static/css/app.css",
        "/static/js/diagram.js",
    ):
        assert client.get(path).status_code == 200, path


def test_unknown_page_is_404_html_and_json_for_api(offline_app: Flask) -> None:
    client = _signed_in(offline_app, "ann@example.com", "user")
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "text/html" in page.content_type
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404 and api.get_json()["success"] is False


def test_pages_carry_security_headers(offline_app: Flask) -> None:
    response = _signed_in(offline_app, "ann@example.com", "user").get("/workflows")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "onclick=" not in response.get_data(as_text=True)  # inline handlers would break under the CSP


def test_a_service_refusal_is_a_page_with_its_status_and_reason(offline_app: Flask) -> None:
    client = _signed_in(offline_app, "ann@example.com", "user")
    page = client.get("/admin/failed-jobs")
    assert page.status_code == 403 and "only an admin may do this" in page.get_data(as_text=True)
    missing = client.get("/workflows/Nope")
    assert missing.status_code == 404 and "no workflow named" in missing.get_data(as_text=True)


def test_workflow_page_shows_the_owner_and_offers_delete_only_to_who_may(offline_app: Flask) -> None:
    ann = make_user("ann@example.com", "user", PASSWORD)
    create_workflow("Flow", bpmn("user_task"), actor=ann)  # queued into Huey's SQLite storage; nothing runs it
    bob = _signed_in(offline_app, "bob@example.com", "user")
    html = bob.get("/workflows/Flow").get_data(as_text=True)
    assert "ann@example.com" in html and "transfer-form" not in html
    transfer_workflow("Flow", "bob@example.com", actor=CLI)
    owner = re.search(r'id="workflow-owner">([^<]*)', bob.get("/workflows/Flow").get_data(as_text=True)).group(1)
    assert owner.strip() == "bob@example.com"
    assert [e.action for e in AuditEntry.query.order_by(AuditEntry.id)] == ["workflow.create", "workflow.transfer"]


def test_workflow_list_counts_only_the_instances_the_user_may_see(offline_app: Flask) -> None:
    from app.core.extensions import db
    from app.models import Workflow, WorkflowInstance

    ann = make_user("ann@example.com", "user", PASSWORD)
    workflow = create_workflow("Flow", bpmn("user_task"), actor=ann).workflow
    db.session.add_all(
        [WorkflowInstance(workflow_id=workflow.id, status="running", created_by=ann.id) for _ in range(3)]
    )
    db.session.commit()
    assert db.session.get(Workflow, workflow.id) is not None
    bob = _signed_in(offline_app, "bob@example.com", "user")
    row = re.search(r'data-workflow="Flow">.*?</tr>', bob.get("/workflows").get_data(as_text=True), re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", row) == ["0"]
    admin = _signed_in(offline_app, "root@example.com", "admin")
    row = re.search(r'data-workflow="Flow">.*?</tr>', admin.get("/workflows").get_data(as_text=True), re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", row) == ["3"]


def test_the_menu_marks_the_entry_of_the_page_shown(offline_app: Flask) -> None:
    """app.web.context.current_page: one entry at a time carries aria-current, by blueprint or endpoint."""
    client = _signed_in(offline_app, "boss@example.com", "admin")
    current = re.compile(r'<(?:a|summary)[^>]*aria-current="page"[^>]*>([^<]+)<')

    def marked(path: str) -> list[str]:
        page = client.get(path)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        return current.findall(text[text.index('<nav aria-label="Main">') : text.index("</nav>")])

    for path, entry in (("/", "Overview"), ("/workflows", "Workflows"), ("/instances", "Instances")):
        assert marked(path) == [entry], path
    assert marked("/admin/queues") == ["Admin"]


def test_an_empty_workflow_list_says_whether_a_filter_left_it_empty(offline_app: Flask) -> None:
    client = _signed_in(offline_app, "ann@example.com", "user")
    assert "No workflows yet: upload a BPMN file to start." in client.get("/workflows").get_data(as_text=True)
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    filtered = client.get("/workflows?status=failed").get_data(as_text=True)
    assert "No workflows match this filter." in filtered and "upload a BPMN file" not in filtered


def test_the_overview_counts_every_status_in_its_flow_order_each_linking_to_its_list(offline_app: Flask) -> None:
    """The tiles are the service's (status, count) rows: every status, in the flow's order, those with
    none counted as 0; a user's count only their own instances."""
    from app.core.extensions import db
    from app.models import WorkflowInstance

    ann = make_user("ann@example.com", "user", PASSWORD)
    workflow = create_workflow("Flow", bpmn("user_task"), actor=ann).workflow
    db.session.add_all(
        [
            WorkflowInstance(workflow_id=workflow.id, status=s, created_by=ann.id)
            for s in ("running", "running", "failed")
        ]
    )
    db.session.commit()

    def tiles(browser: Browser) -> list[tuple[str, str]]:
        page = browser.get("/").get_data(as_text=True)
        return re.findall(r'href="/instances\?status=(\w+)"><span class="stat-n">(\d+)</span>', page)

    expected = [("launching", "0"), ("running", "2"), ("completed", "0"), ("failed", "1"), ("cancelled", "0")]
    assert tiles(Browser(offline_app, "ann@example.com", PASSWORD)) == expected
    assert tiles(_signed_in(offline_app, "bob@example.com", "user")) == [(s, "0") for s, _n in expected]
    page = _signed_in(offline_app, "root@example.com", "admin").get("/").get_data(as_text=True)
    workflows = re.findall(r'href="/workflows\?status=(\w+)"><span class="stat-n">(\d+)</span>', page)
    assert [s for s, _n in workflows] == ["creating", "active", "failed", "inactive"]
