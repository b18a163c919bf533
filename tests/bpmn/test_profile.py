"""The SHAR profile (warnings in the summary) and what a modeller drew that does not run (not_executed)."""

from __future__ import annotations

import httpx
import pytest

from app.bpmn import validate_bpmn
from app.bpmn.expressions import (
    UnsafeExpression,
    compile_condition,
    language_of,
    translate,
)
from app.sharlite.server import EngineServer

ZEEBE = "http://camunda.org/schema/zeebe/1.0"


def document(
    process_id: str = "order-flow",
    message: str = "order.paid",
    task_type: str | None = "charge",
    condition: str = "=amount > 100",
    outputs: str = '<zeebe:output source="=a" target="amount"/>',
    extra: str = "",
) -> str:
    definition = (
        f'<bpmn:extensionElements><zeebe:taskDefinition type="{task_type}"/>'
        f"<zeebe:ioMapping>{outputs}</zeebe:ioMapping></bpmn:extensionElements>"
        if task_type is not None
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="{ZEEBE}" id="D">
  <bpmn:message id="Msg" name="{message}"><bpmn:extensionElements>
    <zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="charge" name="Charge">{definition}</bpmn:serviceTask>
    <bpmn:exclusiveGateway id="big" default="small"/>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="end2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge"/>
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="big"/>
    <bpmn:sequenceFlow id="large" sourceRef="big" targetRef="end">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="big" targetRef="end2"/>
    {extra}
  </bpmn:process>
</bpmn:definitions>"""


def _rules(text: str) -> list[tuple[str, str]]:
    return [(w["rule"], w["element_id"]) for w in validate_bpmn(text).to_dict()["shar_warnings"]]


def test_a_zeebe_model_has_no_shar_warnings() -> None:
    assert _rules(document()) == []


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"process_id": "order flow"}, ("shar:process-id", "order flow")),
        ({"process_id": ".hidden"}, ("shar:process-id", ".hidden")),
        ({"message": "order paid"}, ("shar:message-name", "Msg")),
        ({"message": "order."}, ("shar:message-name", "Msg")),
        ({"task_type": None, "condition": "=true"}, ("shar:service-task-type", "charge")),
        ({"outputs": ""}, ("shar:undefined-variable", "large")),
        ({"condition": "${amount > 100}"}, ("shar:expression-prefix", "large")),
    ],
)
def test_each_shar_rule_is_named_and_points_at_its_element(kwargs: dict, expected: tuple[str, str]) -> None:
    summary = validate_bpmn(document(**kwargs)).to_dict()  # accepted: sharlite can run it
    assert expected in [(w["rule"], w["element_id"]) for w in summary["shar_warnings"]]
    warning = next(w for w in summary["shar_warnings"] if w["rule"] == expected[0])
    assert warning["line"] and f"[{expected[0]}]" in warning["message"] and "SHAR would" in warning["message"]


DRAWN = """
    <bpmn:dataStoreReference id="store" name="Customers"/>
    <bpmn:textAnnotation id="note"><bpmn:text>remember</bpmn:text></bpmn:textAnnotation>
    <bpmn:association id="link" sourceRef="note" targetRef="charge"/>
    <bpmn:group id="grp"/>
"""


def test_data_stores_annotations_groups_and_empty_sub_processes_do_not_stop_a_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (
        document(extra=DRAWN)
        .replace(
            '<bpmn:serviceTask id="charge" name="Charge">',
            '<bpmn:serviceTask id="charge" name="Charge"><bpmn:dataOutputAssociation id="toStore">'
            "<bpmn:targetRef>store</bpmn:targetRef></bpmn:dataOutputAssociation>",
        )
        .replace('<bpmn:endEvent id="end2"/>', '<bpmn:subProcess id="later" name="Later"/><bpmn:endEvent id="end2"/>')
        .replace(
            '<bpmn:sequenceFlow id="small" sourceRef="big" targetRef="end2"/>',
            '<bpmn:sequenceFlow id="small" sourceRef="big" targetRef="later"/>'
            '<bpmn:sequenceFlow id="f9" sourceRef="later" targetRef="end2"/>',
        )
    )
    ignored = {(n["tag"], n["element_id"]) for n in validate_bpmn(text).to_dict()["not_executed"]}
    assert ignored == {
        ("dataStoreReference", "store"),
        ("textAnnotation", "note"),
        ("association", "link"),
        ("group", "grp"),
        ("dataOutputAssociation", "toStore"),
        ("subProcess", "later"),
    }
    server = EngineServer(str(tmp_path / "drawn.db")).start()
    try:
        assert httpx.post(f"{server.url}/api/v1/workflows", json={"name": "Drawn", "bpmn_xml": text}).status_code == 201
        instance = httpx.post(
            f"{server.url}/api/v1/workflows/Drawn/instances", json={"variables": {"a": 5}}
        ).json()  # charge maps a to amount
        assert instance["status"] == "completed" and "later" in instance["completed_activities"]
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("text", "declared", "language", "python"),
    [
        ("${!approved}", None, "juel", "not approved"),
        ("${a && b || !c}", None, "juel", "a and b or not c"),
        ("${x eq 5 and not empty y}", None, "juel", "x == 5 and (not _empty(y))"),
        ('= status = "ok"', None, "feel", "status == 'ok'"),
        ("= a >= 5 and b != 2", None, "feel", "a >= 5 and b != 2"),
        ("a > 5", "https://www.omg.org/spec/DMN/20191111/FEEL/", "feel", "a > 5"),
    ],
)
def test_juel_and_feel_simple_forms_map_onto_the_evaluator(
    text: str, declared: str | None, language: str, python: str
) -> None:
    assert language_of(text, declared) == language
    import ast

    assert ast.unparse(compile_condition(text, language)) == python
    assert translate(text, language)  # the engine receives this text, never the original


@pytest.mark.parametrize(
    ("text", "language", "named"),
    [
        ("= some x in xs satisfies x > 1", "feel", "FEEL is not supported"),
        ("= if a then b else c", "feel", "FEEL is not supported"),
        ("= date(x) > today()", "feel", "FEEL is not supported"),
        ("count(//item) > 1", "xpath", "XPath is not supported"),
        ("a > 1", "javascript", "javascript is not supported"),
    ],
)
def test_what_does_not_map_is_named(text: str, language: str, named: str) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        compile_condition(text, language)
    assert named.lower() in str(caught.value).lower()


def test_an_association_between_flow_elements_is_kept_only_annotation_links_are_dropped() -> None:
    extra = (
        '<bpmn:association id="compensation" sourceRef="charge" targetRef="end"/>'
        '<bpmn:textAnnotation id="note"/><bpmn:association id="noteLink" sourceRef="note" targetRef="charge"/>'
    )
    ignored = {n["element_id"] for n in validate_bpmn(document(extra=extra)).to_dict()["not_executed"]}
    assert ignored == {"note", "noteLink"}


def test_an_empty_multi_instance_sub_process_keeps_its_marker_and_its_checks() -> None:
    from app.bpmn import BpmnValidationError

    sub = (
        '<bpmn:subProcess id="many" name="Many"><bpmn:multiInstanceLoopCharacteristics/></bpmn:subProcess>'
        '<bpmn:sequenceFlow id="f8" sourceRef="start" targetRef="many"/>'
    )
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(document(extra=sub))
    assert caught.value.problems[0]["tag"] == "subProcess" and caught.value.problems[0]["rule"] == "multi-instance"


@pytest.mark.parametrize(("a", "branch"), [(500, "end"), (5, "end2")])
def test_zeebe_output_mappings_set_variables_when_a_task_completes(tmp_path, a: int, branch: str) -> None:  # type: ignore[no-untyped-def]
    text = document(
        outputs='<zeebe:output source="=a * 2" target="amount"/><zeebe:output source="charged" target="state"/>'
    )
    assert validate_bpmn(text).to_dict()["shar_warnings"] == []
    server = EngineServer(str(tmp_path / "mapping.db")).start()
    try:
        created = httpx.post(f"{server.url}/api/v1/workflows", json={"name": "Mapped", "bpmn_xml": text})
        assert created.status_code == 201
        instance = httpx.post(f"{server.url}/api/v1/workflows/Mapped/instances", json={"variables": {"a": a}}).json()
        assert instance["status"] == "completed", instance
        assert branch in instance["completed_activities"]
        assert instance["variables"]["amount"] == a * 2 and instance["variables"]["state"] == "charged"
        failed = httpx.post(f"{server.url}/api/v1/workflows/Mapped/instances", json={"variables": {}}).json()
        assert failed["status"] == "failed"
        assert failed["error"].startswith("at charge: the output mapping to amount failed: unknown variable 'a'")
    finally:
        server.stop()


def test_an_output_mapping_that_does_not_map_is_refused_with_its_element() -> None:
    from app.bpmn import BpmnValidationError

    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(document(outputs='<zeebe:output source="=count(items)" target="n"/>'))
    problem = caught.value.problems[0]
    assert (problem["rule"], problem["element_id"]) == ("output-mapping", "charge")
    assert "FEEL is not supported" in problem["message"] or "function call" in problem["message"]
    with pytest.raises(BpmnValidationError, match="not a plain variable name"):
        validate_bpmn(document(outputs='<zeebe:output source="=a" target="order.total"/>'))
