"""Small BPMN documents for the validation tests."""

from __future__ import annotations

MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

SIMPLE_PROCESS = """
  <{p}process id="Process_1" name="Order" isExecutable="true">
    <{p}startEvent id="Start_1"/>
    <{p}userTask id="Review_1"/>
    <{p}endEvent id="End_1"/>
    <{p}sequenceFlow id="Flow_1" sourceRef="Start_1" targetRef="Review_1"/>
    <{p}sequenceFlow id="Flow_2" sourceRef="Review_1" targetRef="End_1"/>
  </{p}process>
"""


def definitions(
    body: str = SIMPLE_PROCESS,
    *,
    prefix: str | None = "bpmn",
    namespace: str = MODEL_NS,
    root: str = "definitions",
    attributes: str = "",
) -> str:
    """A document whose root is <prefix:root> in namespace, holding body ({p} stands for 'prefix:')."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{namespace}"' if prefix else f'xmlns="{namespace}"'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}{root} {xmlns} id="Defs_1" {attributes}>'
        f"{body.format(p=p)}</{p}{root}>\n"
    )


def with_condition(condition: str, *, language: str | None = None) -> str:
    """A valid document whose only sequence flow, Flow_1, carries condition as its text."""
    lang = f' language="{language}"' if language else ""
    escaped = condition.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace("{", "{{").replace("}", "}}")  # definitions() formats the body
    return definitions(f"""
  <{{p}}process id="Process_1">
    <{{p}}startEvent id="Start_1"/>
    <{{p}}exclusiveGateway id="Gateway_1"/>
    <{{p}}endEvent id="End_1"/>
    <{{p}}sequenceFlow id="Flow_0" sourceRef="Start_1" targetRef="Gateway_1"/>
    <{{p}}sequenceFlow id="Flow_1" sourceRef="Gateway_1" targetRef="End_1">
      <{{p}}conditionExpression xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
          xsi:type="{{p}}tFormalExpression"{lang}>{escaped}</{{p}}conditionExpression>
    </{{p}}sequenceFlow>
  </{{p}}process>""")
