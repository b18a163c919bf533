"""Accepted at upload means it runs: timer values and literal cardinalities as the engine reads them.

The analysis prepares each value once (timers as string constants, cardinalities as numbers); the
engine evaluates the prepared text and hands it to SpiffWorkflow's own timer parsers. Values the
upload accepted used to fail only when the timer came due (``R3/<start>/PT1H``) or when the loop
started (a quoted cardinality).
"""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.bpmn.elements import BPMN_NS
from app.bpmn.validation import inspect_bpmn
from app.sharlite.script_engine import RestrictedEnvironment
from tests.bpmn.helpers import definitions

PARSERS = {
    "timeDuration": TimerEventDefinition.parse_iso_duration,
    "timeDate": TimerEventDefinition.parse_time_or_duration,
    "timeCycle": TimerEventDefinition.parse_iso_recurring_interval,
}


def _prepared(body: str, tag: str) -> str:
    analysis = inspect_bpmn(definitions(body)).analysis
    (element,) = analysis.prepared.iter(f"{{{BPMN_NS}}}{tag}")
    return element.text


@pytest.mark.parametrize(
    ("kind", "written"),
    [
        ("timeDuration", "PT5M"),
        ("timeDuration", '"PT1.5S"'),
        ("timeDuration", "P1DT2H"),
        ("timeDate", "2030-01-01T09:00:00Z"),
        ("timeDate", "'2030-01-01T09:00:00+02:00'"),
        ("timeCycle", "R3/PT10M"),
        ("timeCycle", "R3/2030-01-01T00:00:00Z/PT1H"),
    ],
)
def test_every_accepted_timer_value_is_one_the_engine_parses(kind: str, written: str) -> None:
    body = f"""
  <{{p}}process id="P" isExecutable="true">
    <{{p}}startEvent id="Start"/>
    <{{p}}intermediateCatchEvent id="Wait"><{{p}}timerEventDefinition><{{p}}{kind}>{written}</{{p}}{kind}>
      </{{p}}timerEventDefinition></{{p}}intermediateCatchEvent>
    <{{p}}endEvent id="End"/>
    <{{p}}sequenceFlow id="F1" sourceRef="Start" targetRef="Wait"/>
    <{{p}}sequenceFlow id="F2" sourceRef="Wait" targetRef="End"/>
  </{{p}}process>"""
    value = RestrictedEnvironment().evaluate(_prepared(body, kind), {})
    assert value == written.strip("\"'")
    PARSERS[kind](value)  # raises on a value SpiffWorkflow cannot use


@pytest.mark.parametrize("written", ["3", '"3"', "'3'", "=3", "+3"])
def test_a_literal_cardinality_reaches_the_engine_as_a_number(written: str) -> None:
    body = f"""
  <{{p}}process id="P" isExecutable="true">
    <{{p}}startEvent id="Start"/>
    <{{p}}task id="Each"><{{p}}multiInstanceLoopCharacteristics>
      <{{p}}loopCardinality>{written}</{{p}}loopCardinality></{{p}}multiInstanceLoopCharacteristics></{{p}}task>
    <{{p}}endEvent id="End"/>
    <{{p}}sequenceFlow id="F1" sourceRef="Start" targetRef="Each"/>
    <{{p}}sequenceFlow id="F2" sourceRef="Each" targetRef="End"/>
  </{{p}}process>"""
    assert RestrictedEnvironment().evaluate(_prepared(body, "loopCardinality"), {}) == 3
