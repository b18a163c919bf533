"""Element names (issue 22, names not ids): a version's flow nodes by id with the names its file gives
them, read once by the safe parse and kept by the file's digest; the id where the file gives no name."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask
from sqlalchemy import event

from app.bpmn.names import flow_node_names
from app.bpmn.validation import parse_definitions
from app.core.extensions import db
from app.models import Workflow
from app.services import element_names
from tests.support.factories import bpmn


def test_the_file_names_its_flow_nodes_and_leaves_others_out() -> None:
    names = flow_node_names(parse_definitions(bpmn("names")))
    # File order; white space made single; no name is ""; the process and the flows (even named) are no nodes.
    assert names == {"start": "Order placed", "approve": "Approve order", "wait_pay": "", "end": ""}


def test_nested_and_repeated_elements() -> None:
    xml = """<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
      <process id="p"><subProcess id="sub" name="Pack"><task id="inner" name="Wrap it"/>
        <complexGateway id="cx"/></subProcess>
        <task id="inner" name="A second element with the same id"/>
        <boundaryEvent id="late" name="Too late" attachedToRef="sub"/>
        <laneSet id="ls"><lane id="lane" name="Sales"/></laneSet><dataObject id="data" name="Order"/></process>
    </definitions>"""
    assert flow_node_names(parse_definitions(xml)) == {
        "sub": "Pack",
        "inner": "Wrap it",  # the first of a repeated id, as everywhere else
        "cx": "",
        "late": "Too late",
    }


def test_names_read_once_per_file_with_ids_as_the_fallback(offline_app: Flask) -> None:
    first = _workflow("Pay", 1, bpmn("names"))
    names = element_names.names_of(first)
    assert (names.name("approve"), names.name("wait_pay"), names.name("unknown")) == ("Approve order", None, None)
    assert (names.label("approve"), names.label("wait_pay")) == ("Approve order", "wait_pay")
    assert names.describe_all(["approve", "wait_pay"]) == "Approve order (approve), wait_pay"
    assert names.names_of(["wait_pay", "approve"]) == [None, "Approve order"]
    # A select offers every element by what a person reads, sorted so; an id asked for that the file lacks stays.
    assert names.choices(also="gone") == [
        ("approve", "Approve order (approve)"),
        ("end", "end"),
        ("start", "Order placed (start)"),
        ("wait_pay", "wait_pay"),
        ("gone", "gone"),
    ]

    # The same file again (another row, as after a restart): its names come from the cache, no read.
    db.session.expire_all()
    again = db.session.get(Workflow, first.id)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert element_names.names_of(again) is names
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "bpmn_xml" in s]


def test_a_workflows_versions_merge_the_newest_name_winning(offline_app: Flask) -> None:
    _workflow("Pay", 1, bpmn("names"))
    _workflow("Pay", 2, bpmn("names").replace('name="Order placed"', 'name="Order in"').replace('order "', 'it"'))
    merged = element_names.names_of_workflow("Pay")
    assert (merged.name("start"), merged.name("approve")) == ("Order in", "Approve it")
    assert element_names.names_of_workflow("Pay", 1).name("start") == "Order placed"
    # The list's filter: the workflow's elements, or only what was asked for without a workflow.
    assert ("start", "Order in (start)") in element_names.filter_choices("Pay", None, None)
    assert element_names.filter_choices(None, None, "wait_pay") == [("wait_pay", "wait_pay")]
    assert element_names.filter_choices("Pay", "x", "approve") == [("approve", "approve")]  # no version: no names


def test_a_file_the_parse_refuses_names_nothing(offline_app: Flask) -> None:
    refused = element_names.names_of(_workflow("Odd", 1, "<not-bpmn/>"))
    assert refused.names == {} and refused.label("wait_pay") == "wait_pay"


def _workflow(name: str, version: int, xml: str) -> Workflow:
    row = Workflow(
        name=name,
        version=version,
        bpmn_xml=xml,
        bpmn_sha256=hashlib.sha256(xml.encode()).hexdigest(),
        summary={},
        status="active",
    )
    db.session.add(row)
    db.session.commit()
    return row
