"""Forms that finish the job (issue 22): a task completion takes variables as a launch does and
answers the page in place ("completing…" until its job answers); a file with nothing executable is
a "diagram only" whose launch form is disabled with the reason; the upload offers the file's process
name; the "is creating" note goes once the version is active; and "stop tracking" is the one term
for what SHAR cannot cancel."""

from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import select

from app.core.extensions import db
from app.lifecycle.states import JobState
from app.models import JobRecord, Workflow
from app.services.actors import CLI
from app.services.instance_work import act_failed
from app.services.launches import launch_instance
from app.services.upload_names import offered_name
from app.services.workflows import create_workflow, creation_failed
from tests.support.factories import bpmn

HTMX = {"HX-Request": "true"}
DIAGRAM_ONLY = bpmn("user_task").replace('isExecutable="true"', 'isExecutable="false"')


@pytest.fixture
def flow(app, shar):  # type: ignore[no-untyped-def]
    return create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False).workflow


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def _jobs() -> list[JobRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(JobRecord).where(JobRecord.job_type == "complete_task")))


def test_a_completion_from_the_page_sends_its_variables_and_answers_completing(client, sign_in, post, flow) -> None:
    user = sign_in("user")
    instance = launch_instance("Flow", {"amount": 5}, actor=user, async_=False).instance
    page = f"/instances/{instance.id}"
    shown = _text(client.get(page))
    assert 'id="complete-form-review"' in shown and 'id="complete-kv-rows"' in shown
    assert "Complete Review order" in shown

    # Bad JSON: 422, the reason above the form, nothing queued.
    bad = post(f"{page}/complete", {"variables_json": "[1, 2]"}, page=page, headers=HTMX)
    assert bad.status_code == 422 and 'id="instance-live"' in _text(bad)
    assert "the variables must be a JSON object" in _text(bad) or "JSON object" in _text(bad)
    assert _jobs() == []

    # Rows and JSON, read as a launch reads them: the job carries them; the fragment says "Completing…".
    sent = {"keys": ["approved", "note"], "values": ["true", "looks fine"], "variables_json": '{"score": 9}'}
    done = post(f"{page}/complete", sent, page=page, headers=HTMX)
    body = _text(done)
    assert done.status_code == 200 and 'id="completing"' in body and "Completing…" in body
    assert "complete-form-review" not in body  # no second completion offered while this one is under way
    (job,) = _jobs()
    assert job.payload["variables"] == {"approved": True, "note": "looks fine", "score": 9}
    assert 'id="completing"' in _text(client.get(f"{page}/_live"))

    # A completion that failed for good at the task still waiting is said above a new form.
    job.state, job.last_error = JobState.FAILED, "SHAR refused the completion"
    db.session.commit()
    act_failed(instance.id, "the task completion", job.last_error)  # the job's on_failure: on the timeline
    again = _text(client.get(f"{page}/_live"))
    assert (
        "The last completion failed:</strong> SHAR refused the completion" in again and "complete-form-review" in again
    )


def test_a_completion_without_script_still_flashes_and_redirects(client, sign_in, post, flow) -> None:
    user = sign_in("user")
    instance = launch_instance("Flow", {}, actor=user, async_=False).instance
    page = f"/instances/{instance.id}"
    refused = post(f"{page}/complete", {"keys": ["a", "a"], "values": ["1", "2"]}, page=page)
    assert refused.status_code == 302 and "the variable 'a' is given in two rows" in _text(client.get(page))
    assert post(f"{page}/complete", {"keys": ["a"], "values": ["1"]}, page=page).status_code == 302
    assert [j.payload["variables"] for j in _jobs()] == [{"a": 1}]


def test_a_diagram_only_file_is_shown_so_and_its_launch_form_is_disabled_with_the_reason(client, sign_in, shar) -> None:
    sign_in("user")
    create_workflow("Sketch", DIAGRAM_ONLY, actor=CLI, async_=False)
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    listing = _text(client.get("/workflows"))
    sketch_row = re.search(r'<tr data-workflow="Sketch">.*?</tr>', listing, re.S).group(0)
    flow_row = re.search(r'<tr data-workflow="Flow">.*?</tr>', listing, re.S).group(0)
    assert 'data-status="active" data-label="diagram only">diagram only' in sketch_row
    assert 'data-label="active">active' in flow_row
    page = _text(client.get("/workflows/Sketch"))
    assert 'id="launch-refused"' in page and "Sketch is a diagram only: its process is marked not executable" in page
    assert re.search(r'<fieldset class="bare" disabled aria-describedby="launch-refused">', page)
    launchable = _text(client.get("/workflows/Flow"))
    assert 'id="launch-refused"' not in launchable and '<fieldset class="bare" >' in launchable


