"""Trends on the overview and the workflow page (#12): instances started, completed and failed per
interval, duration percentiles per version, the queues as the scheduler sampled them; SVG drawn on
the server with a title, a description and a table; a user's trends count their own instances.
On SQLite and PostgreSQL (the intervals are SQL on each)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from app.core.extensions import db
from app.models import JobRecord, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services.actors import CLI
from app.services.trends import sample_queues, trends
from tests.support.factories import make_user
from tests.web.conftest import PASSWORD


def _seed() -> tuple[Any, Any]:
    ann, bob = make_user("ann@example.com", "user", PASSWORD), make_user("bob@example.com", "user", PASSWORD)
    v1 = Workflow(name="Orders", version=1, bpmn_xml="<x/>", bpmn_sha256="1", summary={}, status="inactive")
    v2 = Workflow(name="Orders", version=2, bpmn_xml="<x/>", bpmn_sha256="2", summary={}, status="active")
    db.session.add_all([v1, v2])
    db.session.flush()
    now = utcnow()
    rows = []
    # ann: 3 started 2 h ago (v1, completed in 10, 20 and 30 s), 1 failed 5 h ago (v2), 1 running now (v2);
    # bob: 1 completed 3 days ago (v2, 100 s).
    for seconds in (10, 20, 30):
        rows.append(
            {
                "workflow_id": v1.id,
                "status": "completed",
                "created_by": ann.id,
                "created_at": now - timedelta(hours=2),
                "completed_at": now - timedelta(hours=2) + timedelta(seconds=seconds),
                "duration_seconds": float(seconds),
                "variables": {},
                "current_activities": [],
            }
        )
    rows.append(
        {
            "workflow_id": v2.id,
            "status": "failed",
            "created_by": ann.id,
            "variables": {},
            "created_at": now - timedelta(hours=5),
            "completed_at": now - timedelta(hours=5, minutes=-1),
            "current_activities": [],
        }
    )
    rows.append(
        {
            "workflow_id": v2.id,
            "status": "running",
            "created_by": ann.id,
            "created_at": now,
            "variables": {},
            "current_activities": [],
        }
    )
    rows.append(
        {
            "workflow_id": v2.id,
            "status": "completed",
            "created_by": bob.id,
            "variables": {},
            "created_at": now - timedelta(days=3),
            "completed_at": now - timedelta(days=3) + timedelta(seconds=100),
            "duration_seconds": 100.0,
            "current_activities": [],
        }
    )
    db.session.execute(insert(WorkflowInstance), rows)
    db.session.commit()
    return ann, bob


def _totals(result: Any) -> dict[str, float]:
    return {key: sum(b.values[key] for b in result.instances) for key in ("started", "completed", "failed")}


def test_trends_count_by_interval_and_version_on_both_databases(database, app) -> None:  # type: ignore[no-untyped-def]
    ann, bob = _seed()
    day = trends("24h", actor=CLI)
    assert len(day.instances) == 24 and _totals(day) == {"started": 5, "completed": 3, "failed": 1}
    week = trends("7d", actor=CLI)
    assert len(week.instances) == 7 and _totals(week) == {"started": 6, "completed": 4, "failed": 1}
    assert _totals(trends("7d", actor=bob)) == {"started": 1, "completed": 1, "failed": 0}  # only bob's own
    assert _totals(trends("24h", actor=ann, workflow_name="Nothing")) == {"started": 0, "completed": 0, "failed": 0}
    v1 = next(d for d in week.durations if d["version"] == 1)
    assert (v1["count"], v1["p50"]) == (3, 20.0) and 28.0 <= v1["p95"] <= 30.0
    assert next(d for d in week.durations if d["version"] == 2)["p50"] == 100.0


def _jobs_in_states(app: Any, job_type: str, states: tuple[str, ...]) -> str:
    """One job of `job_type` in each of `states`, on the instance queue; returns that queue's name."""
    queue = app.config["SHARBOARD_SETTINGS"].shar_instance_queue
    db.session.add_all(
        JobRecord(job_type=job_type, queue=queue, target_type="instance", target_id=str(n), state=state, max_attempts=3)
        for n, state in enumerate(states)
    )
    db.session.commit()
    return queue


def test_overview_and_workflow_page_draw_the_charts_with_text_alternatives(app, client, sign_in) -> None:  # type: ignore[no-untyped-def]
    _seed()
    queue = _jobs_in_states(app, "launch_instance", ("failed", "queued", "retrying"))
    other = Workflow(name="Other", version=1, bpmn_xml="<x/>", bpmn_sha256="3", summary={}, status="active")
    db.session.add(other)
    db.session.flush()
    db.session.add(WorkflowInstance(workflow_id=other.id, status="running", variables={}, current_activities=[]))
    db.session.commit()
    assert sample_queues() == 4  # every queue sampled, the empty ones too
    sign_in("admin", "root@example.com")
    page = client.get("/").get_data(as_text=True)
    assert '<svg viewBox="0 0 640 180" role="img" aria-labelledby="chart-instances-title chart-instances-desc"' in page
    assert "Instances per hour, the last 24 hours: 6 started, 3 completed, 1 failed in all." in page
    assert 'id="chart-queues"' in page and 'id="chart-failed"' in page  # admins see the sampled queues
    assert re.search(r"<td>\d\d:00</td><td>3</td><td>3</td><td>0</td>", page)  # the table behind the bars
    # The same job counts give the overview's backlog (open jobs per queue) and its failed jobs.
    assert f"<tr><td>{queue}</td><td>2</td></tr>" in page and "1 failed job<" in page
    assert client.get("/?window=7d").get_data(as_text=True).count('<rect class="bar') == 7 * 3
    assert "chart-instances" not in client.get("/?window=off").get_data(as_text=True)
    workflow = client.get("/workflows/Orders").get_data(as_text=True)
    # Every version of the name, and no other workflow's.
    assert "Instances per hour, the last 24 hours: 5 started, 3 completed, 1 failed in all." in workflow
    assert 'id="duration-percentiles"' in workflow and "chart-queues" not in workflow


@pytest.mark.parametrize("role", ["admin", "viewer", "user"])
def test_the_queues_are_shown_to_admins_alone(app, client, sign_in, role) -> None:  # type: ignore[no-untyped-def]
    _jobs_in_states(app, "deliver_webhook", ("failed", "queued"))
    sample_queues()
    sign_in(role)
    page = client.get("/?window=24h").get_data(as_text=True)
    assert "chart-instances" in page  # everyone's trends, of what they see
    shown = ["<h2>Queues</h2>" in page, "1 failed job<" in page, 'id="chart-queues"' in page]
    # Someone else's failed callback is not a viewer's or a user's to know of: the queues are the operators'.
    assert shown == [role == "admin"] * 3
