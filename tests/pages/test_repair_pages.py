"""The instance page's repair forms (services.repairs): Move and Edit variables post to a preview (the
fragment under the form for htmx, the whole page without script) with a Confirm carrying the same
values; a refusal is said where the preview would be; a viewer is offered neither, and an action this
SHAR does not offer is shown disabled with the reason. Nothing here calls SHAR: previews are computed
from what sharboard stores, and a confirm only queues a job."""

from __future__ import annotations

import html

from flask import Flask
from sqlalchemy import select

from app.core.extensions import db
from app.models import AuditEntry, JobRecord, WorkflowInstance
from app.services import shar_features
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"
HTMX = {"HX-Request": "true"}


def _instance(offline_app: Flask) -> WorkflowInstance:
    ann = make_user("ann@example.com", "user", PASSWORD)
    make_user("vera@example.com", "viewer", PASSWORD)
    workflow = create_workflow("Twice", bpmn("two_step"), actor=ann).workflow
    workflow.status = "active"
    row = WorkflowInstance(
        workflow_id=workflow.id,
        status="running",
        created_by=ann.id,
        current_activities=["second"],
        shar_instance_id="shar-1",
        process_id="TwoStep",
        variables={"order": 7, "note": "rush"},
    )
    db.session.add(row)
    db.session.commit()
    return row


def _text(answer) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(answer.get_data(as_text=True))


def test_move_preview_then_confirm(offline_app: Flask) -> None:
    row = _instance(offline_app)
    ann = Browser(offline_app, "ann@example.com", PASSWORD)
    page = _text(ann.get(f"/instances/{row.id}"))
    assert 'id="move-form"' in page
    assert '<option value="second">Second approval (second)</option>' in page  # where it stands
    for element, label in (("first", "First approval (first)"), ("end", "end"), ("start", "start")):
        assert f'<option value="{element}">{label}</option>' in page  # the process's elements, by name

    form = {"from": "second", "to": "first", "variables_json": '{"retried": true}'}
    fragment = ann.post(f"/instances/{row.id}/move/preview", form, headers=HTMX)
    assert fragment.status_code == 200
    text = _text(fragment)
    assert "<html" not in text
    assert (
        "leaves Second approval (second), enters First approval (first), keeps variables order, note, sets retried"
        in text
    )
    assert '<input type="hidden" name="to" value="first">' in text
    assert '<input type="hidden" name="variables_json" value="{"retried": true}">' in text

    refused = ann.post(f"/instances/{row.id}/move/preview", {"from": "first", "to": "second"}, headers=HTMX)
    assert refused.status_code == 422
    assert "does not stand at First approval (first); it stands at Second approval (second)" in _text(refused)
    whole = ann.post(f"/instances/{row.id}/move/preview", form)  # without script: the page with the preview
    assert whole.status_code == 200 and "<html" in _text(whole) and 'id="move-confirm"' in _text(whole)
    assert not db.session.scalars(select(JobRecord).where(JobRecord.job_type == "move_instance")).all()

    confirmed = ann.post(f"/instances/{row.id}/move", form)
    assert confirmed.status_code == 302
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "move_instance")).one()
    assert job.payload == {"from": ["second"], "to": "first", "variables": {"retried": True}, "by": "ann@example.com"}
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "instance.move")).one()
    after = _text(ann.get(f"/instances/{row.id}"))
    assert "move queued: it leaves Second approval (second)" in after
    assert "move from Second approval (second) to First approval (first) requested by ann@example.com" in after
    again = ann.post(f"/instances/{row.id}/move/preview", form, headers=HTMX)
    assert again.status_code == 409 and "a move of its token of instance" in _text(again)


def test_variable_edit_preview_shows_the_diff(offline_app: Flask) -> None:
    row = _instance(offline_app)
    ann = Browser(offline_app, "ann@example.com", PASSWORD)
    form = {"set_json": '{"order": 8, "priority": "high"}', "remove": "note"}
    text = _text(ann.post(f"/instances/{row.id}/variables/preview", form, headers=HTMX))
    assert "adds priority; changes order; removes note; 0 unchanged" in text
    assert '<tr class="diff-changed"><td>order</td><td><code>7</code></td><td><code>8</code></td></tr>' in text
    assert '<input type="hidden" name="remove" value="note">' in text
    bad = ann.post(f"/instances/{row.id}/variables/preview", {"set_json": "[1]"}, headers=HTMX)
    assert bad.status_code == 422 and 'id="variables-error"' in _text(bad)

    assert ann.post(f"/instances/{row.id}/variables", form).status_code == 302
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "set_instance_variables")).one()
    assert job.payload == {"set": {"order": 8, "priority": "high"}, "remove": ["note"], "by": "ann@example.com"}


def test_a_viewer_is_offered_no_repair_and_refused_one(offline_app: Flask) -> None:
    row = _instance(offline_app)
    vera = Browser(offline_app, "vera@example.com", PASSWORD)
    page = _text(vera.get(f"/instances/{row.id}"))
    assert 'id="repair"' not in page
    refused = vera.post(f"/instances/{row.id}/move", {"from": "second", "to": "first"})
    assert refused.status_code == 403 and "read-only" in _text(refused)


def test_an_action_this_shar_does_not_offer_is_shown_disabled_with_why(offline_app: Flask) -> None:
    row = _instance(offline_app)
    shar_features.record_not_offered("variables", "HTTP 404: 404 page not found")
    db.session.commit()
    page = _text(Browser(offline_app, "ann@example.com", PASSWORD).get(f"/instances/{row.id}"))
    assert 'id="variables-unavailable"' in page and 'id="variables-form"' not in page
    assert "this SHAR does not offer changing the variables of instances in SHAR (HTTP 404: 404 page not found)" in page
    assert 'id="move-form"' in page
