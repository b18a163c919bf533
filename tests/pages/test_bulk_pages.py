"""Bulk actions on the instance list's pages (#12), on the first tier: the form that carries the
list's filter (age included), the preview, a confirm sent twice starting one operation, and the
progress fragment's ETag and polling, which stops when the operation has finished."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from flask import Flask
from sqlalchemy import func, select

from app.core.extensions import db
from app.models import AuditEntry, BulkOperation, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services import bulk_work
from tests.support.factories import make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"


def _hidden(html: str, form_id: str) -> list[tuple[str, str]]:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S).group(0)
    return [
        (name, unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    ]


def test_preview_confirm_once_and_follow_the_progress(offline_app: Flask) -> None:
    ann = make_user("ann@example.com", "user", PASSWORD)
    bob = make_user("bob@example.com", "user", PASSWORD)
    make_user("vera@example.com", "viewer", PASSWORD)
    workflow = Workflow(name="Orders", version=1, bpmn_xml="<x/>", bpmn_sha256="h", summary={}, status="active")
    db.session.add(workflow)
    db.session.flush()
    now = utcnow()
    old = [
        WorkflowInstance(
            workflow_id=workflow.id,
            status="running",
            created_by=ann.id,
            variables={"n": n},
            created_at=now - timedelta(hours=3, minutes=n),
        )
        for n in range(3)
    ]
    new = WorkflowInstance(workflow_id=workflow.id, status="running", created_by=ann.id, created_at=now)
    bobs = WorkflowInstance(
        workflow_id=workflow.id, status="running", created_by=bob.id, created_at=now - timedelta(hours=5)
    )
    db.session.add_all([*old, new, bobs])
    db.session.commit()
    client = Browser(offline_app, "ann@example.com", PASSWORD)

    # The list filters by age, and its bulk form carries the filter.
    listing = client.get("/instances?workflow=Orders&older_than=2h").get_data(as_text=True)
    assert sorted(re.findall(r'data-instance="([^"]+)"', listing)) == sorted(i.id for i in old)
    assert 'name="older_than" value="2h"' in listing
    assert "older_than=2h" in unescape(re.search(r'<tbody id="instance-rows" hx-get="([^"]+)"', listing).group(1))
    assert _hidden(listing, "bulk-form") == [("workflow", "Orders"), ("older_than", "2h")]
    assert re.findall(r'<option value="(\w+)">', listing.split('id="bulk-action"')[1].split("</select>")[0]) == [
        "sync",
        "cancel",
        "migrate",
    ]  # retry is an admin's
    bad = client.get("/instances?older_than=soon")
    assert bad.status_code == 422 and "older_than is a duration" in bad.get_data(as_text=True)
    assert "bulk-form" not in Browser(offline_app, "vera@example.com", PASSWORD).get("/instances").get_data(
        as_text=True
    )

    # The preview: the count, the skipped, the sample; nothing stored.
    page = client.get("/instances/bulk/preview?action=cancel&workflow=Orders&older_than=2h")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-count="3"' in html and "3</strong> of the 3 filtered instances would stop being tracked" in html
    # What SHAR keeps doing is said before anyone confirms; the action is named by its one term.
    assert "SHAR keeps running the ones it has started" in html and "Confirm: stop tracking 3 instances" in html
    assert sorted(re.findall(r'<tr data-instance="([^"]+)"', html)) == sorted(i.id for i in old)
    fields = _hidden(html, "bulk-confirm-form")
    assert ("action", "cancel") in fields and ("older_than", "2h") in fields and ("workflow", "Orders") in fields
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 0
    assert "onclick=" not in html and "<script>" not in html  # the strict CSP: no inline script
    refused = client.get("/instances/bulk/preview?action=explode&workflow=Orders")
    assert refused.status_code == 422 and "action must be one of sync, cancel, retry" in refused.get_data(as_text=True)
    viewer = Browser(offline_app, "vera@example.com", PASSWORD).get("/instances/bulk/preview?action=sync")
    assert viewer.status_code == 403 and "read-only" in viewer.get_data(as_text=True)

    # Confirm, twice with the same form key (a double click): one operation, one audit entry.
    form = dict(fields)
    first = client.post("/instances/bulk", form)
    assert first.status_code == 302 and re.search(r"/instances/bulk/\d+$", first.headers["Location"])
    second = client.post("/instances/bulk", form)
    assert second.status_code == 302 and second.headers["Location"] == first.headers["Location"]
    operation = db.session.scalars(select(BulkOperation)).one()
    assert sorted(operation.instance_ids) == sorted(i.id for i in old)  # not the new one, not bob's
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1

    # The progress page and its fragment: polled while running, with an ETag.
    progress = client.get(first.headers["Location"]).get_data(as_text=True)
    assert 'data-state="running"' in progress and f'hx-get="/instances/bulk/{operation.id}/_progress"' in progress
    fragment = client.get(f"/instances/bulk/{operation.id}/_progress")
    assert fragment.status_code == 200 and fragment.headers["ETag"]
    unchanged = client.get(
        f"/instances/bulk/{operation.id}/_progress", headers={"If-None-Match": fragment.headers["ETag"]}
    )
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert Browser(offline_app, "bob@example.com", PASSWORD).get(first.headers["Location"]).status_code == 404

    bulk_work.run_bulk(operation.id, 60)  # the job, run here
    done = client.get(f"/instances/bulk/{operation.id}/_progress", headers={"If-None-Match": fragment.headers["ETag"]})
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert 'data-state="finished"' in text and "hx-get" not in text  # the polling stops
    assert re.search(r'id="bulk-done">3<', text) and re.search(r'id="bulk-failed">0<', text)

    # Confirmed again with a fresh key: the 3 are gone from the set, and nothing is left to cancel (409).
    again = client.post("/instances/bulk", {**form, "form_key": "another-key-0123456789"})
    text = unescape(again.get_data(as_text=True))
    assert again.status_code == 409 and "(0 added, 3 gone): 0 would stop being tracked now" in text
    assert "Nothing to do: no launching or running instances match this filter" in text
    without = client.post("/instances/bulk", {**form, "form_key": "another-key-9876543210", "fingerprint": ""})
    assert without.status_code == 409 and "what changed is no longer known" in unescape(without.get_data(as_text=True))


def test_a_confirm_whose_set_changed_shows_the_preview_again_saying_how(database, app: Flask) -> None:  # type: ignore[no-untyped-def]
    ann = make_user("ann@example.com", "user", PASSWORD)
    workflow = Workflow(name="Orders", version=1, bpmn_xml="<x/>", bpmn_sha256="h", summary={}, status="active")
    db.session.add(workflow)
    db.session.flush()

    def launch(count: int) -> list[str]:
        rows = [WorkflowInstance(workflow_id=workflow.id, status="running", created_by=ann.id) for _ in range(count)]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]

    previewed = launch(4)
    client = Browser(app, "ann@example.com", PASSWORD)
    html = client.get("/instances/bulk/preview?action=cancel&workflow=Orders").get_data(as_text=True)
    form = dict(_hidden(html, "bulk-confirm-form"))
    assert len(form["fingerprint"]) == 64 and 'data-count="4"' in html

    launched = launch(5)  # launched while the preview was read
    stale = client.post("/instances/bulk", form)
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert 'data-added="5" data-gone="0"' in page
    assert (
        "Nothing was started: the instances changed since the preview (5 added, 0 gone): 9 would stop "
        "being tracked now" in unescape(page)
    )
    assert 'data-count="9"' in page  # the new preview, to confirm again
    assert db.session.scalar(select(func.count()).select_from(BulkOperation)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0

    fresh = dict(_hidden(page, "bulk-confirm-form"))
    assert fresh["fingerprint"] != form["fingerprint"] and fresh["form_key"] != form["form_key"]
    started = client.post("/instances/bulk", fresh)
    assert started.status_code == 302, started.get_data(as_text=True)
    operation = db.session.scalars(select(BulkOperation)).one()
    assert sorted(operation.instance_ids) == sorted(previewed + launched)
    bulk_work.run_bulk(operation.id, 60)
    db.session.expire_all()
    assert {db.session.get(WorkflowInstance, i).status for i in previewed + launched} == {"cancelled"}
