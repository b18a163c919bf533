"""Finding instances by a variable's value (#12): the API's two forms, the CLI's --var and the list
page's Variable field, on SQLite and PostgreSQL (where equality reads the GIN index), each
showing only the instances the caller may see; bad conditions are 422s that name them."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import insert, select, text

from app.core.extensions import db
from app.models import User, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services import variable_filters
from tests.cli.conftest import cli_runner
from tests.support.databases import pg_available, postgres_database
from tests.support.web import Browser

# id -> (owner, variables); `ann` is the `api` fixture's user.
ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "a1": ("ann", {"orderId": "A1", "amount": 5}),
    "a2": ("ann", {"orderId": "A2", "amount": "5"}),
    "a3": ("ann", {"amount": 5.5, "flag": True, "nested": {"orderId": "A1"}}),
    "a4": ("ann", {"amount": "abc", "flag": "true", "orderId": ["A1"]}),
    "a5": ("ann", {"amount": 150, "order-id": "x y", "orderId": "a1"}),
    "a6": ("ann", {}),
    "a7": ("ann", {"amount": 5.0}),
    "b1": ("bob", {"orderId": "A1", "amount": 5}),
}


def _seed() -> dict[str, str]:
    """The rows of ROWS, newest first in key order; ann and bob (users of role user) made if missing."""
    users = {}
    for name in ("ann", "bob"):
        email = f"{name}@example.com"
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name, role="user")
            user.set_password(f"pw-{name}-123")
            db.session.add(user)
            db.session.flush()
        users[name] = user.id
    workflow = Workflow(
        name="Orders", version=1, bpmn_xml="<x/>", bpmn_sha256="h", summary={}, status="active", created_by=users["ann"]
    )
    db.session.add(workflow)
    db.session.flush()
    start = utcnow()
    ids = {key: f"00000000-0000-0000-0000-0000000000{n:02d}" for n, key in enumerate(ROWS)}
    db.session.execute(
        insert(WorkflowInstance),
        [
            {
                "id": ids[key],
                "workflow_id": workflow.id,
                "status": "running",
                "variables": variables,
                "current_activities": [],
                "created_by": users[owner],
                "created_at": start - timedelta(seconds=n),
            }
            for n, (key, (owner, variables)) in enumerate(ROWS.items())
        ],
    )
    db.session.commit()
    return ids


def _found(client: Any, ids: dict[str, str], query: str) -> list[str]:
    response = client.get(f"/api/shar/instances?per_page=100&{query}")
    assert response.status_code == 200, (query, response.get_json())
    by_id = {v: k for k, v in ids.items()}
    return [by_id[item["id"]] for item in response.get_json()["data"]["items"]]


def _refused(client: Any, query: str) -> str:
    response = client.get(f"/api/shar/instances?{query}")
    body = response.get_json()
    assert response.status_code == 422, (query, body)
    assert list(body["errors"]) == ["var"], body
    return body["errors"]["var"][0]


def test_api_finds_by_equality_and_number_comparisons(database: str, api: Any) -> None:
    ids = _seed()
    found = lambda query: _found(api, ids, query)  # noqa: E731
    # Equality: text, exact and case-sensitive; not inside an object or an array; only ann's own.
    assert found("var.orderId=A1") == ["a1"]
    assert found("var=orderId%3DA1") == found("var=" + quote(" orderId = A1 ")) == ["a1"]
    assert found("var.orderId=a1") == ["a5"]
    assert found("var.order-id=" + quote("x y")) == ["a5"]
    # A value written as a number matches that number and that text; as text it is text only.
    assert found("var.amount=5") == ["a1", "a2", "a7"]
    assert found("var.amount=5.0") == found("var.amount=5e0") == ["a1", "a7"]  # the number 5; "5" is not "5.0"
    assert found("var.amount=5.5") == ["a3"]
    assert found("var.amount=abc") == ["a4"]
    assert found("var.flag=true") == ["a3", "a4"]
    # Ordering compares numbers only: the text "5" and "abc" are not numbers.
    assert found("var.amount__gt=5") == ["a3", "a5"]
    assert found("var.amount__gte=5") == ["a1", "a3", "a5", "a7"]
    assert found("var.amount__lt=5.5") == found("var.amount__lte=5") == ["a1", "a7"]
    assert found("var.amount__lte=1e2&var.amount__gte=5") == ["a1", "a3", "a7"]
    assert found("var=" + quote("amount >= 100")) == ["a5"]
    assert found("var.amount__gt=-1e300") == ["a1", "a3", "a5", "a7"]
    # `!=`: the instances that have the variable, with another value.
    assert found("var.amount__ne=5") == ["a3", "a4", "a5"]
    assert found("var=" + quote("orderId != A1")) == ["a2", "a4", "a5"]
    # AND with each other and with the other filters; a name ending in a suffix is written __eq.
    assert found("var.orderId=A1&var.amount=5") == ["a1"]
    assert found("var.orderId=A1&status=completed") == []
    assert found("var.amount__gt__eq=5") == found("var.nothere=5") == []
    # Keyset paging and the capped total see the same rows.
    data = api.get("/api/shar/instances?per_page=1&var.amount__gte=5").get_json()["data"]
    assert data["total"] == 4 and data["next_cursor"]
    rest = api.get(f"/api/shar/instances?per_page=5&var.amount__gte=5&after={data['next_cursor']}").get_json()
    assert [i["id"] for i in rest["data"]["items"]] == [ids["a3"], ids["a5"], ids["a7"]]


def test_api_refuses_bad_conditions_naming_them(database: str, api: Any) -> None:
    _seed()
    assert "'amount > abc'" in _refused(api, "var.amount__gt=abc") and "not a number" in _refused(api, "var.a__gt=x")
    assert "'a.b = 1'" in _refused(api, "var.a.b=1") and "no paths" in _refused(api, "var=a.b%3D1")
    assert "'noop'" in _refused(api, "var=noop") and "OP one of" in _refused(api, "var=noop")
    assert "unknown operator '=='" in _refused(api, "var=a%3D%3D1")
    assert "a value is required" in _refused(api, "var.orderId=")
    assert "at most 200" in _refused(api, "var.orderId=" + "x" * 201)
    assert "at most 100" in _refused(api, f"var.{'n' * 101}=1")
    assert "at most 5 variable conditions; 6" in _refused(api, "&".join(f"var.v{n}=1" for n in range(6)))
    assert "control characters" in _refused(api, "var.orderId=a%09b")
    assert "outside" in _refused(api, "var.amount__gt=1e999")
    assert _found(api, {}, "var.amount=1e999") == []  # too large for a number: compared as text


def test_everyone_finds_only_the_instances_they_may_see(database: str, api: Any, app: Any) -> None:
    ids = _seed()
    admin = api.as_role("admin", "root@example.com")
    viewer = api.as_role("viewer", "watch@example.com")
    assert _found(api, ids, "var.orderId=A1") == ["a1"]
    assert _found(admin, ids, "var.orderId=A1") == _found(viewer, ids, "var.orderId=A1") == ["a1", "b1"]
    bob = Browser(app, "bob@example.com", "pw-bob-123")
    page = bob.get("/instances?var=" + quote("orderId = A1")).get_data(as_text=True)
    assert ids["b1"] in page and ids["a1"] not in page


def test_postgresql_equality_reads_the_gin_index(overrides: dict[str, Any], make_app: Any) -> None:
    if not pg_available():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
    with postgres_database() as url:
        make_app(database_url=url)
        _seed()
        workflow_id = db.session.scalar(select(Workflow.id))
        db.session.execute(
            insert(WorkflowInstance),
            [
                {
                    "workflow_id": workflow_id,
                    "status": "completed",
                    "variables": {"orderId": f"B{n}", "amount": n},
                    "current_activities": [],
                }
                for n in range(4000)
            ],
        )
        db.session.commit()
        db.session.execute(text("ANALYZE workflow_instances"))
        db.session.execute(text("SET enable_seqscan = off"))
        for condition in ("orderId = A1", "amount = 5", "orderId != A1"):
            cond = variable_filters.parse(condition)
            query = select(WorkflowInstance.id).where(
                variable_filters.where(WorkflowInstance.variables, cond, "postgresql")
            )
            sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(db.session.execute(text(f"EXPLAIN {sql}")).scalars())
            if condition == "orderId != A1":  # a negation cannot read a containment index
                assert "ix_instances_variables" not in plan, plan
            else:
                assert "Bitmap Index Scan on ix_instances_variables" in plan, (condition, plan)
        found = db.session.scalars(
            select(WorkflowInstance.id).where(
                variable_filters.where(
                    WorkflowInstance.variables, variable_filters.parse("amount >= 3998"), "postgresql"
                )
            )
        ).all()
        assert len(found) == 2
        db.session.remove()
        db.engine.dispose()


def test_cli_var_filters_and_refuses_bad_conditions(api: Any, app: Any) -> None:
    ids = _seed()
    by_id = {v: k for k, v in ids.items()}
    run = cli_runner(app)

    def listed(*args: str) -> list[str]:
        result = run("instance", "list", *args, "--format=json")
        assert result.exit_code == 0, result.output
        return [by_id[row["id"]] for row in json.loads(result.stdout)]

    assert listed("--var", "orderId=A1") == ["a1", "b1"]  # the CLI sees everything
    assert listed("--var", "amount>=5", "--var", "amount < 100") == ["a1", "a3", "a7", "b1"]
    assert listed("--var", "amount=5", "--workflow", "Orders") == ["a1", "a2", "a7", "b1"]
    bad = run("instance", "list", "--var", "amount>abc")
    assert bad.exit_code == 1 and "variable condition 'amount>abc'" in bad.stderr and "not a number" in bad.stderr


def test_list_page_filters_by_variable_and_polls_with_the_filter(api: Any, app: Any) -> None:
    ids = _seed()
    ann = Browser(app, "ann@example.com", "pw-ann-123")
    response = ann.get("/instances?var=" + quote("amount >= 5"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert [ids[k] in page for k in ("a1", "a3", "a5", "a2", "b1")] == [True, True, True, False, False]
    assert 'name="var" value="amount &gt;= 5"' in page  # the field keeps the condition
    poll = re.search(r'id="instance-rows"\s+hx-get="([^"]+)"', page)
    assert poll, "a list of running instances polls"
    rows_url = poll.group(1).replace("&amp;", "&")
    assert rows_url.startswith("/instances/_rows?") and "var=amount" in rows_url
    rows = ann.get(rows_url).get_data(as_text=True)
    assert ids["a5"] in rows and ids["a2"] not in rows
    # Several conditions in the URL: each its own field, joined by AND.
    both = ann.get("/instances?var=orderId%3DA1&var=amount%3D5&status=running").get_data(as_text=True)
    assert ids["a1"] in both and ids["a2"] not in both and both.count('type="search" name="var"') == 2
    # A bad condition is said on the page, which lists nothing and does not poll.
    bad = ann.get("/instances?var=" + quote("amount > lots"))
    text_ = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "variable condition &#39;amount &gt; lots&#39;" in text_
    assert '<tbody id="instance-rows">' in text_ and ids["a1"] not in text_


def test_variables_holding_nul_are_refused(api: Any) -> None:
    """JSONB cannot store U+0000: refused on both databases alike, before anything is stored."""
    response = api.post("/api/shar/workflows/Nope/launch", json={"variables": {"note": "a\u0000b"}})
    assert response.status_code == 422 and "U+0000" in response.get_json()["message"]
