"""The restricted condition evaluator: what it accepts, what it refuses (and, for a condition over
several lines, what a launched instance does with it).

Texts go the way a file's do: translated once by the upload's analysis, then evaluated as they are.
"""

from typing import Any

import pytest

from app.bpmn import validate_bpmn
from app.bpmn.expressions import compile_condition, language_of, translate
from app.sharlite.engine import Engine
from app.sharlite.expressions import EvaluationError, UnsafeExpression, compile_prepared
from app.sharlite.expressions import evaluate as evaluate_prepared
from app.sharlite.store import Store


def evaluate(text: str, variables: dict[str, Any]) -> Any:
    return evaluate_prepared(translate(text, language_of(text)), variables)


def compile_expression(text: str) -> object:
    tree = compile_condition(text, language_of(text))  # the upload's check
    compile_prepared(translate(text, language_of(text)))  # and the engine's, on what the upload wrote
    return tree


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("amount > 1000", {"amount": 1200}, True),
        ("= amount > 1000", {"amount": 10}, False),
        ("${amount >= 1000 and vip}", {"amount": 1000, "vip": True}, True),
        ('status == "ok" or not ready', {"status": "no", "ready": False}, True),
        ("(a + b) * 2 % 7", {"a": 1, "b": 2}, 6),
        ("x in [1, 2, 3]", {"x": 2}, True),
        ("name != null", {"name": "a"}, True),
        ("1 < x <= 3", {"x": 3}, True),
    ],
)
def test_accepts_simple_expressions(text: str, variables: dict, expected: object) -> None:
    assert evaluate(text, variables) == expected


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        "open('/etc/passwd')",
        "a.__class__",
        "x[0]",
        "lambda: 1",
        "[x for x in y]",
        "_secret > 1",
        "2 ** 100000",
        "{'a': 1}",
        "f'{x}'",
        "a if b else c",
        "x := 1",
    ],
)
def test_refuses_everything_else(text: str) -> None:
    with pytest.raises(UnsafeExpression):
        compile_expression(text)


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("=lt > 3", {"lt": 5}, True),  # FEEL: a variable named lt, not JUEL's "<"
        ("= div = 2", {"div": 2}, True),
        ("=mod != 1", {"mod": 1}, False),
    ],
)
def test_a_translated_text_is_not_translated_again(text: str, variables: dict, expected: object) -> None:
    # Accepted at upload means it runs: the engine must not re-read FEEL names as JUEL operators.
    assert evaluate(text, variables) == expected


def test_no_huge_strings_from_multiplication() -> None:
    with pytest.raises(EvaluationError):
        evaluate("s * 1000000000", {"s": "a"})


def test_unknown_variable_is_an_evaluation_error() -> None:
    with pytest.raises(EvaluationError, match="missing"):
        evaluate("missing > 1", {})


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("approved == true", {"approved": False, "true": False}, False),
        ("${flag eq false}", {"flag": True, "false": True}, False),
        ("= note = null", {"note": 0, "null": 0}, False),
        ("x in [true, null]", {"x": "yes", "true": "yes"}, False),
    ],
)
def test_literals_win_over_variables_of_their_names(text: str, variables: dict, expected: object) -> None:
    assert evaluate(text, variables) is expected


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${amount\n> 100}", {"amount": 150}, True),
        ("amount\n>\n100", {"amount": 50}, False),
        ("= amount\r\n> 100\nand vip", {"amount": 150, "vip": True}, True),
        ("${status ==\n'on\nhold'}", {"status": "on\nhold"}, True),  # in a quoted text it is the text's own
        ("\n${amount > 100}\n", {"amount": 150}, True),
    ],
)
def test_a_line_break_inside_a_condition_reads_as_a_space(text: str, variables: dict, expected: object) -> None:
    # JUEL, FEEL and SHAR's expression language all read it so; before, it was refused as incomplete.
    compile_expression(text)
    assert evaluate(text, variables) == expected


_AMOUNTS = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:exclusiveGateway id="g" default="small"/>
    <bpmn:userTask id="big_one"/>
    <bpmn:userTask id="small_one"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/>
    <bpmn:sequenceFlow id="big" sourceRef="g" targetRef="big_one">
      <bpmn:conditionExpression>${amount
        &gt;
        100}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="g" targetRef="small_one"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_condition_written_over_several_lines_decides_at_the_gateway_of_a_launched_instance() -> None:
    validate_bpmn(_AMOUNTS)  # the upload accepts it
    engine = Engine(Store(":memory:"))
    try:
        engine.create_workflow("Amounts", _AMOUNTS)
        assert engine.launch("Amounts", {"amount": 150})["current_activities"] == ["big_one"]
        assert engine.launch("Amounts", {"amount": 50})["current_activities"] == ["small_one"]
    finally:
        engine.close()
