"""Keyset paging and capped totals on the instance list: the last page costs what the first does."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import insert, select

from app.core.extensions import db
from app.models import WorkflowInstance
from app.models._base import utcnow
from app.services import instance_listing
from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.support.factories import bpmn


def _instances(count: int, owner_id: int) -> list[str]:
    workflow = create_workflow("Paged", bpmn("user_task"), actor=CLI).workflow
    start = utcnow()
    ids = [f"00000000-0000-0000-0000-{n:012d}" for n in range(count)]
    db.session.execute(
        insert(WorkflowInstance),
        [
            {
                "id": i,
                "workflow_id": workflow.id,
                "status": "running",
                "variables": {},
                "current_activities": [],
                "created_by": owner_id,
                "created_at": start + timedelta(seconds=n % 3),
            }  # ties broken by id
            for n, i in enumerate(ids)
        ],
    )
    db.session.commit()
    return ids


def test_cursor_pages_walk_every_instance_once_newest_first(api, app) -> None:  # type: ignore[no-untyped-def]
    from app.models import User

    owner = db.session.query(User).filter_by(email="ann@example.com").one()  # the `api` client's user
    _instances(8, owner.id)
    seen, cursor = [], None
    while True:
        url = "/api/shar/instances?per_page=3" + (f"&after={cursor}" if cursor else "")
        data = api.get(url).get_json()["data"]
        seen += [item["id"] for item in data["items"]]
        cursor = data["next_cursor"]
        assert data["total"] == 8 and data["total_capped"] is False
        if cursor is None:
            break
    assert len(seen) == 8 and len(set(seen)) == 8
    assert seen == [i["id"] for i in api.get("/api/shar/instances?per_page=8").get_json()["data"]["items"]]
    assert api.get("/api/shar/instances?after=not-a-cursor").status_code == 422


def test_totals_stop_counting_at_the_cap(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _instances(7, None)  # type: ignore[arg-type]
    monkeypatch.setattr(instance_listing, "TOTAL_CAP", 5)
    listing = instance_listing.list_instances(actor=CLI, per_page=2)
    assert (listing.total, listing.total_capped) == (5, True)
    version = instance_listing.instance_list_version(actor=CLI)
    assert version == instance_listing.instance_list_version(actor=CLI)


def _encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


# What an outside tester sent as a cursor: not base64, base64 of no position, an impossible date, no date.
BAD_CURSORS = ("garbage", "!!!", _encoded("garbage|x"), _encoded("9999-99-99|x"), "|")


def test_a_cursor_under_another_name_or_where_nothing_is_paged_is_refused_naming_it(api, app) -> None:  # type: ignore[no-untyped-def]
    from app.models import User

    owner = db.session.query(User).filter_by(email="ann@example.com").one()
    _instances(3, owner.id)
    for bad in BAD_CURSORS:
        refused = api.get("/api/shar/instances", query_string={"after": bad})
        assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["after"], bad
        # The answer says next_cursor, so a client may send it as `cursor`: ignored, it read page 1 for ever.
        for name in ("cursor", "next_cursor"):
            misnamed = api.get("/api/shar/instances", query_string={name: bad})
            assert misnamed.status_code == 422, (name, bad)
            assert misnamed.get_json()["errors"] == {
                name: [f"{name} is not an argument of this list: pass a page's next_cursor as after"]
            }
    cursor = api.get("/api/shar/instances?per_page=2").get_json()["data"]["next_cursor"]
    # The CSV holds every match: a cursor there would be dropped, so it is refused, by either door.
    for name in ("after", "cursor"):
        as_csv = api.get("/api/shar/instances.csv", query_string={name: cursor})
        assert as_csv.status_code == 422 and list(as_csv.get_json()["errors"]) == [name]
        accepted = api.get("/api/shar/instances", query_string={name: cursor}, headers={"Accept": "text/csv"})
        assert accepted.status_code == 422 and list(accepted.get_json()["errors"]) == [name]
    # A well-formed cursor past the end is an empty page, not an error.
    past = api.get("/api/shar/instances", query_string={"after": _encoded("1970-01-01T00:00:00|0")})
    assert (
        past.status_code == 200
        and past.get_json()["data"]["items"] == []
        and past.get_json()["data"]["next_cursor"] is None
    )


def test_mine_lists_only_the_callers_own_instances_and_other_text_is_refused(app, api, shar) -> None:  # type: ignore[no-untyped-def]
    from app.models import User
    from app.services.launches import launch_instance

    admin = api.as_role("admin", "root@example.com")
    root = db.session.scalars(select(User).where(User.email == "root@example.com")).one()
    ann = db.session.scalars(select(User).where(User.email == "ann@example.com")).one()
    create_workflow("Mine", bpmn("user_task"), actor=root, async_=False)
    own = launch_instance("Mine", {}, actor=root, async_=False).instance.id
    launch_instance("Mine", {}, actor=ann, async_=False)

    def listed(query: str) -> list[str]:
        return [i["id"] for i in admin.get(f"/api/shar/instances?{query}").get_json()["data"]["items"]]

    assert len(listed("mine=0")) == 2 and len(listed("")) == 2
    assert listed("mine=1") == [own]
    refused = admin.get("/api/shar/instances?mine=yes")
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["mine"]
