"""Names, not ids (issue 22), on the pages: wherever a person reads an element (the instance page, its
Complete button and timeline, the list and its "at element" filter, the diagram's counts, the stuck
page, the overview, a bulk preview) it is named from the workflow's file with the id beside it or on
hover, and shown by its id only where the file gives no name. The API keeps ids and adds the names."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask

from app.core.extensions import db
from app.models import ActivityEvent, WorkflowInstance
from app.models._base import utcnow
from app.services.workflows import create_workflow
from tests.api.conftest import bearer_for
from tests.support.factories import bpmn, make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"
NAMED = '<span class="element-name" title="approve">Approve order</span>'
UNNAMED = '<code class="element-id">wait_pay</code>'


def _setup(offline_app: Flask) -> tuple[Browser, list[WorkflowInstance]]:
    admin = make_user("ada@example.com", "admin", PASSWORD)
    workflow = create_workflow("Pay", bpmn("names"), actor=admin).workflow
    long_ago = utcnow() - timedelta(hours=3)
    rows = [
        WorkflowInstance(
            workflow_id=workflow.id,
            status="running",
            created_by=admin.id,
            current_activities=at,
            shar_instance_id=f"shar-{n}",
            progressed_at=long_ago,
        )
        for n, at in enumerate((["approve"], ["wait_pay"], ["approve", "wait_pay"]))
    ]
    db.session.add_all(rows)
    db.session.commit()
    return Browser(offline_app, "ada@example.com", PASSWORD), rows


def test_the_list_names_elements_and_filters_by_a_chosen_one(offline_app: Flask) -> None:
    client, (at_approve, at_pay, at_both) = _setup(offline_app)

    page = client.get("/instances").get_data(as_text=True)
    row = _row(page, at_approve.id)
    assert NAMED in row and "<code" not in row.split("</code>", 1)[1]  # the name, its id on hover only
    assert UNNAMED in _row(page, at_pay.id)  # no name in the file: the id
    # Without a workflow the filter offers no element ids to type: it says to choose a workflow.
    assert "at any element (choose a workflow first)" in page and 'placeholder="At element (id)"' not in page

    listed = client.get("/instances?workflow=Pay").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]*)" >at ([^<]*)</option>', _filter(listed))
    assert options == [
        ("approve", "Approve order (approve)"),
        ("end", "end"),
        ("start", "Order placed (start)"),
        ("wait_pay", "wait_pay"),
    ]

    chosen = client.get("/instances?workflow=Pay&activity=approve").get_data(as_text=True)
    assert '<option value="approve" selected>at Approve order (approve)</option>' in _filter(chosen)
    assert sorted(re.findall(r'data-instance="([^"]+)"', chosen)) == sorted([at_approve.id, at_both.id])
    # An id the file does not hold (an old link) is still shown as the filter chosen.
    gone = client.get("/instances?workflow=Pay&activity=gone").get_data(as_text=True)
    assert '<option value="gone" selected>at gone</option>' in _filter(gone)


def test_the_instance_page_names_where_it_waits_and_what_completes(offline_app: Flask) -> None:
    client, (at_approve, at_pay, _) = _setup(offline_app)
    db.session.add(ActivityEvent(target_type="instance", target_id=at_approve.id, kind="x", message="seen"))
    db.session.commit()

    page = client.get(f"/instances/{at_approve.id}").get_data(as_text=True)
    status_line = page[page.index('class="status-line"') : page.index("last synced")]
    assert NAMED + ' <code class="element-id">approve</code>' in status_line  # the id small beside
    waiting = page[page.index('class="waiting"') :]
    assert "Waiting for a person at <strong>" + NAMED in waiting
    assert ">Complete Approve order</span>" in waiting and "Complete approve" not in page

    unnamed = client.get(f"/instances/{at_pay.id}").get_data(as_text=True)
    assert 'at <code class="element-id">wait_pay</code>' in unnamed  # the message wait, by its id

    done = client.post(f"/instances/{at_approve.id}/complete")
    assert done.status_code == 302
    timeline = client.get(f"/instances/{at_approve.id}/_live").get_data(as_text=True)
    assert "completion of Approve order (approve) requested" in timeline


def test_the_counts_stuck_page_and_overview_name_elements(offline_app: Flask) -> None:
    client, (at_approve, at_pay, _) = _setup(offline_app)

    counts = client.get("/workflows/Pay/_counts?version=1").get_data(as_text=True)
    assert f'<li data-element="approve">{NAMED} <code class="element-id">approve</code>' in counts
    assert '<li data-element="wait_pay"><code class="element-id">wait_pay</code>' in counts
    assert 'aria-label="2 waiting at Approve order (approve)"' in counts
    assert 'aria-label="2 waiting at wait_pay"' in counts

    workflow_page = client.get("/workflows/Pay").get_data(as_text=True)
    assert 'data-instances-url="/instances?workflow=Pay&amp;version=1"' in workflow_page  # a click filters the list

    stuck = client.get("/admin/stuck?minutes=60").get_data(as_text=True)
    assert NAMED in _row(stuck, at_approve.id[:8], attr="") and UNNAMED in stuck
    assert "a person at Approve order (approve)" in stuck
    overview = client.get("/").get_data(as_text=True)
    assert NAMED in overview

    preview = client.get("/instances/bulk/preview?workflow=Pay&action=sync").get_data(as_text=True)
    sample = preview[preview.index('id="bulk-sample"') :]
    assert NAMED in sample and UNNAMED in sample


def test_the_api_keeps_ids_and_adds_names(offline_app: Flask) -> None:
    _, (_, _, at_both) = _setup(offline_app)
    api = offline_app.test_client()
    shown = api.get(f"/api/shar/instances/{at_both.id}", headers=bearer_for("admin")).get_json()["data"]
    assert shown["current_activities"] == ["approve", "wait_pay"]
    assert shown["current_activity_names"] == ["Approve order", None]
    schema = api.get("/api/openapi.json").get_json()["components"]["schemas"]["Instance"]["properties"]
    assert schema["current_activity_names"]["items"] == {"type": ["string", "null"]}


def _row(page: str, key: str, attr: str = "data-instance=") -> str:
    start = page.index(f'{attr}"{key}"' if attr else key)
    return page[start : page.index("</tr>", start)]


def _filter(page: str) -> str:
    return page[page.index('id="activity-filter"') : page.index("</select>", page.index('id="activity-filter"'))]
