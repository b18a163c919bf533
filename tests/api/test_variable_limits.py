"""Variables are bounded (SHARBOARD_MAX_VARIABLES_BYTES): whatever SHAR holds, a synced instance
stores, and an API read answers, no more than the limit; the timeline says what was left out."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.extensions import db
from app.models import ActivityEvent
from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.support.factories import bpmn

LIMIT = 4096  # sharboard's; the engine keeps its own default (1 MiB), as a SHAR would hold more than we keep


@pytest.fixture
def overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    return {**overrides, "max_variables_bytes": LIMIT}


def test_an_api_read_of_a_synced_instance_never_answers_more_than_the_limit(api, shar) -> None:  # type: ignore[no-untyped-def]
    create_workflow("Delivery", bpmn("messages"), actor=CLI, async_=False)
    launched = api.post("/api/shar/workflows/Delivery/launch", json={"async": False, "variables": {"n": 1}})
    instance = api.get(f"/api/shar/instances/{launched.get_json()['data']['id']}").get_json()["data"]
    # In SHAR (not through a door, which would refuse it) the variables grow past sharboard's limit.
    grown = {"big": "x" * 3000, "bigger": "y" * 5000, "small": 1}
    delivered = httpx.post(
        f"{shar.url}/api/v1/instances/{instance['shar_instance_id']}/messages",
        json={"name": "payment-received", "variables": grown},
    )
    assert delivered.status_code == 202, delivered.text

    synced = api.post(f"/api/shar/instances/{instance['id']}/sync", json={"async": False})
    assert synced.status_code == 200, synced.get_json()
    read = api.get(f"/api/shar/instances/{instance['id']}")
    shown = read.get_json()["data"]
    assert shown["current_activities"] == ["shipped"]  # the sync itself was applied
    assert shown["variables"] == {"n": 1, "big": "x" * 3000, "small": 1}  # what fits; "bigger" left out
    assert len(json.dumps(shown["variables"], separators=(",", ":"))) <= LIMIT
    assert len(read.get_data()) < LIMIT + 2048  # the variables and the row's few other fields
    left_out = db.session.scalars(
        select(ActivityEvent).where(
            ActivityEvent.target_id == instance["id"], ActivityEvent.kind == "variables_left_out"
        )
    ).one()
    assert "bigger (5,011 bytes)" in left_out.message and f"{LIMIT:,}" in left_out.message

    # Completed in SHAR, still over: the final sync keeps what fits too, and says it no second time.
    httpx.post(f"{shar.url}/api/v1/instances/{instance['shar_instance_id']}/messages", json={"name": "order-shipped"})
    api.post(f"/api/shar/instances/{instance['id']}/sync", json={"async": False})
    ended = api.get(f"/api/shar/instances/{instance['id']}").get_json()["data"]
    assert ended["status"] == "completed" and ended["variables"] == shown["variables"]
    assert (
        len(
            db.session.scalars(
                select(ActivityEvent).where(
                    ActivityEvent.target_id == instance["id"], ActivityEvent.kind == "variables_left_out"
                )
            ).all()
        )
        == 1
    )
