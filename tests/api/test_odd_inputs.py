"""Odd inputs are refused (422, naming the field) or handled, never a 500: through the API and
the pages. Before: an age of 999999999w overflowed a timedelta (500 on every door that filters by
age), and an element id holding '] broke a path in the BPMN analysis (500 on create and preview)."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select

from app.core.extensions import db
from app.models import Workflow
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user
from tests.support.web import Browser

HUGE_AGES = ("999999999w", "999999999d", "5300w", "36501d")  # the last two: just over 100 years
PASSWORD = "pw-ann-12345"


def test_an_age_past_what_a_duration_holds_is_a_422_on_every_door(app, api) -> None:  # type: ignore[no-untyped-def]
    make_user("pat@example.com", "user", PASSWORD)
    browser = Browser(app, "pat@example.com", PASSWORD)
    for age in HUGE_AGES:
        listed = api.get(f"/api/shar/instances?older_than={age}")
        assert listed.status_code == 422 and "at most 100 years" in listed.get_json()["errors"]["older_than"][0], age
        for preview in (True, False):
            bulk = api.post(
                "/api/shar/instances/bulk", json={"action": "sync", "filter": {"older_than": age}, "preview": preview}
            )
            assert bulk.status_code == 422 and "older_than" in bulk.get_json()["errors"], (age, preview)
        for page in (
            f"/instances?older_than={age}",
            f"/instances/_rows?older_than={age}",
            f"/instances/bulk/preview?action=sync&older_than={age}",
        ):
            shown = browser.get(page)
            assert shown.status_code == 422 and "at most 100 years" in shown.get_data(as_text=True), page
    assert api.get("/api/shar/instances?older_than=5200w").status_code == 200  # within 100 years


# Text no workflow name can hold: a NUL failed the query on PostgreSQL (500), the rest matched nothing.
NO_NAMES = ("a\x00b", "x" * 201, "-lead", "tab\there")


def test_a_workflow_filter_no_name_can_hold_is_a_422_naming_it_on_every_door(database, api) -> None:  # type: ignore[no-untyped-def]
    assert api.post("/api/shar/workflows", json={"name": "Orders", "bpmn_xml": bpmn("user_task")}).status_code < 300
    for name in NO_NAMES:
        for url in ("/api/shar/instances", "/api/shar/instances.csv"):
            listed = api.get(url, query_string={"workflow": name})
            assert listed.status_code == 422 and list(listed.get_json()["errors"]) == ["workflow"], (url, name)
        bulk = api.post(
            "/api/shar/instances/bulk", json={"action": "sync", "filter": {"workflow": name}, "preview": True}
        )
        # A NUL in a JSON body is refused with the body, before any filter is read.
        assert bulk.status_code == 422 and list(bulk.get_json()["errors"]) == ["body" if "\x00" in name else "workflow"]
    assert api.get("/api/shar/instances?workflow=Orders").status_code == 200
    assert (
        api.get("/api/shar/instances?workflow=Nobody").get_json()["data"]["items"] == []
    )  # a name, just no such workflow


# A receive task without a message waits for a message named after it: its id once went into a path.
ODD_IDS = ("wait']", "wait'\"]", "[@id='x']", "a]b'c", "w/../x")


def _waiting_at(element_id: str) -> str:
    quoted = element_id.replace("&", "&amp;").replace('"', "&quot;")
    return (
        bpmn("user_task")
        .replace('<bpmn:userTask id="review"', f'<bpmn:receiveTask id="{quoted}"')
        .replace("</bpmn:userTask>", "</bpmn:receiveTask>")
        .replace('"review"', f'"{quoted}"')
    )


def test_an_element_id_of_any_text_is_handled_on_create_and_preview(app, api) -> None:  # type: ignore[no-untyped-def]
    for n, element_id in enumerate(ODD_IDS):
        made = api.post(
            "/api/shar/workflows", json={"name": f"Odd{n}", "bpmn_xml": _waiting_at(element_id), "async": False}
        )
        assert made.status_code == 201, (element_id, made.get_json())
        shown = api.post(f"/api/shar/workflows/Odd{n}/diff", json={"bpmn_xml": _waiting_at(element_id + "2")})
        assert shown.status_code == 200, (element_id, shown.get_json())
        assert [e["id"] for e in shown.get_json()["data"]["diff"]["added"]] == [element_id + "2"]

    pat = make_user("pat@example.com", "user", PASSWORD)
    create_workflow("Pages", bpmn("user_task"), actor=pat, async_=False)
    browser = Browser(app, "pat@example.com", PASSWORD)

    def upload(path: str, element_id: str) -> Any:
        return browser.post(
            path,
            data={"name": "Pages", "mode": "async", "file": (io.BytesIO(_waiting_at(element_id).encode()), "w.bpmn")},
        )

    for element_id in ODD_IDS:
        preview = upload("/workflows/_preview", element_id)
        assert preview.status_code == 200, (element_id, preview.get_data(as_text=True)[:2000])
    done = upload("/workflows", ODD_IDS[0])
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    assert db.session.scalars(select(Workflow).where(Workflow.name == "Pages", Workflow.version == 2)).one()
