"""Two shapes that passed upload and then failed every launch: an id shared by two elements, and a
loop with no gateway to decide when to leave it. Both are refused at upload naming what is wrong;
loops that a gateway decides are accepted and run in the in-process engine (app.sharlite)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from app.bpmn import BpmnValidationError, validate_bpmn
from app.bpmn.specs import build_specs
from app.sharlite.engine import Engine
from app.sharlite.store import Store

XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def document(body: str, *, extra: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {XSI} id="D">{extra}\n'
        f'<bpmn:process id="P" isExecutable="true">{body}\n</bpmn:process>\n</bpmn:definitions>\n'
    )


def flows(*pairs: tuple[str, str], conditions: dict[tuple[str, str], str] | None = None) -> str:
    """Sequence flows f0, f1, ... from source to target; `conditions` puts a condition on some."""
    out = []
    for n, (source, target) in enumerate(pairs):
        condition = (conditions or {}).get((source, target))
        body = (
            f'><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
            "</bpmn:sequenceFlow>"
            if condition
            else "/>"
        )
        out.append(f'\n<bpmn:sequenceFlow id="f{n}" sourceRef="{source}" targetRef="{target}"{body}')
    return "".join(out)


START, END = '\n<bpmn:startEvent id="s"/>', '\n<bpmn:endEvent id="e"/>'
TIMER = (
    '\n<bpmn:intermediateCatchEvent id="c"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>'
    "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
)
MESSAGE = '<bpmn:message id="m" name="go"/>'
CATCH = (
    '\n<bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>'
)


def user(*ids: str) -> str:
    return "".join(f'\n<bpmn:userTask id="{i}" name="Check {i}"/>' for i in ids)


@pytest.fixture
def engine() -> Iterator[Engine]:
    running = Engine(Store(":memory:"))
    yield running
    running.close()


def refusal(text: str) -> BpmnValidationError:
    with pytest.raises(BpmnValidationError) as refused:
        validate_bpmn(text)
    return refused.value


# -- ids --------------------------------------------------------------------------------


def test_two_elements_of_one_id_are_refused_naming_the_id_and_both_elements(engine: Engine) -> None:
    # The tester's file: before, accepted (201, active) and every launch failed "its flow loops back ...".
    text = document(START + '\n<bpmn:userTask id="t"/>\n<bpmn:endEvent id="t"/>' + flows(("s", "t"), ("t", "t")))
    refused = refusal(text)
    assert refused.code == "duplicate_id"
    assert [(p["rule"], p["element_id"], p["tag"]) for p in refused.problems] == [("duplicate-id", "t", "endEvent")]
    assert refused.message == (
        'this BPMN cannot run: <endEvent> "t" at line 6: its id "t" is also the id of <userTask> at line 5; every '
        "element needs an id of its own, so rename one of them (and the flows or shapes that refer to it) "
        "[duplicate-id]"
    )
    with pytest.raises(ValueError, match='its id "t" is also the id of <userTask>'):
        engine.create_workflow("Shared", text)  # the engine deploys through the same verdict


@pytest.mark.parametrize(
    ("extra", "body", "where"),
    [
        ('<bpmn:message id="f0" name="go"/>', START + END + flows(("s", "e")), "<message> at line 2"),
        ("", START + END + flows(("s", "e")) + '\n<bpmn:laneSet id="s"/>', "<startEvent> at line 4"),
        ("", START + '\n<bpmn:endEvent id="P"/>' + flows(("s", "P")), "<process> at line 3"),
    ],
    ids=["a message and a flow", "a lane set and a start event", "a process and an end event"],
)
def test_an_id_shared_by_any_two_elements_of_the_model_is_refused(extra: str, body: str, where: str) -> None:
    refused = refusal(document(body, extra=extra))
    assert refused.code == "duplicate_id" and f"is also the id of {where}" in refused.message


def test_a_diagram_shape_sharing_an_id_is_refused_and_extension_ids_are_not_compared() -> None:
    di = (
        '<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" id="d">'
        '<bpmndi:BPMNPlane id="plane" bpmnElement="P"><bpmndi:BPMNShape id="{shape}" bpmnElement="s"/>'
        "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"
    )
    # Camunda form fields name variables: the same field id in two forms is no duplicate.
    form = (
        '<bpmn:extensionElements><camunda:formData xmlns:camunda="http://camunda.org/schema/1.0/bpmn">'
        '<camunda:formField id="amount"/></camunda:formData></bpmn:extensionElements>'
    )
    tasks = f'\n<bpmn:userTask id="a">{form}</bpmn:userTask>\n<bpmn:userTask id="b">{form}</bpmn:userTask>'
    body = START + tasks + END + flows(("s", "a"), ("a", "b"), ("b", "e"))
    validate_bpmn(document(body).replace("</bpmn:definitions>", di.format(shape="s_di") + "</bpmn:definitions>"))
    refused = refusal(document(body).replace("</bpmn:definitions>", di.format(shape="a") + "</bpmn:definitions>"))
    assert [(p["element_id"], p["tag"]) for p in refused.problems] == [("a", "BPMNShape")]


# -- loops ------------------------------------------------------------------------------

XOR_EXIT = {("g", "a"): "again == true"}

REFUSED_LOOPS = {
    "a user task flowing back to itself": (
        START + user("t") + flows(("s", "t"), ("t", "t")),
        "",
        ("t", "its flow comes straight back to it"),
    ),
    "two tasks in a ring": (
        START + user("a", "b") + flows(("s", "a"), ("a", "b"), ("b", "a")),
        "",
        ("a", 'its flow goes round through b ("Check b") and back to it'),
    ),
    "a ring left by a second flow (a parallel split, not a decision)": (
        START + user("a", "b") + END + flows(("s", "a"), ("a", "b"), ("b", "a"), ("b", "e")),
        "",
        ("a", 'its flow goes round through b ("Check b") and back to it'),
    ),
    "a timer in the ring": (
        START + user("a") + TIMER + flows(("s", "a"), ("a", "c"), ("c", "a")),
        "",
        ("a", "its flow goes round through c and back to it"),
    ),
    "a message catch in the ring": (
        START + user("a") + CATCH + flows(("s", "a"), ("a", "c"), ("c", "a")),
        MESSAGE,
        ("a", "its flow goes round through c and back to it"),
    ),
    "a parallel gateway in the ring": (
        START
        + user("a", "b")
        + '\n<bpmn:parallelGateway id="p"/>'
        + flows(("s", "a"), ("a", "p"), ("p", "b"), ("b", "a")),
        "",
        ("a", 'its flow goes round through p, b ("Check b") and back to it'),
    ),
    "a flow back into the start event": (
        START + user("a") + flows(("s", "a"), ("a", "s")),
        "",
        ("s", 'its flow goes round through a ("Check a") and back to it'),
    ),
    "a task with a boundary event flowing back to itself": (
        START + user("a") + '\n<bpmn:boundaryEvent id="b" attachedToRef="a"><bpmn:messageEventDefinition '
        'messageRef="m"/></bpmn:boundaryEvent>' + END + flows(("s", "a"), ("a", "a"), ("b", "e")),
        MESSAGE,
        ("a", "its flow comes straight back to it"),
    ),
}


@pytest.mark.parametrize(("body", "extra", "expected"), REFUSED_LOOPS.values(), ids=REFUSED_LOOPS.keys())
def test_a_loop_no_gateway_decides_is_refused_naming_its_elements(body: str, extra: str, expected: tuple) -> None:
    text = document(body, extra=extra)
    refused = refusal(text)
    assert refused.code == "cannot_run"
    assert [(p["rule"], p["element_id"]) for p in refused.problems] == [("endless-loop", expected[0])]
    assert f"{expected[1]} with no gateway to decide when to leave the loop" in refused.message
    assert "put an exclusive gateway in the loop" in refused.message
    # Why: the engine itself lays the path out for ever when asked to start such a process.
    root = etree.fromstring(text.encode())
    built = build_specs(root, ["P"])["P"]
    with pytest.raises(RecursionError):
        BpmnWorkflow(built.spec, built.subprocess_specs)


def test_a_loop_reached_only_after_a_decision_is_refused_too() -> None:
    # The launch would pass; the step choosing `a` would fail the instance ("chained too deeply").
    body = (
        START
        + '\n<bpmn:exclusiveGateway id="g" default="f1"/>'
        + user("a", "b")
        + END
        + flows(("s", "g"), ("g", "a"), ("g", "e"), ("a", "b"), ("b", "a"), conditions={("g", "e"): "x == 1"})
    )
    assert [p["element_id"] for p in refusal(document(body)).problems] == ["a"]


def test_a_loop_inside_a_sub_process_and_a_sub_process_in_a_loop_are_refused() -> None:
    inner = START.replace('"s"', '"ss"') + user("sa") + END.replace('"e"', '"se"')
    inner += flows(("ss", "sa"), ("sa", "sa"), ("sa", "se")).replace('id="f', 'id="sf')
    body = START + f'\n<bpmn:subProcess id="sp">{inner}</bpmn:subProcess>' + END + flows(("s", "sp"), ("sp", "e"))
    assert [p["element_id"] for p in refusal(document(body)).problems] == ["sa"]
    simple = START.replace('"s"', '"ss"') + END.replace('"e"', '"se"') + flows(("ss", "se")).replace('id="f', 'id="sf')
    ring = START + user("a") + f'\n<bpmn:subProcess id="sp">{simple}</bpmn:subProcess>'
    assert [
        p["element_id"] for p in refusal(document(ring + flows(("s", "a"), ("a", "sp"), ("sp", "a")))).problems
    ] == ["a"]


def test_a_loop_no_instance_can_reach_is_not_refused(engine: Engine) -> None:
    body = START + user("x", "a", "b") + END + flows(("s", "x"), ("x", "e"), ("a", "b"), ("b", "a"))
    engine.create_workflow("Island", document(body))
    assert engine.launch("Island", {})["current_activities"] == ["x"]


def _launch_and_complete(engine: Engine, text: str, rounds: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    engine.create_workflow("Loop", text)
    instance = engine.launch("Loop", rounds[0])
    seen = [(instance["status"], instance["current_activities"])]
    for variables in rounds[1:]:
        engine.complete(instance["id"], variables)
        instance = engine.instance(instance["id"])
        seen.append((instance["status"], instance["current_activities"]))
    return seen


def test_a_loop_an_exclusive_gateway_decides_is_accepted_and_goes_round_until_it_leaves(engine: Engine) -> None:
    xor = '\n<bpmn:exclusiveGateway id="g" default="f3"/>'
    body = START + user("a") + xor + END + flows(("s", "a"), ("a", "g"), ("g", "a"), ("g", "e"), conditions=XOR_EXIT)
    validate_bpmn(document(body))
    rounds = [{"again": True}, {"again": True}, {"again": True}, {"again": False}]
    assert _launch_and_complete(engine, document(body), rounds) == [
        ("running", ["a"]),
        ("running", ["a"]),
        ("running", ["a"]),
        ("completed", []),
    ]


@pytest.mark.parametrize(
    "ring",
    [
        user("b")
        + TIMER
        + flows(
            ("s", "a"),
            ("a", "g"),
            ("g", "b"),
            ("b", "c"),
            ("c", "a"),
            ("g", "e"),
            conditions={("g", "b"): "again == true"},
        ),
        '\n<bpmn:parallelGateway id="p"/>'
        + flows(("s", "a"), ("a", "g"), ("g", "p"), ("p", "a"), ("g", "e"), conditions={("g", "p"): "again == true"}),
        '\n<bpmn:intermediateThrowEvent id="th"/>'
        + flows(("s", "a"), ("a", "th"), ("th", "g"), ("g", "a"), ("g", "e"), conditions=XOR_EXIT),
    ],
    ids=["a timer and a task in the loop", "a parallel gateway in the loop", "a throw event in the loop"],
)
def test_loops_through_other_elements_run_when_a_gateway_decides(engine: Engine, ring: str) -> None:
    xor = '\n<bpmn:exclusiveGateway id="g" default="f{}"/>'
    default = ring.count("<bpmn:sequenceFlow") - 1  # the flow out, g -> e, is drawn last
    text = document(START + user("a") + xor.format(default) + END + ring)
    validate_bpmn(text)
    assert _launch_and_complete(engine, text, [{"again": False}, {"again": False}]) == [
        ("running", ["a"]),
        ("completed", []),
    ]


def test_an_event_based_gateway_decides_a_loop(engine: Engine) -> None:
    ring = flows(("s", "a"), ("a", "g"), ("g", "c"), ("c", "a"))
    body = START + user("a") + '\n<bpmn:eventBasedGateway id="g"/>' + CATCH + ring
    engine.create_workflow("Waits", document(body, extra=MESSAGE))  # accepted: what follows it only may run
    assert engine.launch("Waits", {})["current_activities"] == ["a"]
