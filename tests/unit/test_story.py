"""The diagram tells the story (issue 22): from what sharboard recorded of an instance (where launch
answers and syncs found it, what SHAR says it completed), the elements it passed through and the
flows it took; and, without SHAR's list, the start it began at, an element run unseen between two
seen ones, and the end a completed instance reached."""

from __future__ import annotations

from flask import Flask
from lxml import etree

from app.bpmn.paths import flow_graph
from app.core.extensions import db
from app.models import WorkflowInstance
from app.services.instances import timeline
from app.services.story import Story, note_path, story_of
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user

BRANCHES = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="Other" isExecutable="false"><bpmn:startEvent id="o_start"/></bpmn:process>
  <bpmn:process id="Order" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:startEvent id="by_mail"><bpmn:messageEventDefinition/></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f1m" sourceRef="by_mail" targetRef="check"/>
    <bpmn:userTask id="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw"/>
    <bpmn:sequenceFlow id="ok" sourceRef="gw" targetRef="ship"/>
    <bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="refuse"/>
    <bpmn:userTask id="ship"/><bpmn:userTask id="refuse"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="done"/>
    <bpmn:sequenceFlow id="f4" sourceRef="refuse" targetRef="refused"/>
    <bpmn:endEvent id="done"/><bpmn:endEvent id="refused"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_the_graph_knows_flows_starts_and_what_lies_between() -> None:
    graph = flow_graph(etree.fromstring(BRANCHES.encode()))
    assert graph.starts[0][0] == "Order"  # executable processes first: the engine's default
    assert graph.start_of(None, None) == "start" and graph.start_of("Order", "mail-in") == "by_mail"
    assert graph.start_of("Other", None) == "o_start" and graph.start_of("Missing", None) is None
    assert graph.between({"start", "check", "gw", "ship"}) == ["f1", "f2", "ok"]
    # The gateway, run between two syncs, sits alone between check and ship; refuse was not taken.
    assert graph.bridges({"check", "ship"}) == ["gw"]
    assert graph.bridges({"check"}) == []
    assert graph.ends_after({"ship"}) == ["done"]


def _instance(offline_app: Flask, status: str, at: list[str], **values: object) -> WorkflowInstance:
    user = make_user()
    workflow = create_workflow("Pay", bpmn("names"), actor=user).workflow
    row = WorkflowInstance(workflow_id=workflow.id, status=status, created_by=user.id, current_activities=at, **values)
    db.session.add(row)
    db.session.commit()
    return row


def test_a_running_instance_passed_what_it_was_seen_at_and_is_no_longer(offline_app: Flask) -> None:
    row = _instance(offline_app, "running", ["approve"])
    note_path(row, ["approve"], None)
    db.session.commit()
    # Seen only where it is: the start it began at is done, the flow from it taken.
    assert story_of(row) == Story(passed=("start",), flows=("f1",))

    row.current_activities = ["wait_pay"]
    note_path(row, ["wait_pay"], None)
    db.session.commit()
    assert story_of(row) == Story(passed=("approve", "start"), flows=("f1", "f2"))
    entries = [e.message for e in timeline(row)]
    assert entries == ["now at Approve order (approve)", "now at wait_pay"]


def test_a_completed_instance_reached_its_end_and_shars_own_list_is_used(offline_app: Flask) -> None:
    row = _instance(offline_app, "completed", [])
    note_path(row, ["approve"], None)
    note_path(row, ["wait_pay"], None)
    db.session.commit()
    assert story_of(row) == Story(passed=("approve", "end", "start", "wait_pay"), flows=("f1", "f2", "f3"))

    # SHAR's own list (an extension) says what it completed, gateways and events included.
    other = _instance_of(row, "completed")
    note_path(other, [], ["start", "approve", "wait_pay", "end"])
    db.session.commit()
    assert story_of(other).flows == ("f1", "f2", "f3")


def test_nothing_recorded_tells_no_story(offline_app: Flask) -> None:
    row = _instance(offline_app, "launching", [])
    assert story_of(row) == Story()
    note_path(row, [], None)  # nothing to say: no entry
    db.session.commit()
    assert story_of(row) == Story()


def _instance_of(like: WorkflowInstance, status: str) -> WorkflowInstance:
    row = WorkflowInstance(workflow_id=like.workflow_id, status=status, created_by=like.created_by)
    db.session.add(row)
    db.session.commit()
    return row
