"""app.bpmn.names.process_flow_nodes: where an instance of each process can stand (what a move of
its token may name), the nodes inside its sub-processes included; pure."""

from __future__ import annotations

from app.bpmn.names import process_flow_nodes
from app.bpmn.validation import parse_definitions
from tests.support.factories import bpmn

SUB = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="Outer" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:subProcess id="sub"><bpmn:startEvent id="sub_s"/><bpmn:userTask id="inner"/></bpmn:subProcess>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="sub"/>
    <bpmn:dataObject id="data"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_each_process_has_its_own_nodes() -> None:
    found = process_flow_nodes(parse_definitions(bpmn("two_processes").encode()))
    assert found["Customer"] == {"c_start": "startEvent", "c_pay": "userTask", "c_end": "endEvent"}
    assert found["Shop"] == {"s_start": "startEvent", "s_ship": "userTask", "s_end": "endEvent"}
    assert set(found) == {"Customer", "Shop", "Bank"}


def test_nodes_inside_a_sub_process_belong_to_its_process_and_flows_and_data_do_not() -> None:
    assert process_flow_nodes(parse_definitions(SUB.encode())) == {
        "Outer": {"s": "startEvent", "sub": "subProcess", "sub_s": "startEvent", "inner": "userTask"}
    }
