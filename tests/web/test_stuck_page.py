"""The stuck-instances page tells stuck from waiting: an instance unchanged while it waits for a
person (a user task) or a message (a receive task, a message catch event) is listed as waiting, one
with nothing to wait for (a launch no worker took, a run at no activity) as stuck; each row offers
sync and stop tracking, which go through the instance operations and come back to the page."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

from sqlalchemy import select, update

from app.core.extensions import db
from app.models import AuditEntry, JobRecord, WorkflowInstance
from app.models._base import utcnow
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, refresh


def _section(page: str, name: str) -> str:
    start = page.index(f'<section class="card" id="{name}">')
    return page[start : page.index("</section>", start)]


def _unchanged_for_hours(*instances: WorkflowInstance) -> None:
    db.session.execute(
        update(WorkflowInstance)
        .where(WorkflowInstance.id.in_([i.id for i in instances]))
        .values(progressed_at=utcnow() - timedelta(hours=2))
    )
    db.session.commit()


def test_waiting_instances_are_not_stuck_and_each_row_offers_sync_and_stop(client, sign_in, post, shar) -> None:  # type: ignore[no-untyped-def]
    admin = sign_in("admin")
    create_workflow("Person", bpmn("user_task"), async_=False, actor=CLI)
    create_workflow("Delivery", bpmn("messages"), async_=False, actor=CLI)
    person = launch_instance("Person", {}, actor=admin, async_=False).instance
    message = launch_instance("Delivery", {}, actor=admin, async_=False).instance
    nowhere = launch_instance("Person", {}, actor=admin, async_=False).instance
    assert (person.status, message.status, person.current_activities, message.current_activities) == (
        "running",
        "running",
        ["review"],
        ["payment"],
    )
    # SHAR says this one is at no activity: nothing can move it on.
    db.session.execute(update(WorkflowInstance).where(WorkflowInstance.id == nowhere.id).values(current_activities=[]))
    db.session.commit()
    never_launched = launch_instance("Person", {}, actor=admin).instance  # queued; no worker runs here
    assert refresh(never_launched).status == "launching"
    _unchanged_for_hours(person, message, nowhere, never_launched)

    page = client.get("/admin/stuck").get_data(as_text=True)
    stuck, waiting = _section(page, "stuck"), _section(page, "waiting")
    assert all(i.id[:8] in stuck and i.id[:8] not in waiting for i in (nowhere, never_launched))
    assert all(i.id[:8] in waiting and i.id[:8] not in stuck for i in (person, message))
    assert "a person at Review order (review)" in waiting
    assert "message payment-received at payment-received (payment)" in waiting
    # Sync on every running row, stop tracking on every row, each sending the admin back here.
    assert stuck.count("Sync now") == 1 and stuck.count(">Stop tracking</button>") == 2
    assert waiting.count("Sync now") == 2 and waiting.count(">Stop tracking</button>") == 2
    assert (
        f'action="/instances/{person.id}/sync"' in waiting and 'name="next" value="/admin/stuck?minutes=30"' in waiting
    )

    synced = post(f"/instances/{nowhere.id}/sync", {"next": "/admin/stuck?minutes=30"}, page="/admin/stuck")
    assert synced.status_code == 302 and synced.headers["Location"] == "/admin/stuck?minutes=30"
    assert db.session.scalars(
        select(JobRecord).where(JobRecord.job_type == "sync_instance", JobRecord.target_id == nowhere.id)
    ).one()
    stopped = post(f"/instances/{never_launched.id}/cancel", {"next": "/admin/stuck?minutes=30"}, page="/admin/stuck")
    assert stopped.status_code == 302 and stopped.headers["Location"] == "/admin/stuck?minutes=30"
    assert refresh(never_launched).status == "cancelled"
    assert [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))][-2:] == [
        "instance.sync",
        "instance.cancel",
    ]
    after = client.get("/admin/stuck").get_data(as_text=True)
    assert never_launched.id[:8] not in after and (
        "sharboard stopped tracking this instance; its launch had not been sent to SHAR" in unescape(after)
    )
