"""Times in the reader's zone (issue 22, "dark and local"): a person chooses UTC or an IANA zone on
their settings page, the service refuses anything the zone database does not list, and the pages'
one `when` filter shows every time in that zone with the zone named; polled fragments change with it."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask

from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.models import User, WorkflowInstance
from app.services import time_zones
from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"
WINTER = datetime(2026, 1, 15, 13, 5, 0)  # naive UTC, as stored
SUMMER = datetime(2026, 7, 15, 13, 5, 0)


def test_format_names_the_zone_and_follows_its_rules() -> None:
    assert time_zones.format_when(WINTER, None) == "2026-01-15 13:05:00 UTC"
    assert time_zones.format_when(WINTER, "UTC") == "2026-01-15 13:05:00 UTC"
    assert time_zones.format_when(WINTER, "Europe/Berlin") == "2026-01-15 14:05:00 CET"
    assert time_zones.format_when(SUMMER, "Europe/Berlin") == "2026-07-15 15:05:00 CEST"
    assert time_zones.format_when(SUMMER, "America/New_York") == "2026-07-15 09:05:00 EDT"
    # A zone whose database abbreviation is digits only is named by its offset.
    assert time_zones.format_when(WINTER, "America/Sao_Paulo") == "2026-01-15 10:05:00 UTC-03:00"
    assert time_zones.format_when(WINTER, "Asia/Kolkata") == "2026-01-15 18:35:00 IST"
    assert time_zones.format_when(WINTER, "Asia/Kathmandu") == "2026-01-15 18:50:00 UTC+05:45"
    assert time_zones.format_when(None, "Europe/Berlin") == "—"
    # A stored zone the database no longer lists shows UTC rather than failing a page.
    assert time_zones.format_when(WINTER, "Mars/Olympus") == "2026-01-15 13:05:00 UTC"


def test_only_listed_zones_are_accepted() -> None:
    assert time_zones.check_zone("Europe/Berlin") == "Europe/Berlin"
    assert time_zones.check_zone(" Asia/Tokyo ") == "Asia/Tokyo"
    assert (
        time_zones.check_zone("UTC") is None
        and time_zones.check_zone("") is None
        and time_zones.check_zone(None) is None
    )
    for bad in ("Mars/Olympus", "europe/berlin", "../../etc/passwd", "/etc/localtime", "x" * 100, 5, ["UTC"]):
        with pytest.raises(InvalidInput) as refused:
            time_zones.check_zone(bad)
        assert "time_zone" in refused.value.errors, bad
    names = time_zones.zone_names()
    assert names[0] == "UTC" and "Europe/Berlin" in names and not any(n.startswith("posix/") for n in names)


def test_the_chosen_zone_is_stored_and_every_page_time_follows_it(offline_app: Flask) -> None:
    ada = make_user("ada@example.com", "admin", PASSWORD)
    workflow = create_workflow("Pay", bpmn("names"), actor=ada).workflow
    row = WorkflowInstance(workflow_id=workflow.id, status="completed", created_by=ada.id, launched_at=WINTER)
    db.session.add(row)
    db.session.commit()
    client = Browser(offline_app, "ada@example.com", PASSWORD)

    settings = client.get("/notifications").get_data(as_text=True)
    assert "<option selected>UTC</option>" in settings and "<option>Europe/Berlin</option>" in settings
    assert "2026-01-15 13:05:00 UTC" in client.get(f"/instances/{row.id}").get_data(as_text=True)
    live = client.get(f"/instances/{row.id}/_live")
    etag_in_utc = live.headers["ETag"]

    saved = client.post("/notifications/time-zone", data={"time_zone": "Europe/Berlin"}, follow_redirects=True)
    assert "Times are now shown in Europe/Berlin." in saved.get_data(as_text=True)
    assert db.session.get(User, ada.id).time_zone == "Europe/Berlin"
    assert "<option selected>Europe/Berlin</option>" in saved.get_data(as_text=True)
    page = client.get(f"/instances/{row.id}").get_data(as_text=True)
    assert "<dd>2026-01-15 14:05:00 CET</dd>" in page and "13:05:00 UTC" not in page
    # The polled fragment a browser holds from before is not reused: the zone is part of its version.
    again = client.get(f"/instances/{row.id}/_live", headers={"If-None-Match": etag_in_utc})
    assert again.status_code == 200 and "2026-01-15 14:05:00 CET" in again.get_data(as_text=True)

    refused = client.post("/notifications/time-zone", data={"time_zone": "Mars/Olympus"}, follow_redirects=True)
    assert "choose a time zone from the list" in refused.get_data(as_text=True)
    assert db.session.get(User, ada.id).time_zone == "Europe/Berlin"  # unchanged
    client.post("/notifications/time-zone", data={"time_zone": "UTC"})
    assert db.session.get(User, ada.id).time_zone is None


def test_a_viewer_chooses_their_own_zone_and_the_command_line_has_none(offline_app: Flask) -> None:
    ann = make_user("ann@example.com", "viewer", PASSWORD)
    assert time_zones.set_time_zone(actor=ann, name="Asia/Tokyo") == "Asia/Tokyo"
    db.session.expire_all()
    assert db.session.get(User, ann.id).time_zone == "Asia/Tokyo"
    with pytest.raises(NotFound):
        time_zones.set_time_zone(actor=CLI, name="Asia/Tokyo")
