"""Pages and polled fragments: uploads with field errors, badges with ETags that stop polling."""

from __future__ import annotations

import io

from app.lifecycle.changes import change_status
from app.lifecycle.states import WorkflowStatus
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, refresh


def _upload(post, name: str, content: bytes, mode: str = "async"):  # type: ignore[no-untyped-def]
    return post(
        "/workflows",
        {"name": name, "mode": mode, "file": (io.BytesIO(content), "w.bpmn")},
        page="/workflows",
        content_type="multipart/form-data",
    )


def test_upload_queues_and_lists_the_row_at_once(client, sign_in, post) -> None:
    sign_in("user")
    response = _upload(post, "OrderProcess", bpmn("user_task").encode())
    assert response.status_code == 302
    page = client.get("/workflows").get_data(as_text=True)
    assert "OrderProcess" in page and 'data-status="creating"' in page
    assert 'hx-get="/workflows/_rows' in page  # the list polls while a badge is moving


def test_upload_errors_are_shown_next_to_the_field(client, sign_in, post) -> None:
    sign_in("user")
    for content, message in [
        (b"<html></html>", "not a BPMN 2.0 file"),
        (b"not xml at all", "line"),
        (bpmn("script_task").encode(), "script task"),
    ]:
        response = _upload(post, "Broken", content)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert 'class="field-error"' in page and message.lower() in page.lower(), message


def test_badge_fragment_has_an_etag_and_stops_polling_when_final(client, sign_in, app) -> None:
    user = sign_in("user")
    workflow = create_workflow("Badge", bpmn("user_task"), actor=user, async_=False).workflow
    assert refresh(workflow).status == "active"
    first = client.get(f"/workflows/_badge/{workflow.id}")
    assert first.status_code == 200 and first.headers["ETag"]
    body = first.get_data(as_text=True)
    assert 'data-status="active"' in body and "hx-trigger" not in body  # final: no more polling
    again = client.get(f"/workflows/_badge/{workflow.id}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_badge_etag_moves_with_the_status_and_unknown_workflows_are_404(client, sign_in, app) -> None:
    user = sign_in("user")
    workflow = create_workflow("Changing", bpmn("user_task"), actor=user).workflow
    first = client.get(f"/workflows/_badge/{workflow.id}")
    assert 'data-status="creating"' in first.get_data(as_text=True)
    assert change_status(refresh(workflow), WorkflowStatus.ACTIVE)
    moved = client.get(f"/workflows/_badge/{workflow.id}", headers={"If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200 and 'data-status="active"' in moved.get_data(as_text=True)
    assert moved.headers["ETag"] != first.headers["ETag"]
    assert client.get("/workflows/_badge/999999").status_code == 404


def test_moving_badge_keeps_polling(client, sign_in, app) -> None:
    user = sign_in("user")
    workflow = create_workflow("Moving", bpmn("user_task"), actor=user).workflow
    body = client.get(f"/workflows/_badge/{workflow.id}").get_data(as_text=True)
    assert 'data-status="creating"' in body and 'hx-trigger="every 2.0s"' in body


def test_bpmn_is_served_as_inert_xml(client, sign_in, app) -> None:
    user = sign_in("user")
    create_workflow("Xml", bpmn("user_task"), actor=user)
    response = client.get("/workflows/Xml/v1.bpmn")
    assert response.mimetype == "application/xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_the_workflow_search_takes_percent_and_underscore_literally(database, client, sign_in, app) -> None:
    user = sign_in("user")
    for name in ("a_b", "axb", "Other"):
        create_workflow(name, bpmn("user_task"), actor=user, async_=False)

    def listed(q: str) -> set[str]:
        page = client.get("/workflows", query_string={"q": q}).get_data(as_text=True)
        return {name for name in ("a_b", "axb", "Other") if f">{name}<" in page}

    assert listed("a_b") == {"a_b"}
    assert listed("%") == set() and listed("_") == {"a_b"}
    assert listed("A") == {"a_b", "axb"}  # still a case-insensitive substring


def test_the_live_fragment_is_304_until_its_status_or_timeline_moves(database, client, sign_in, app) -> None:
    """What row 3 of issue 10 measures, and what its version must still catch: a new timeline entry
    with no status change (the version reads the newest entry by time), a status change, and
    nobody else's instance."""
    from app.core.extensions import db
    from app.lifecycle.changes import record_activity
    from app.services.launches import launch_instance
    from tests.support.factories import make_user

    user = sign_in("user")
    create_workflow("Live", bpmn("user_task"), actor=user, async_=False)
    instance = launch_instance("Live", {}, actor=user, async_=False).instance
    url = f"/instances/{instance.id}/_live"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    record_activity(refresh(instance), "note", "a note on the timeline")
    db.session.commit()
    noted = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert noted.status_code == 200 and "a note on the timeline" in noted.get_data(as_text=True)
    assert client.get(url, headers={"If-None-Match": noted.headers["ETag"]}).status_code == 304
    assert change_status(refresh(instance), "cancelled")
    cancelled = client.get(url, headers={"If-None-Match": noted.headers["ETag"]})
    assert cancelled.status_code == 200 and cancelled.headers["ETag"] != noted.headers["ETag"]
    other = launch_instance("Live", {}, actor=make_user("bob@example.com"), async_=False).instance
    assert client.get(f"/instances/{other.id}/_live").status_code == 404
