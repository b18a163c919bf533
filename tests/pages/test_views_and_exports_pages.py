"""Saved views and exports on the pages (#24), on the first tier: save the filtered list from the list
page, open it from the navigation, share it (published by an admin, or by its filter link), manage it;
a stored filter that no longer works opens with the reason; the list as CSV (visibility, columns,
order, formula cells defused) and an instance's history as JSON, as much as the reader may see."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html import unescape

from flask import Flask
from sqlalchemy import func, select

from app.core.extensions import db
from app.models import AuditEntry, JobAttempt, JobRecord, SavedView, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services.audit import audit
from app.services.exports import csv_cell
from tests.support.factories import make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"


def _world() -> dict[str, object]:
    users = {
        name: make_user(f"{name}@example.com", role, PASSWORD)
        for name, role in (("ann", "user"), ("bob", "user"), ("vera", "viewer"), ("ada", "admin"))
    }
    orders = Workflow(name="Orders", version=1, bpmn_xml="<x/>", bpmn_sha256="h", summary={}, status="active")
    db.session.add(orders)
    db.session.flush()
    now = utcnow()
    rows = [
        WorkflowInstance(
            workflow_id=orders.id,
            status="running",
            created_by=users["ann"].id,
            variables={"orderId": f"A{n}", "amount": n * 100, "note": '=HYPERLINK("http://x")' if n == 1 else "ok"},
            created_at=now - timedelta(minutes=n),
        )
        for n in range(3)
    ]
    bobs = WorkflowInstance(
        workflow_id=orders.id, status="completed", created_by=users["bob"].id, variables={"orderId": "B1"}
    )
    db.session.add_all([*rows, bobs])
    db.session.commit()
    return {**users, "rows": rows, "bobs": bobs}


def _ids(html: str) -> list[str]:
    return re.findall(r'data-instance="([^"]+)"', html)


def _hidden(html: str, form_id: str) -> dict[str, str]:
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S).group(0)
    return {name: unescape(value) for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)}


def test_save_open_share_publish_and_delete_a_view(offline_app: Flask) -> None:
    w = _world()
    ann = Browser(offline_app, "ann@example.com", PASSWORD)
    listing = ann.get("/instances?workflow=Orders&var=amount>=100&columns=orderId,amount&sort=oldest").get_data(
        as_text=True
    )
    # The save form carries the filter, the columns and the order as they are shown.
    fields = _hidden(listing, "save-view-form")
    assert fields["workflow"] == "Orders" and fields["var"] == "amount>=100"
    assert fields["columns"] == "orderId,amount" and fields["sort"] == "oldest"
    saved = ann.post("/views", {**fields, "name": "Big orders"})
    assert saved.status_code == 302
    view = db.session.scalars(select(SavedView)).one()
    assert view.filter == {"workflow": "Orders", "var": ["amount>=100"]} and view.columns == ["orderId", "amount"]
    assert view.sort == "oldest" and not view.published
    page = ann.get(f"/views/{view.id}").get_data(as_text=True)
    # Oldest first, the two matching rows, the view's columns; the navigation names it.
    assert _ids(page) == [w["rows"][2].id, w["rows"][1].id]
    assert '<th class="var-column" scope="col">orderId</th>' in page and "<h1>Big orders" in page
    assert f'href="/views/{view.id}">Big orders</a>' in ann.get("/instances").get_data(as_text=True)
    # The same name twice is refused with the reason; nothing more is stored.
    again = ann.post("/views", {**fields, "name": "Big orders"}, follow_redirects=True)
    assert "already have a view named" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SavedView)) == 1

    # Bob cannot open Ann's private view (404, as any row not his), but its filter link works for him,
    # within what he may see: Ann's instances are not his.
    bob = Browser(offline_app, "bob@example.com", PASSWORD)
    assert bob.get(f"/views/{view.id}").status_code == 404
    share = unescape(re.search(r'id="share-link" href="([^"]+)"', page).group(1))
    assert "workflow=Orders" in share and "sort=oldest" in share and "columns=orderId" in share
    assert _ids(bob.get(share.replace("http://localhost", "")).get_data(as_text=True)) == []
    assert bob.post(f"/views/{view.id}/delete").status_code == 404

    # A viewer saves views for herself but publishes nothing: 403 with the reason.
    vera = Browser(offline_app, "vera@example.com", PASSWORD)
    assert vera.post("/views", {"name": "Mine", "status": "running"}).status_code == 302
    assert "for everyone" not in vera.get("/instances").get_data(as_text=True)
    refused = vera.post("/views", {"name": "Everyone's", "published": "1"})
    assert refused.status_code == 403 and "only an admin may do this" in refused.get_data(as_text=True)

    # An admin publishes her own view: everyone finds it in the navigation and opens it; audited.
    ada = Browser(offline_app, "ada@example.com", PASSWORD)
    ada.post("/views", {"name": "Running", "status": "running"})
    running = db.session.scalars(select(SavedView).where(SavedView.name == "Running")).one()
    assert ada.post(f"/views/{running.id}/publish", {"published": "1"}).status_code == 302
    assert f'href="/views/{running.id}">Running</a>' in bob.get("/instances").get_data(as_text=True)
    assert _ids(vera.get(f"/views/{running.id}").get_data(as_text=True)) == [r.id for r in w["rows"]]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "view.publish")).one()
    assert entry.target_id == str(running.id) and entry.actor_name == "ada@example.com"
    # Its owner or an admin manages it; others see it without the forms to change it.
    manage = bob.get("/views").get_data(as_text=True)
    assert f'action="/views/{running.id}/delete"' not in manage and f'href="/views/{running.id}">Running' in manage
    assert bob.post(f"/views/{running.id}/rename", {"name": "Mine now"}).status_code == 403

    # Ann renames and deletes her own; the delete is audited.
    assert ann.post(f"/views/{view.id}/rename", {"name": "Large orders"}).status_code == 302
    assert ann.post(f"/views/{view.id}/delete").status_code == 302
    assert db.session.get(SavedView, view.id) is None
    deleted = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "view.delete")).one()
    assert deleted.before["name"] == "Large orders"


def test_a_view_whose_workflow_is_gone_or_filter_broke_opens_with_the_reason(offline_app: Flask) -> None:
    w = _world()
    ann = Browser(offline_app, "ann@example.com", PASSWORD)
    ann.post("/views", {"name": "Orders", "workflow": "Orders"})
    view = db.session.scalars(select(SavedView)).one()
    db.session.execute(WorkflowInstance.__table__.delete())
    db.session.execute(Workflow.__table__.delete())
    db.session.commit()
    gone = ann.get(f"/views/{view.id}")
    assert gone.status_code == 422 and "workflow &#39;Orders&#39; no longer exists" in gone.get_data(as_text=True)
    # A stored filter a rule now refuses (written by hand here) is said too, never a 500.
    view.filter = {"status": "sleeping", "var": ["amount >> 1"]}
    db.session.commit()
    broken = ann.get(f"/views/{view.id}")
    assert broken.status_code == 422 and "stored filter no longer works" in broken.get_data(as_text=True)
    assert w["ann"].id == view.owner_id


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_download_csv_of_the_filtered_list(offline_app: Flask) -> None:
    w = _world()
    ann = Browser(offline_app, "ann@example.com", PASSWORD)
    page = ann.get("/instances?workflow=Orders&columns=orderId,note").get_data(as_text=True)
    link = unescape(re.search(r'id="download-csv" href="([^"]+)"', page).group(1))
    rows = _csv(ann.get(link))
    assert rows[0][:4] == ["id", "workflow", "version", "status"] and rows[0][-2:] == ["var:orderId", "var:note"]
    # Only Ann's instances (Bob's is not hers), newest first, as the list shows them.
    assert [r[0] for r in rows[1:]] == [i.id for i in w["rows"]]
    assert rows[2][-2:] == ["A1", '\'=HYPERLINK("http://x")']  # a formula is written as text
    # An admin's CSV holds everyone's; the order and a condition follow the URL.
    ada = Browser(offline_app, "ada@example.com", PASSWORD)
    every = _csv(ada.get("/instances/export.csv?sort=oldest&var=orderId!=A0"))
    assert [r[0] for r in every[1:]] == [w["rows"][2].id, w["rows"][1].id, w["bobs"].id]
    bad = ann.get("/instances/export.csv?older_than=soon")
    assert bad.status_code == 422 and "older_than" in bad.get_data(as_text=True)


def test_formula_cells_are_defused_and_numbers_kept() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+1", "-x", "@SUM(A1)", "\tx", "plain", "")] == [
        "'=1+1",
        "'+1",
        "'-x",
        "'@SUM(A1)",
        "'\tx",
        "plain",
        "",
    ]
    assert [csv_cell(v) for v in (-5, 2.5, True, None, {"a": "=b"}, ["-1"])] == [
        "-5",
        "2.5",
        "true",
        "",
        '{"a": "=b"}',
        '["-1"]',
    ]


def test_an_instances_history_as_json_as_much_as_the_reader_may_see(offline_app: Flask) -> None:
    w = _world()
    instance = w["rows"][0]
    job = JobRecord(
        job_type="sync_instance", queue="q", target_type="instance", target_id=instance.id, state="failed", attempts=1
    )
    db.session.add(job)
    db.session.flush()
    db.session.add(JobAttempt(job_id=job.id, number=1, outcome="failed", error="SHAR said no", traceback="Trace!"))
    audit(w["ann"], "instance.sync", "instance", instance.id)
    db.session.commit()
    ann = Browser(offline_app, "ann@example.com", PASSWORD)
    page = ann.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert f'href="/instances/{instance.id}/export.json"' in page
    mine = ann.get(f"/instances/{instance.id}/export.json")
    assert mine.status_code == 200 and "attachment" in mine.headers["Content-Disposition"]
    history = json.loads(mine.get_data(as_text=True))
    assert history["instance"]["variables"]["orderId"] == "A0" and history["withheld"] == []
    assert history["jobs"][0]["attempts"][0]["error"] == "SHAR said no"
    assert "traceback" not in history["jobs"][0]["attempts"][0]  # tracebacks are admins'
    assert [a["action"] for a in history["audit"]] == ["instance.sync"]
    # A viewer reads the instance and its timeline, not its jobs or audit entries, and is told so.
    vera = json.loads(
        Browser(offline_app, "vera@example.com", PASSWORD).get(f"/instances/{instance.id}/export.json").data
    )
    assert vera["jobs"] == [] and vera["audit"] == [] and vera["withheld"] == ["jobs", "audit"]
    admin = json.loads(
        Browser(offline_app, "ada@example.com", PASSWORD).get(f"/instances/{instance.id}/export.json").data
    )
    assert admin["jobs"][0]["attempts"][0]["traceback"] == "Trace!"
    # Another user's instance is not found, as everywhere.
    assert (
        Browser(offline_app, "bob@example.com", PASSWORD).get(f"/instances/{instance.id}/export.json").status_code
        == 404
    )
