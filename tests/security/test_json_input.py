"""Bad JSON is a 422 naming the problem, never a 500: API bodies, the launch form, correct-and-retry.
Idempotency-Key compares the parsed body."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.core.errors import InvalidInput
from app.core.extensions import db
from app.core.json_input import check_value, loads
from app.models import JobRecord, WorkflowInstance
from app.services.actors import CLI
from app.services.launches import launch_instance
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, refresh

DEEP = "[" * 100_000
BAD_VARIABLES = [  # (variables text, words the message must contain)
    (DEEP, "nested too deeply"),
    ('{"x": NaN}', "NaN"),
    ('{"x": Infinity}', "Infinity"),
    ('{"x": -Infinity}', "-Infinity"),
    ('{"x": 1e999}', "too large"),
    ('{"x": "\\ud800"}', "lone surrogate"),
    ('{"\\udfff": 1}', "lone surrogate"),
    ('{"x": ' + "7" * 5001 + "}", "a whole number of 5001 digits is longer than the 4300 accepted"),
    ('{"a": 1, "b": {"c": 1, "c": 2}}', "is given twice in one object"),
]


def _instances() -> int:
    return db.session.scalar(select(func.count()).select_from(WorkflowInstance))


@pytest.fixture
def flow(app, shar):  # type: ignore[no-untyped-def]
    return create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False).workflow


@pytest.mark.parametrize(("text", "words"), BAD_VARIABLES)
def test_api_launch_refuses_bad_json_with_422(api, flow, text, words) -> None:
    body = DEEP if text == DEEP else '{"variables": ' + text + "}"
    response = api.post("/api/shar/workflows/Flow/launch", data=body.encode(), content_type="application/json")
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert words in response.get_json()["message"]
    assert _instances() == 0


def test_every_api_body_is_depth_checked(api, flow) -> None:
    instance = launch_instance("Flow", {}, actor=CLI, async_=False).instance
    for method, path in (
        ("post", "/api/shar/workflows"),
        ("post", f"/api/shar/instances/{instance.id}/complete"),
        ("post", f"/api/shar/instances/{instance.id}/sync"),
        ("patch", f"/api/shar/instances/{instance.id}/variables"),
        ("post", "/api/shar/workflows/Flow/launch"),
    ):
        response = getattr(api, method)(path, data=DEEP.encode(), content_type="application/json")
        assert response.status_code == 422 and "nested too deeply" in response.get_json()["message"], path


def test_api_body_over_the_json_size_limit_is_422(make_app, shar) -> None:
    from tests.api.conftest import bearer_for

    app = make_app(json_max_bytes=1024)
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    body = json.dumps({"variables": {"text": "x" * 4000}})
    response = app.test_client().post(
        "/api/shar/workflows/Flow/launch",
        data=body,
        content_type="application/json",
        headers=bearer_for("user", "ann@example.com"),
    )
    assert response.status_code == 422
    assert "too large" in response.get_json()["message"] and "1024" in response.get_json()["message"]
    # A workflow upload may carry a BPMN larger than the JSON limit: its own limit is the BPMN's.
    assert len(bpmn("user_task")) > 1024
    upload = app.test_client().post(
        "/api/shar/workflows",
        json={"name": "Big", "bpmn_xml": bpmn("user_task"), "async": False},
        headers=bearer_for("user", "bob@example.com"),
    )
    assert upload.status_code in (201, 202), upload.get_data(as_text=True)


def test_depth_within_the_limit_is_accepted(api, flow) -> None:
    nested: object = 1
    for _ in range(30):
        nested = [nested]
    response = api.post("/api/shar/workflows/Flow/launch", json={"variables": {"deep": nested}, "async": True})
    assert response.status_code == 202, response.get_data(as_text=True)


def test_the_same_json_reserialised_replays_the_stored_answer(api, flow) -> None:
    headers = {"Idempotency-Key": "same-json"}
    first = api.post(
        "/api/shar/workflows/Flow/launch",
        data=b'{"variables": {"n": 42, "m": [1, 2]}, "async": true}',
        content_type="application/json",
        headers=headers,
    )
    again = api.post(
        "/api/shar/workflows/Flow/launch",
        data=b'{\n  "async":true,\n  "variables":{"m":[1,2],"n":42}\n}',
        content_type="application/json",
        headers=headers,
    )
    assert first.status_code == again.status_code == 202
    assert again.headers.get("Idempotent-Replayed") == "true" and first.get_json() == again.get_json()
    assert _instances() == 1
    changed = api.post(
        "/api/shar/workflows/Flow/launch",
        data=b'{"variables": {"n": 43, "m": [1, 2]}, "async": true}',
        content_type="application/json",
        headers=headers,
    )
    assert changed.status_code == 422 and "Idempotency-Key" in changed.get_json()["errors"]


def test_depth_counts_arrays_and_objects_not_brackets_in_strings() -> None:
    assert loads('{"a": "[[[[[[", "b": [[1]]}', max_depth=3) == {"a": "[[[[[[", "b": [[1]]}
    with pytest.raises(InvalidInput, match="nested too deeply"):
        loads('{"a": "[[[[[[", "b": [[1]]}', max_depth=2)
    assert loads('["\\"[[[", {"x": []}]', max_depth=3)


def test_values_parsed_elsewhere_obey_the_same_rules() -> None:
    check_value({"a": [1, 2.5, "ok", None, True]})
    for bad, reason in (
        ({"x": float("nan")}, "not a JSON number"),
        ({"x": float("inf")}, "not a JSON number"),
        ({"x": "\ud800"}, "lone surrogate"),
        ({"\udfff": 1}, "lone surrogate"),
        ({"x": {1, 2}}, "not a JSON value"),
    ):
        with pytest.raises(InvalidInput, match=reason):
            check_value(bad)
    deep: dict = {}
    for _ in range(100_000):  # built iteratively; checking it must not recurse
        deep = {"d": deep}
    with pytest.raises(InvalidInput, match="nested too deeply"):
        check_value(deep, max_depth=32)


@pytest.mark.parametrize(("text", "words"), BAD_VARIABLES)
def test_launch_form_refuses_bad_variables_with_422(client, sign_in, post, flow, text, words) -> None:
    sign_in("user")
    response = post("/workflows/Flow/launch", {"variables_json": text}, page="/workflows/Flow")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert words.replace("-", "") in page.replace("-", "") or words in page
    assert _instances() == 0


def test_launch_form_keeps_plain_text_rows_as_strings(client, sign_in, post, flow) -> None:
    sign_in("user")
    response = post(
        "/workflows/Flow/launch", {"keys": ["a", "b", "c"], "values": ["NaN", "12", "[[[" * 20]}, page="/workflows/Flow"
    )
    assert response.status_code == 302
    instance = db.session.scalars(select(WorkflowInstance)).one()
    assert instance.variables == {"a": "NaN", "b": 12, "c": "[[[" * 20}


@pytest.mark.parametrize(("text", "words"), BAD_VARIABLES)
def test_correct_and_retry_refuses_bad_variables_with_422(client, sign_in, post, shar, text, words) -> None:
    admin = sign_in("admin")
    create_workflow("Flow", bpmn("user_task"), actor=CLI, async_=False)
    shar.set_faults(error_rate=1.0)
    instance = launch_instance("Flow", {"amount": "12x"}, actor=admin, async_=False).instance
    shar.set_faults(error_rate=0.0)
    job = db.session.scalars(select(JobRecord).where(JobRecord.job_type == "launch_instance")).one()
    response = post(f"/admin/jobs/{job.id}/correct-and-retry", {"variables": text}, page=f"/admin/jobs/{job.id}")
    assert response.status_code == 422
    assert words in response.get_data(as_text=True)
    assert refresh(instance).variables == {"amount": "12x"} and refresh(job).state == "failed"


@pytest.mark.parametrize(("text", "words"), BAD_VARIABLES)
def test_cli_launch_refuses_bad_variables(app, flow, text, words) -> None:
    from tests.cli.conftest import cli_runner

    result = cli_runner(app)("workflow", "launch", "Flow", "--variables", text)
    assert result.exit_code == 1 and words in result.output
    assert _instances() == 0


def test_a_form_row_that_is_json_breaking_a_rule_is_refused_not_kept_as_text() -> None:
    from app.core.json_input import form_variables

    assert form_variables([("note", "hello [world")], None) == {"note": "hello [world"}  # plain text
    assert form_variables([("n", "12")], None) == {"n": 12}
    assert form_variables([("v", "NaN")], None) == {"v": "NaN"}  # not JSON: text
    for raw, reason in (
        ("[" * 40 + "]" * 40, "nested too deeply"),
        ('["\\ud800"]', "lone surrogate"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ):
        with pytest.raises(InvalidInput, match=reason):
            form_variables([("v", raw)], None)


def test_form_rows_pair_up_and_each_name_is_given_once() -> None:
    from app.core.json_input import form_rows, form_variables

    assert form_rows(["a", "b"], ["1", "x"]) == [("a", "1"), ("b", "x")]
    for keys, values, counts in (
        (["a", "b"], ["1"], "2 names and 1 value"),
        (["a"], ["1", "2"], "1 name and 2 values"),
        ([], ["1"], "0 names and 1 value"),
    ):
        with pytest.raises(InvalidInput, match=f"do not pair up: {counts} were sent"):
            form_rows(keys, values)
    with pytest.raises(InvalidInput, match="the variable 'a' is given in two rows"):
        form_variables([("a", "1"), ("b", "2"), ("a ", "3")], None)
    with pytest.raises(InvalidInput, match="variable row 2 has a value but no name"):
        form_variables([("a", "1"), (" ", "2")], None)
    assert form_variables([("", ""), ("a", "1"), ("  ", " ")], None) == {"a": 1}  # empty rows: nothing sent
    assert form_variables([("a", "1")], '{"a": 2}') == {"a": 2}  # the raw JSON wins over the rows, as the page says