def test_the_upload_offers_the_process_name_and_uses_it_when_the_name_is_left_empty(
    client, sign_in, post, shar
) -> None:
    sign_in("user")
    offered = client.post(
        "/workflows/_offered_name",
        data={"file": (io.BytesIO(bpmn("user_task").encode()), "review.bpmn")},
        headers={"X-CSRFToken": _csrf(client)},
    )
    assert offered.get_json() == {"name": "Review an order"}
    upload = post(
        "/workflows",
        {"name": "", "mode": "wait", "file": (io.BytesIO(bpmn("user_task").encode()), "review.bpmn")},
        page="/workflows",
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302, _text(upload)
    assert db.session.scalar(select(Workflow.name)) == "Review an order"
    nameless = bpmn("user_task").replace(' name="Review an order"', "")
    refused = post(
        "/workflows",
        {"name": "", "file": (io.BytesIO(nameless.encode()), "x.bpmn")},
        page="/workflows",
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "give the workflow a name: the file names no process" in _text(refused)


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/workflows").get_data(as_text=True)).group(1)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ((), "Review an order"),
        (((' name="Review an order"', ' name="Bestellung prüfen: Eingang"'),), "Bestellung prufen Eingang"),
        (
            ((' name="Review an order"', ""), ('id="Definitions_review"', 'id="d" name="From the file"')),
            "From the file",
        ),
        (((' name="Review an order"', ""),), None),
    ],
)
def test_offered_name_reads_the_process_then_the_definitions(app, change, name) -> None:
    text = bpmn("user_task")
    for old, new in change:
        text = text.replace(old, new)
    assert offered_name(text) == name


def test_offered_name_prefers_an_executable_process_and_reads_pools(app) -> None:
    assert offered_name(bpmn("two_processes")) == "Place an order"
    assert offered_name("not xml") is None


def test_the_creating_note_follows_the_version_and_goes_once_it_is_active(client, sign_in, post, shar) -> None:
    sign_in("user")
    upload = post(
        "/workflows",
        {"name": "Flow", "mode": "async", "file": (io.BytesIO(bpmn("user_task").encode()), "f.bpmn")},
        page="/workflows",
        content_type="multipart/form-data",
    )
    workflow = db.session.scalars(select(Workflow)).one()
    assert upload.status_code == 302 and upload.headers["Location"] == f"/workflows?created={workflow.id}"
    listing = _text(client.get(upload.headers["Location"]))
    assert "Flow v1 is being created in SHAR" in listing and f'hx-get="/workflows/_created/{workflow.id}"' in listing
    workflow.status = "active"
    db.session.commit()
    gone = _text(client.get(f"/workflows/_created/{workflow.id}"))
    assert "being created" not in gone and "hx-get" not in gone and 'id="created-note"' in gone
    assert "being created" not in _text(client.get(upload.headers["Location"]))  # a reload says nothing stale
    assert client.get("/workflows?created=99999").status_code == 200


def test_a_failed_create_keeps_its_note_with_the_reason(client, sign_in, shar) -> None:
    sign_in("user")
    workflow = create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=True).workflow
    creation_failed(workflow.id, "SHAR said no")
    note = _text(client.get(f"/workflows/_created/{workflow.id}"))
    assert "Flow v1 could not be created: SHAR said no" in note and "hx-get" not in note


def test_stop_tracking_is_the_one_term_and_the_api_keeps_its_value(client, sign_in, post, flow) -> None:
    user = sign_in("user")
    instance = launch_instance("Flow", {}, actor=user, async_=False).instance
    page = f"/instances/{instance.id}"
    shown = _text(client.get(page))
    assert ">Stop tracking</button>" in shown and "SHAR keeps running it" in shown and "cancel call" not in shown
    post(f"{page}/cancel", page=page)
    after = _text(client.get(page))
    assert "sharboard stopped tracking this instance; SHAR keeps running it" in after
    assert 'data-status="cancelled" data-label="tracking stopped">tracking stopped' in after
    assert f"tracking stopped by {user.email}" in after
    listing = _text(client.get("/instances"))
    assert '<option value="cancelled">tracking stopped</option>' in listing
    db.session.expire_all()
    assert db.session.get(type(instance), instance.id).status == "cancelled"  # the stored value is the API's
