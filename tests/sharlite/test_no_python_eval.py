"""No text from an uploaded file is ever run as Python, whichever path SpiffWorkflow takes to it.

SpiffWorkflow evaluates most expressions through the script engine, but correlation retrieval
expressions, ad-hoc completion conditions and conditional paths go straight to the engine's
*environment*; its default environment is Python's eval. These tests hold both doors shut: the
upload refuses such texts with the element and line, and the engine's environment refuses them too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.message import CorrelationProperty, MessageEventDefinition

from app.bpmn import BpmnValidationError, validate_bpmn
from app.sharlite.bpmn_loader import RefusedBpmn
from app.sharlite.expressions import UnsafeExpression
from app.sharlite.script_engine import RestrictedScriptEngine
from tests.bpmn.helpers import definitions

HOSTILE = "__import__('pathlib').Path(%r).touch()"


def test_the_environment_never_evals_python(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    engine = RestrictedScriptEngine()
    with pytest.raises(UnsafeExpression):
        engine.environment.evaluate(HOSTILE % str(marker), {})
    with pytest.raises(RefusedBpmn):
        engine.environment.execute(f"open({str(marker)!r}, 'w')", {})
    assert engine.environment.evaluate("amount > 3", {"amount": 5}) is True
    assert not marker.exists()


def test_a_correlation_expression_at_message_time_is_not_run_as_python(tmp_path: Path) -> None:
    # The path SpiffWorkflow takes when a message arrives: script_engine.environment.evaluate.
    marker = tmp_path / "ran"
    definition = MessageEventDefinition(
        "order", correlation_properties=[CorrelationProperty("orderId", HOSTILE % str(marker), ["key"])]
    )
    with pytest.raises(UnsafeExpression):
        definition.calculate_correlations(RestrictedScriptEngine(), definition.correlation_properties, {})
    assert not marker.exists()


def _with_correlation(expression: str) -> str:
    return definitions(f"""
  <{{p}}message id="Msg_1" name="order"/>
  <{{p}}correlationKey id="Key_1" name="key">
    <{{p}}correlationPropertyRef>Prop_1</{{p}}correlationPropertyRef>
  </{{p}}correlationKey>
  <{{p}}correlationProperty id="Prop_1" name="orderId">
    <{{p}}correlationPropertyRetrievalExpression messageRef="Msg_1">
      <{{p}}formalExpression>{expression}</{{p}}formalExpression>
    </{{p}}correlationPropertyRetrievalExpression>
  </{{p}}correlationProperty>
  <{{p}}process id="Process_1" isExecutable="true">
    <{{p}}startEvent id="Start_1"/>
    <{{p}}intermediateCatchEvent id="Wait_1">
      <{{p}}messageEventDefinition messageRef="Msg_1"/>
    </{{p}}intermediateCatchEvent>
    <{{p}}endEvent id="End_1"/>
    <{{p}}sequenceFlow id="Flow_1" sourceRef="Start_1" targetRef="Wait_1"/>
    <{{p}}sequenceFlow id="Flow_2" sourceRef="Wait_1" targetRef="End_1"/>
  </{{p}}process>""")


def test_the_upload_refuses_a_hostile_correlation_expression_naming_it() -> None:
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(_with_correlation("__import__('os').system('id')").encode())
    problem = caught.value.problems[0]
    assert (problem["tag"], problem["element_id"]) == ("correlationProperty", "Prop_1")
    assert problem["line"] and "correlation retrieval expression is refused" in problem["message"]


def test_a_simple_correlation_expression_is_accepted() -> None:
    validate_bpmn(_with_correlation("orderId").encode())


def _loop(condition: str) -> str:
    escaped = condition.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace("{", "{{").replace("}", "}}")  # definitions() formats the body
    return definitions(f"""
  <{{p}}process id="Process_1" isExecutable="true">
    <{{p}}startEvent id="Start_1"/>
    <{{p}}task id="Repeat_1" name="Repeat">
      <{{p}}standardLoopCharacteristics loopMaximum="3">
        <{{p}}loopCondition>{escaped}</{{p}}loopCondition>
      </{{p}}standardLoopCharacteristics>
    </{{p}}task>
    <{{p}}endEvent id="End_1"/>
    <{{p}}sequenceFlow id="Flow_1" sourceRef="Start_1" targetRef="Repeat_1"/>
    <{{p}}sequenceFlow id="Flow_2" sourceRef="Repeat_1" targetRef="End_1"/>
  </{{p}}process>""")


def test_loop_conditions_pass_the_same_check_as_flow_conditions() -> None:
    with pytest.raises(BpmnValidationError) as caught:
        validate_bpmn(_loop("().__class__.__bases__").encode())
    problem = caught.value.problems[0]
    assert (problem["tag"], problem["element_id"]) == ("task", "Repeat_1")
    assert "loop condition is refused" in problem["message"]
    validate_bpmn(_loop("${count < 3}").encode())  # JUEL, translated for the engine like a flow's condition
