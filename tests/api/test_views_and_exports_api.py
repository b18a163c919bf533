"""Saved views and exports through the API and the CLI (#24): the same rules as the pages, from the
same services: save (a viewer too), publish (admins), open, rename, delete; the list as CSV by
`/instances.csv` or `Accept: text/csv`; an instance's history; `flask shar view` and the exports."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.core.extensions import db
from app.models import AuditEntry, User, Workflow, WorkflowInstance
from tests.cli.conftest import cli_runner


def _seed() -> dict[str, str]:
    ann = db.session.scalars(select(User).where(User.email == "ann@example.com")).one()
    bob = User(email="bob@example.com", name="bob", role="user")
    bob.set_password("pw-bob-123")
    workflow = Workflow(name="Orders", version=1, bpmn_xml="<x/>", bpmn_sha256="h", summary={}, status="active")
    db.session.add_all([bob, workflow])
    db.session.flush()
    rows = {
        "a1": WorkflowInstance(
            workflow_id=workflow.id, status="running", created_by=ann.id, variables={"orderId": "@A1"}
        ),
        "b1": WorkflowInstance(
            workflow_id=workflow.id, status="running", created_by=bob.id, variables={"orderId": "B1"}
        ),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    return {key: row.id for key, row in rows.items()}


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_views_through_the_api(api: Any, app: Flask) -> None:
    ids = _seed()
    saved = api.post(
        "/api/shar/views",
        json={"name": "Mine running", "filter": {"status": "running"}, "columns": ["orderId"], "sort": "oldest"},
    )
    assert saved.status_code == 201, saved.get_json()
    view = saved.get_json()["data"]
    assert view["owner"] == "ann@example.com" and view["published"] is False
    assert view["list_query"] == "status=running&columns=orderId&sort=oldest" and view["problem"] is None
    # The view's query opens the list, as JSON or CSV, with what the caller may see.
    rows = _csv(api.get("/api/shar/instances.csv?" + view["list_query"]))
    assert rows[0][-1] == "var:orderId" and [r[0] for r in rows[1:]] == [ids["a1"]] and rows[1][-1] == "'@A1"
    assert api.post("/api/shar/views", json={"name": "Mine running"}).status_code == 409
    assert api.post("/api/shar/views", json={"name": "x", "filter": {"status": "nap"}}).status_code == 422
    assert api.post("/api/shar/views", json={"name": "x", "published": True}).status_code == 403
    assert api.post("/api/shar/views", json={"name": "x", "sort": "random"}).status_code == 422

    viewer, admin, bob = api.as_role("viewer"), api.as_role("admin"), api.as_role("user", "bob2@example.com")
    assert viewer.post("/api/shar/views", json={"name": "Watching"}).status_code == 201
    assert bob.get(f"/api/shar/views/{view['id']}").status_code == 404
    assert admin.patch(f"/api/shar/views/{view['id']}", json={"published": True}).status_code == 404  # not hers to see
    assert api.patch(f"/api/shar/views/{view['id']}", json={"published": True}).status_code == 403
    assert api.patch(f"/api/shar/views/{view['id']}", json={"name": "Running"}).get_json()["data"]["name"] == "Running"

    published = admin.post("/api/shar/views", json={"name": "All", "published": True}).get_json()["data"]
    assert published["published"] is True
    listed = bob.get("/api/shar/views").get_json()["data"]
    assert listed["mine"] == [] and [v["name"] for v in listed["published"]] == ["All"]
    assert bob.delete(f"/api/shar/views/{published['id']}").status_code == 403
    assert admin.patch(f"/api/shar/views/{published['id']}", json={"published": False}).status_code == 200
    assert bob.get(f"/api/shar/views/{published['id']}").status_code == 404
    assert api.delete(f"/api/shar/views/{view['id']}").status_code == 200
    assert api.get(f"/api/shar/views/{view['id']}").status_code == 404
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "view")).all()
    assert sorted(actions) == ["view.delete", "view.publish", "view.unpublish"]


def test_csv_and_history_through_the_api(api: Any, app: Flask) -> None:
    ids = _seed()
    # Accept: text/csv on the list asks for the same CSV; JSON stays the answer to */*.
    negotiated = _csv(api.get("/api/shar/instances?workflow=Orders", headers={"Accept": "text/csv"}))
    assert [r[0] for r in negotiated[1:]] == [ids["a1"]]
    assert api.get("/api/shar/instances", headers={"Accept": "*/*"}).get_json()["success"] is True
    admin = api.as_role("admin")
    assert len(_csv(admin.get("/api/shar/instances.csv?var.orderId=B1"))) == 2
    assert admin.get("/api/shar/instances.csv?var=orderId").status_code == 422
    history = api.get(f"/api/shar/instances/{ids['a1']}/export").get_json()["data"]
    assert history["instance"]["id"] == ids["a1"] and history["withheld"] == []
    assert api.get(f"/api/shar/instances/{ids['b1']}/export").status_code == 404
    assert api.as_role("viewer").get(f"/api/shar/instances/{ids['b1']}/export").get_json()["data"]["withheld"] == [
        "jobs",
        "audit",
    ]


def test_views_and_exports_on_the_command_line(api: Any, app: Flask) -> None:
    ids = _seed()
    api.post("/api/shar/views", json={"name": "Orders", "filter": {"workflow": "Orders"}, "columns": "orderId"})
    run = cli_runner(app)
    listed = run("view", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    view = json.loads(listed.output)[0]
    assert view["name"] == "Orders" and view["owner"] == "ann@example.com"
    shown = run("view", "show", str(view["id"]))
    assert shown.exit_code == 0 and "workflow=Orders&columns=orderId" in shown.output
    assert run("view", "show", "999").exit_code == 1
    exported = run("instance", "export-list", "--workflow", "Orders", "--columns", "orderId", "--sort", "oldest")
    assert exported.exit_code == 0, exported.output
    rows = list(csv.reader(io.StringIO(exported.output)))
    assert rows[0][-1] == "var:orderId" and {r[0] for r in rows[1:]} == {ids["a1"], ids["b1"]}  # the CLI sees all
    history = run("instance", "export", ids["b1"])
    assert history.exit_code == 0 and json.loads(history.output)["instance"]["variables"] == {"orderId": "B1"}
    assert "no instance" in run("instance", "export", "nope").output
    # A view whose workflow is gone shows why, not a traceback.
    db.session.execute(WorkflowInstance.__table__.delete())
    db.session.execute(Workflow.__table__.delete())
    db.session.commit()
    assert "no longer exists" in run("view", "show", str(view["id"])).output
