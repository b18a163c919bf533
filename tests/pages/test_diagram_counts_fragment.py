"""The workflow page's counts by element (#12): the polled fragment the diagram draws as badges, its
ETag (304 while nothing changed), polling that stops when nothing runs, and the instance list its
links open, with the element and version kept in the list's own polled URL."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from flask import Flask
from sqlalchemy import event

from app.core.extensions import db
from app.models import WorkflowInstance
from app.models._base import utcnow
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"


def _links(html: str) -> dict[str, str]:
    """The fragment's links: their text -> their address."""
    return {
        text: unescape(href)
        for href, text in re.findall(r'<a class="count-badge[^"]*"[^>]*href="([^"]+)">([^<]+)</a>', html)
    }


def test_the_counts_fragment_is_versioned_and_stops_polling(offline_app: Flask) -> None:
    ann = make_user("ann@example.com", "user", PASSWORD)
    bob = make_user("bob@example.com", "user", PASSWORD)
    workflow = create_workflow("Flow", bpmn("review_decision"), actor=ann).workflow
    rows = [
        WorkflowInstance(workflow_id=workflow.id, status="running", created_by=ann.id, current_activities=["review"])
        for _ in range(3)
    ]
    rows.append(
        WorkflowInstance(workflow_id=workflow.id, status="running", created_by=bob.id, current_activities=["review"])
    )
    db.session.add_all(rows)
    db.session.commit()
    client = Browser(offline_app, "ann@example.com", PASSWORD)

    page = client.get("/workflows/Flow").get_data(as_text=True)
    assert 'data-counts="#diagram-counts"' in page
    assert _links(page) == {"3 waiting": "/instances?workflow=Flow&version=1&activity=review&status=running"}
    assert 'hx-get="/workflows/Flow/_counts?version=1"' in page  # running instances: polled

    first = client.get("/workflows/Flow/_counts?version=1")
    assert first.status_code == 200 and first.headers["ETag"]
    assert _links(first.get_data(as_text=True)) == _links(page)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        again = client.get("/workflows/Flow/_counts?version=1", headers={"If-None-Match": first.headers["ETag"]})
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert again.status_code == 304 and again.get_data() == b""
    # The poll's cost: (at most) the signed-in user and the version's counts_revision; no instance
    # read, nothing counted or rendered.
    reads = [s for s in statements if "workflow" in s]
    assert len(statements) <= 2 and len(reads) == 1 and "workflow_instances" not in reads[0], statements

    rows[1].last_synced_at = utcnow()  # a sync that found nothing new: updated_at moves, no progress
    db.session.commit()
    quiet = client.get("/workflows/Flow/_counts?version=1", headers={"If-None-Match": first.headers["ETag"]})
    assert quiet.status_code == 304

    rows[0].status = "failed"  # failed where it waited (app.services.sync keeps the place)
    db.session.commit()
    changed = client.get("/workflows/Flow/_counts?version=1", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert set(_links(changed.get_data(as_text=True))) == {"2 waiting", "1 failed"}
    assert (
        _links(changed.get_data(as_text=True))["1 failed"]
        == "/instances?workflow=Flow&version=1&activity=review&status=failed"
    )

    # The waiting badge's list: exactly ann's instances there, and its polled URL keeps the filter.
    listing = client.get(_links(changed.get_data(as_text=True))["2 waiting"]).get_data(as_text=True)
    assert sorted(re.findall(r'data-instance="([^"]+)"', listing)) == sorted(r.id for r in rows[1:3])
    polled = unescape(re.search(r'<tbody id="instance-rows" hx-get="([^"]+)"', listing).group(1))
    assert "activity=review" in polled and "version=1" in polled and "status=running" in polled
    assert 'name="activity" value="review"' in listing and 'name="version" value="1"' in listing

    for row in rows[1:3]:
        row.status = "completed"
        row.current_activities = []
    db.session.commit()
    ended = client.get("/workflows/Flow/_counts?version=1").get_data(as_text=True)
    assert _links(ended) == {"1 failed": "/instances?workflow=Flow&version=1&activity=review&status=failed"}
    assert "hx-get" not in ended  # none of ann's runs: the polling stops (bob's still running is not hers)

    assert client.get("/workflows/Flow/_counts").status_code == 200  # every version
    assert client.get("/workflows/Flow/_counts?version=7").status_code == 404
    assert client.get("/workflows/Nope/_counts").status_code == 404
    assert client.get("/instances?workflow=Flow&version=x").status_code == 422
