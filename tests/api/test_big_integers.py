"""Integer variables of any size a launch takes (up to Python's 4,300 digits) are exported exactly as
their JSON text and compared exactly by the variable filter, on SQLite and PostgreSQL. Before: on
SQLite the CSV read a variable through json_extract, which turns an integer past 64 bits into a
double (a 500 past 1e308: `Inf` is not JSON; `1e+19` for 9999999999999999999), and the filter
compared those doubles, so `d19 = 10000000000000000000` found 9999999999999999999."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import insert

from app.core.extensions import db
from app.models import Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services.actors import CLI
from app.services.workflows import create_workflow
from tests.support.factories import bpmn
from tests.support.web import Browser

NINES = {n: int("9" * n) for n in (19, 200, 309, 310, 400, 4300)}
LAUNCHED: dict[str, Any] = {
    "d19": NINES[19],
    "d20": 10**19,
    "d309": NINES[309],
    "d310": NINES[310],
    "n400": -NINES[400],
    "d4300": NINES[4300],
    "top": 2**63,
    "bottom": -(2**63) - 1,
    "edge": 2**63 - 1,
    "small": -5,
}


def _cells(client: Any, path: str, names: list[str]) -> dict[str, str]:
    response = client.get(f"{path}?columns={','.join(names)}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    header, *rows = csv.reader(io.StringIO(response.get_data(as_text=True)))
    assert len(rows) == 1
    return {name.removeprefix("var:"): cell for name, cell in zip(header, rows[0], strict=True) if ":" in name}


def test_a_launched_integer_of_any_size_is_exported_as_its_json_text(database: str, api: Any, app: Any) -> None:
    create_workflow("Big", bpmn("user_task"), actor=CLI, async_=False)
    launched = api.post("/api/shar/workflows/Big/launch", json={"async": False, "variables": LAUNCHED})
    assert launched.status_code == 201, launched.get_json()
    names = list(LAUNCHED)
    expected = {name: str(value) for name, value in LAUNCHED.items()}
    browser = Browser(app, "ann@example.com", "pw-ann-123")
    for start in range(0, len(names), 5):  # at most 5 columns a request
        chosen = names[start : start + 5]
        shown = {name: expected[name] for name in chosen}
        assert _cells(api, "/api/shar/instances.csv", chosen) == shown
        assert _cells(browser, "/instances/export.csv", chosen) == shown


# A variable `d` of each row; the filter must tell every pair apart that differs by one.
ROWS: dict[str, Any] = {
    "nines19": NINES[19],
    "ten19": 10**19,
    "top": 2**63,
    "edge": 2**63 - 1,
    "bottom": -(2**63) - 1,
    "low": -(2**63),
    "nines200": NINES[200],
    "ten200": 10**200,
    "nines310": NINES[310],
    "neg310": -NINES[310],
    "float19": 1e19,  # a double, exactly 10**19
    "five": 5,
    "text": str(NINES[19]),
}


def _seed() -> dict[str, str]:
    workflow = Workflow(name="Big", version=1, bpmn_xml="<x/>", bpmn_sha256="h", summary={}, status="active")
    db.session.add(workflow)
    db.session.flush()
    ids = {key: f"00000000-0000-0000-0000-0000000001{n:02d}" for n, key in enumerate(ROWS)}
    start = utcnow()
    db.session.execute(
        insert(WorkflowInstance),
        [
            {
                "id": ids[key],
                "workflow_id": workflow.id,
                "status": "running",
                "variables": {"d": value},
                "current_activities": [],
                "created_at": start - timedelta(seconds=n),
            }
            for n, (key, value) in enumerate(ROWS.items())
        ],
    )
    db.session.commit()
    return ids


def test_the_variable_filter_compares_integers_of_any_size_exactly(database: str, api: Any) -> None:
    ids = _seed()
    admin = api.as_role("admin")
    by_id = {v: k for k, v in ids.items()}

    def found(condition: str) -> set[str]:
        response = admin.get("/api/shar/instances?per_page=100&var=" + quote(condition))
        assert response.status_code == 200, (condition, response.get_json())
        return {by_id[item["id"]] for item in response.get_json()["data"]["items"]}

    nines19, nines200 = "9" * 19, "9" * 200
    assert found(f"d = {nines19}") == {"nines19", "text"}
    assert found("d = 10000000000000000000") == found("d = 1e19") == {"ten19", "float19"}
    assert found(f"d = {2**63}") == {"top"} and found(f"d = {2**63 - 1}") == {"edge"}
    assert found(f"d = {-(2**63) - 1}") == {"bottom"} and found(f"d = {-(2**63)}") == {"low"}
    assert found(f"d = {nines200}") == {"nines200"} and found("d = 1e200") == {"ten200"}
    assert found(f"d = {nines19}.5") == found(f"d = {nines200[:-2]}.5") == set()
    assert found(f"d != {nines19}") == set(ROWS) - {"nines19", "text"}
    # Ordering: every neighbour on its own side, also against a bound with a fraction.
    big = {"nines19", "ten19", "top", "nines200", "ten200", "nines310", "float19"}
    assert found(f"d > {nines19}") == big - {"nines19", "top"}
    assert found(f"d >= {nines19}") == big - {"top"}
    assert found("d < 10000000000000000000") == {"nines19", "top", "edge", "bottom", "low", "neg310", "five"}
    assert found(f"d <= {nines19}.5") == found("d < 1e19")
    assert found(f"d > {nines19}.5") == found("d >= 1e19") == big - {"nines19", "top"}
    assert found(f"d > {2**63 - 1}") == found(f"d >= {2**63 - 1}.000001") == big
    assert found(f"d < {-(2**63)}") == {"bottom", "neg310"} and found(f"d <= {-(2**63)}") == {"bottom", "low", "neg310"}
    assert found(f"d < {-(2**63)}.5") == {"bottom", "neg310"}
    assert found(f"d > {nines200}") == {"ten200", "nines310"} and found(f"d < -{nines200[1:]}") == {"neg310"}
    assert found("d > 1e300") == {"nines310"} and found("d < -1e300") == {"neg310"}
    assert found("d > 4.5") == big | {"edge", "five"} and found("d < 5") == {"bottom", "low", "neg310"}
