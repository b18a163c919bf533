"""Counts on the diagram (#12): how many instances wait at each element and how many failed there,
from one grouped query on SQLite and on PostgreSQL, for one version or all, each user counting only
their own instances; and the instance list's `activity` and `version` filters that list them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.models import User, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services.element_counts import element_counts, element_counts_state
from app.services.instance_listing import InstanceFilter, list_instances
from tests.support.factories import make_user

# key -> (owner, workflow, version, status, current activities); created newest first in key order.
ROWS: dict[str, tuple[str, str, int, str, list[str]]] = {
    "w1": ("ann", "Orders", 1, "running", ["review"]),
    "w2": ("ann", "Orders", 1, "running", ["review"]),
    "w3": ("ann", "Orders", 1, "running", ["review", "pack"]),  # parallel branches: counted at both
    "w4": ("ann", "Orders", 1, "running", ["pack", "pack"]),  # listed twice: one instance all the same
    "f1": ("ann", "Orders", 1, "failed", ["review"]),
    "f2": ("ann", "Orders", 1, "failed", []),  # failed during its launch: at no element
    "c1": ("ann", "Orders", 1, "completed", []),
    "x1": ("ann", "Orders", 1, "cancelled", ["review"]),  # no longer tracked: not counted
    "l1": ("ann", "Orders", 1, "launching", []),
    "v2": ("ann", "Orders", 2, "running", ["review"]),
    "o1": ("ann", "Other", 1, "running", ["review"]),
    "b1": ("bob", "Orders", 1, "running", ["review"]),
    "b2": ("bob", "Orders", 1, "failed", ["pack"]),
}


def _user(name: str, role: str = "user") -> User:
    email = f"{name}@example.com"
    return db.session.scalar(select(User).where(User.email == email)) or make_user(email, role)


def _seed() -> dict[str, str]:
    owners = {name: _user(name).id for name in ("ann", "bob")}
    workflows = {
        key: Workflow(
            name=key[0],
            version=key[1],
            bpmn_xml="<x/>",
            bpmn_sha256=f"{key[0]}{key[1]}",
            summary={},
            status="active",
            created_by=owners["ann"],
        )
        for key in sorted({(r[1], r[2]) for r in ROWS.values()})
    }
    db.session.add_all(workflows.values())
    db.session.flush()
    ids = {key: f"00000000-0000-0000-0000-0000000000{n:02d}" for n, key in enumerate(ROWS)}
    start = utcnow()
    db.session.execute(
        insert(WorkflowInstance),
        [
            {
                "id": ids[key],
                "workflow_id": workflows[name, version].id,
                "status": status,
                "variables": {},
                "current_activities": activities,
                "created_by": owners[owner],
                "created_at": start - timedelta(seconds=n),
            }
            for n, (key, (owner, name, version, status, activities)) in enumerate(ROWS.items())
        ],
    )
    db.session.commit()
    return ids


def test_counts_come_from_one_grouped_query_per_version_and_per_user(database: str, app: Any) -> None:
    _seed()
    ann, bob, root = _user("ann"), _user("bob"), _user("root", "admin")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "workflow_instances" in statement:  # not the reload of the user row the commits expired
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        counted = element_counts("Orders", 1, actor=ann)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert counted == {"review": {"waiting": 3, "failed": 1}, "pack": {"waiting": 2, "failed": 0}}
    assert len(statements) == 1 and "GROUP BY" in statements[0], statements
    assert element_counts("Orders", "1", actor=ann) == counted  # a version as a URL gives it
    # All versions: v2's instance too; never another workflow's.
    assert element_counts("Orders", actor=ann) == {
        "review": {"waiting": 4, "failed": 1},
        "pack": {"waiting": 2, "failed": 0},
    }
    # Each user counts their own instances; an admin counts everyone's.
    assert element_counts("Orders", 1, actor=bob) == {
        "review": {"waiting": 1, "failed": 0},
        "pack": {"waiting": 0, "failed": 1},
    }
    assert element_counts("Orders", 1, actor=root) == {
        "review": {"waiting": 4, "failed": 1},
        "pack": {"waiting": 2, "failed": 1},
    }
    assert element_counts("Orders", 3, actor=root) == {} and element_counts("", actor=root) == {}


def test_the_counts_state_moves_with_the_counts_and_says_when_to_poll(database: str, app: Any) -> None:
    ids = _seed()
    ann, bob = _user("ann"), _user("bob")
    state = element_counts_state("Orders", 1, actor=ann)
    assert state.moving  # running and launching instances
    assert element_counts_state("Orders", 1, actor=ann) == state
    assert element_counts_state("Orders", 1, actor=bob).version != state.version  # per user
    assert element_counts_state("Orders", actor=ann).version != state.version  # per version
    db.session.get(WorkflowInstance, ids["w1"]).status = "failed"
    db.session.commit()
    assert element_counts_state("Orders", 1, actor=ann).version != state.version
    for key in ("w2", "w3", "w4", "l1"):
        db.session.get(WorkflowInstance, ids[key]).status = "completed"
    db.session.commit()
    assert not element_counts_state("Orders", 1, actor=ann).moving  # nothing of ann's runs: no polling
    assert element_counts_state("Orders", 1, actor=bob).moving  # bob's b1 still runs
    with pytest.raises(NotFound):
        element_counts_state("Nope", actor=ann)
    with pytest.raises(NotFound):
        element_counts_state("Orders", 9, actor=ann)
    with pytest.raises(InvalidInput):
        element_counts_state("Orders", "1; drop", actor=ann)


def test_the_list_finds_the_instances_at_an_element(database: str, api: Any) -> None:
    ids = _seed()  # the `api` fixture's user is ann
    by_id = {v: k for k, v in ids.items()}

    def found(query: str) -> list[str]:
        response = api.get(f"/api/shar/instances?per_page=100&{query}")
        assert response.status_code == 200, (query, response.get_json())
        return [by_id[item["id"]] for item in response.get_json()["data"]["items"]]

    # The badges' links: ann's own, of that version, at that element, in that status.
    assert found("workflow=Orders&version=1&activity=review&status=running") == ["w1", "w2", "w3"]
    assert found("workflow=Orders&version=1&activity=review&status=failed") == ["f1"]
    assert found("workflow=Orders&version=1&activity=pack&status=running") == ["w3", "w4"]
    assert found("workflow=Orders&activity=review&status=running") == ["w1", "w2", "w3", "v2"]
    assert found("activity=review") == ["w1", "w2", "w3", "f1", "x1", "v2", "o1"]
    assert found("workflow=Orders&version=2") == ["v2"]
    assert found("activity=nowhere") == []
    for query, field in (
        ("version=1", "version"),
        ("workflow=Orders&version=x", "version"),
        ("workflow=Orders&version=0", "version"),
        ("workflow=Orders&version=%C2%B2", "version"),
        ("workflow=Orders&version=" + "9" * 5000, "version"),
        ("activity=" + "a" * 201, "activity"),
    ):
        response = api.get(f"/api/shar/instances?{query}")
        assert response.status_code == 422 and list(response.get_json()["errors"]) == [field], query
    # The service the web list and the API share.
    listed = list_instances(actor=_user("ann"), filters=InstanceFilter(workflow="Orders", version=1, activity="pack"))
    assert [by_id[i.id] for i in listed.items] == ["w3", "w4"]
