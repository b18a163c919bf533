"""A bad value in the instance list's URL is refused naming it, never dropped: its filters, and a
cursor, which nothing on the pages is paged by. Before: `/instances?status=bogus` and `?mine=yes`
listed everything unfiltered (200), the CSV and the polled rows too, and a cursor was ignored."""

from __future__ import annotations

import re

from flask import Flask

from app.core.extensions import db
from app.models import Workflow, WorkflowInstance
from tests.support.factories import make_user
from tests.support.web import Browser

PASSWORD = "correct-horse-1"


def _world() -> dict[str, WorkflowInstance]:
    ada = make_user("ada@example.com", "admin", PASSWORD)
    bob = make_user("bob@example.com", "user", PASSWORD)
    orders = Workflow(name="Orders", version=1, bpmn_xml="<x/>", bpmn_sha256="h", summary={}, status="active")
    db.session.add(orders)
    db.session.flush()
    rows = {
        "ada": WorkflowInstance(workflow_id=orders.id, status="running", created_by=ada.id, variables={}),
        "bob": WorkflowInstance(workflow_id=orders.id, status="completed", created_by=bob.id, variables={}),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    return rows


def _listed(html: str) -> set[str]:
    return set(re.findall(r'data-instance="([^"]+)"', html))


BAD_FILTERS = {
    "status=bogus": "status must be one of launching, running",
    "mine=yes": "mine must be 1",
    "mine=true": "mine must be 1",
    "workflow=a%00b": "contains the character U+0000",  # app.core.request_text, before any filter is read
    f"workflow={'x' * 201}": "workflow must start with a letter or digit",
    "workflow=Orders&version=abc": "version must be a version number",
    "sort=bogus": "sort must be one of newest, oldest",
    "var=garbage": "a condition is NAME OP VALUE",
    "after=x": "after is not taken here",
    "cursor=x": "cursor is not taken here",
}


def test_a_bad_filter_on_the_instance_list_is_refused_naming_it_never_dropped(offline_app: Flask) -> None:
    rows = _world()
    ada = Browser(offline_app, "ada@example.com", PASSWORD)
    for query, message in BAD_FILTERS.items():
        for url in (f"/instances?{query}", f"/instances/_rows?{query}", f"/instances/export.csv?{query}"):
            shown = ada.get(url)
            text = shown.get_data(as_text=True).replace("&#39;", "'")
            assert shown.status_code == 422 and message in text, (url, shown.status_code, text[:200])
            assert _listed(text) == set(), url  # nothing listed beside the refusal
    # The bulk action's preview refuses the same values, said on the list.
    refused = ada.get("/instances/bulk/preview?action=sync&mine=yes")
    assert refused.status_code == 422 and "mine must be 1" in refused.get_data(as_text=True)
    # The good values still filter: mine=1 the caller's own, mine=0 and a known status as before.
    assert _listed(ada.get("/instances?mine=1").get_data(as_text=True)) == {rows["ada"].id}
    assert _listed(ada.get("/instances?mine=0").get_data(as_text=True)) == {rows["ada"].id, rows["bob"].id}
    assert _listed(ada.get("/instances?status=completed").get_data(as_text=True)) == {rows["bob"].id}
    assert _listed(ada.get("/instances?workflow=Orders").get_data(as_text=True)) == {rows["ada"].id, rows["bob"].id}
