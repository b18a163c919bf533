"""diff_bpmn: what changed between two versions, element by element, across every process."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.bpmn import BpmnValidationError
from app.bpmn.diff import LIMIT, MAX_TEXT, diff_bpmn
from tests.bpmn.helpers import definitions
from tests.support.factories import bpmn

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn-corpus"

TIMER_WAIT = (
    '<bpmn2:intermediateCatchEvent id="cool_off" name="Cool off">'
    "<bpmn2:timerEventDefinition><bpmn2:timeDuration>PT10M</bpmn2:timeDuration>"
    "</bpmn2:timerEventDefinition></bpmn2:intermediateCatchEvent>"
    '<bpmn2:sequenceFlow id="f4" sourceRef="cool_off" targetRef="end_big"/>'
)


def _edited_gateway() -> str:
    """exclusive_gateway.bpmn with a higher threshold, a renamed and a retyped task, a timer
    before the big end, both small paths ending at end_big and end_small gone."""
    xml = bpmn("exclusive_gateway")
    edits = [
        ("amount &gt; 1000", "amount &gt; 5000"),
        ('name="Manager approval"', 'name="Director approval"'),
        ('<bpmn2:serviceTask id="small" name="Auto approval"/>', '<bpmn2:userTask id="small" name="Auto approval"/>'),
        ('id="f2" sourceRef="big" targetRef="end_big"', 'id="f2" sourceRef="big" targetRef="cool_off"'),
        ('id="f3" sourceRef="small" targetRef="end_small"', 'id="f3" sourceRef="small" targetRef="end_big"'),
        ('<bpmn2:endEvent id="end_small"/>', TIMER_WAIT),
    ]
    for old, new in edits:
        assert old in xml, old
        xml = xml.replace(old, new)
    return xml


def test_an_edited_copy_diffs_by_each_edit() -> None:
    diff = diff_bpmn(bpmn("exclusive_gateway"), _edited_gateway())

    assert not diff.identical
    assert [(e.id, e.tag, e.process) for e in diff.added] == [
        ("cool_off", "intermediateCatchEvent", "Approval"),
        ("f4", "sequenceFlow", "Approval"),
    ]
    assert diff.added[1].source == "cool_off" and diff.added[1].target == "end_big"
    assert [(e.id, e.tag) for e in diff.removed] == [("end_small", "endEvent")]
    changed = {c.element.id: [(f.field, f.old, f.new) for f in c.changes] for c in diff.changed}
    assert changed == {
        "to_big": [("condition", "= amount > 1000", "= amount > 5000")],
        "big": [("name", "Manager approval", "Director approval")],
        "small": [("tag", "serviceTask", "userTask")],
        "f2": [("target", "end_big", "cool_off")],
        "f3": [("target", "end_small", "end_big")],
    }
    assert [(d.element.id, d.old, d.new) for d in diff.conditions] == [("to_big", "= amount > 1000", "= amount > 5000")]
    assert [(d.element.id, d.element.name, d.old, d.new) for d in diff.timers] == [
        ("cool_off", "Cool off", None, "timeDuration PT10M")
    ]
    assert diff.unchanged == 5  # start, f1, split, to_small, end_big
    assert diff.processes_added == diff.processes_removed == diff.processes_changed == ()

    data = diff.to_dict()
    assert data["identical"] is False and data["limit"] == LIMIT
    assert data["changed"][0]["id"] == "to_big" and data["changed"][0]["changes"] == [
        {"field": "condition", "old": "= amount > 1000", "new": "= amount > 5000"}
    ]
    assert data["timers"] == [
        {
            "id": "cool_off",
            "tag": "intermediateCatchEvent",
            "name": "Cool off",
            "process": "Approval",
            "field": "timer",
            "old": None,
            "new": "timeDuration PT10M",
        }
    ]
    assert set(data["more"].values()) == {0}


def test_the_same_file_is_identical_and_the_other_way_round_swaps_added_and_removed() -> None:
    same = diff_bpmn(bpmn("exclusive_gateway"), bpmn("exclusive_gateway").encode())
    assert same.identical and same.unchanged == 11 and same.to_dict()["changed"] == []

    back = diff_bpmn(_edited_gateway(), bpmn("exclusive_gateway"))
    assert [e.id for e in back.added] == ["end_small"] and [e.id for e in back.removed] == ["cool_off", "f4"]
    assert [(d.element.id, d.old, d.new) for d in back.timers] == [("cool_off", "timeDuration PT10M", None)]


def test_timers_differ_by_value_and_by_kind() -> None:
    old = bpmn("timer")
    longer = diff_bpmn(old, old.replace("PT1S", "PT5M"))
    assert [(c.element.id, [(f.field, f.old, f.new) for f in c.changes]) for c in longer.changed] == [
        ("wait", [("timer", "timeDuration PT1S", "timeDuration PT5M")])
    ]
    assert [(d.element.id, d.old, d.new) for d in longer.timers] == [("wait", "timeDuration PT1S", "timeDuration PT5M")]
    dated = old.replace(
        "<bpmn2:timeDuration>PT1S</bpmn2:timeDuration>", "<bpmn2:timeDate>2030-01-01T09:00:00Z</bpmn2:timeDate>"
    )
    assert [(d.old, d.new) for d in diff_bpmn(old, dated).timers] == [
        ("timeDuration PT1S", "timeDate 2030-01-01T09:00:00Z")
    ]


def test_processes_are_compared_and_an_element_moving_between_them_says_so() -> None:
    old = bpmn("two_processes")
    new = (
        old.replace(
            '<bpmn:process id="Bank" name="Clear a payment" isExecutable="false">',
            '<bpmn:process id="Clearing" name="Clear a payment" isExecutable="false">',
        )
        .replace('name="Ship an order" isExecutable="true"', 'name="Ship it" isExecutable="false"')
        .replace('<bpmn:userTask id="c_pay" name="Pay"/>', "")
        .replace(
            '<bpmn:userTask id="s_ship" name="Ship"/>',
            '<bpmn:userTask id="s_ship" name="Ship"/><bpmn:userTask id="c_pay" name="Pay"/>',
        )
    )
    diff = diff_bpmn(old, new)
    assert [(p.id, p.name) for p in diff.processes_added] == [("Clearing", "Clear a payment")]
    assert [(p.id, p.executable) for p in diff.processes_removed] == [("Bank", False)]
    assert [(p.id, [(c.field, c.old, c.new) for c in p.changes]) for p in diff.processes_changed] == [
        ("Shop", [("name", "Ship an order", "Ship it"), ("executable", "yes", "no")])
    ]
    moved = {c.element.id: [(f.field, f.old, f.new) for f in c.changes] for c in diff.changed}
    assert moved["c_pay"] == [("process", "Customer", "Shop"), ("container", "Customer", "Shop")]
    assert moved["b_start"] == [("process", "Bank", "Clearing"), ("container", "Bank", "Clearing")]
    assert diff.added == diff.removed == ()


def test_sub_process_contents_are_compared_and_labels_read_as_text() -> None:
    body = """<{p}process id="P">
      <{p}startEvent id="s"/>
      <{p}subProcess id="sub"><{p}startEvent id="inner" name="Begin
        here"/><{p}task id="t" name="Work"/></{p}subProcess>
      <{p}boundaryEvent id="b" attachedToRef="sub"><{p}timerEventDefinition/></{p}boundaryEvent>
    </{p}process>"""
    old = definitions(body)
    new = definitions(
        body.replace('name="Begin\n        here"', 'name="Begin here"')
        .replace('<{p}task id="t" name="Work"/></{p}subProcess>', '</{p}subProcess><{p}task id="t" name="Work"/>')
        .replace('attachedToRef="sub"', 'attachedToRef="t"')
    )
    diff = diff_bpmn(old, new)
    assert {c.element.id: [(f.field, f.old, f.new) for f in c.changes] for c in diff.changed} == {
        "t": [("container", "sub", "P")],
        "b": [("attached_to", "sub", "t")],
    }
    assert diff.unchanged == 3  # s, sub, inner: the line break in a label is no change
    assert diff_bpmn(old, old).to_dict()["unchanged"] == 5
    assert diff.changed[1].element.timer == "no time set"


def test_every_list_is_capped_and_says_how_many_more() -> None:
    tasks = "".join(f'<{{p}}task id="t{n}" name="{"x" * (MAX_TEXT + 50)}"/>' for n in range(LIMIT + 20))
    old = definitions('<{p}process id="P"><{p}startEvent id="s"/></{p}process>')
    diff = diff_bpmn(old, definitions(f'<{{p}}process id="P"><{{p}}startEvent id="s"/>{tasks}</{{p}}process>'))
    assert len(diff.added) == LIMIT and diff.more["added"] == 20
    assert diff.to_dict()["more"]["added"] == 20 and not diff.identical
    assert len(diff.added[0].name) == MAX_TEXT and diff.added[0].name.endswith("…")


def test_elements_without_id_are_counted_not_compared() -> None:
    old = definitions('<{p}process id="P"><{p}startEvent id="s"/><{p}task name="anon"/></{p}process>')
    diff = diff_bpmn(old, old)
    assert diff.identical and diff.without_id == 2 and diff.unchanged == 1


@pytest.mark.parametrize(
    "hostile, code",
    [
        ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><d/>', "dtd_forbidden"),
        ("<definitions>", "not_xml"),
        ("<html/>", "not_bpmn"),
    ],
)
def test_either_file_goes_through_the_safe_parser(hostile: str, code: str) -> None:
    for pair in ((hostile, bpmn("timer")), (bpmn("timer"), hostile)):
        with pytest.raises(BpmnValidationError) as refused:
            diff_bpmn(*pair)
        assert refused.value.code == code


def test_the_same_model_written_by_two_tools_is_identical() -> None:
    # Trisotech's reference (ISO-8859-1, its own attribute order and extra attributes such as
    # completionQuantity, names with line breaks) against bpmn.io's round trip of it.
    diff = diff_bpmn(
        (CORPUS / "miwg-reference" / "A.2.0.bpmn").read_bytes(),
        (CORPUS / "miwg-bpmn-io-18.6.1" / "A.2.0-roundtrip.bpmn").read_bytes(),
    )
    assert diff.identical and diff.unchanged == 17


def test_two_tools_diff_only_by_what_differs() -> None:
    # The C.1.0 invoice model: bpmn.io's round trip kept every element, condition and timer, but
    # read one name's "ä" in the wrong encoding: that is the whole diff.
    diff = diff_bpmn(
        (CORPUS / "miwg-reference" / "C.1.0.bpmn").read_bytes(),
        (CORPUS / "miwg-bpmn-io-18.6.1" / "C.1.0-roundtrip.bpmn").read_bytes(),
    )
    assert [(c.element.id, [(f.field, f.old, f.new) for f in c.changes]) for c in diff.changed] == [
        ("reviewInvoice", [("name", "Rechnung klären", "Rechnung klÃ¤ren")])
    ]
    assert diff.added == diff.removed == diff.conditions == diff.timers == ()
    assert diff.unchanged == 40


def test_an_empty_condition_reads_as_none_as_the_engine_reads_it() -> None:
    # `${ }` or `=` is no condition for the validator and the engine: the diff says it was removed.
    old = bpmn("exclusive_gateway")
    emptied = old.replace("= amount &gt; 1000", "${ }")
    assert [(d.old, d.new) for d in diff_bpmn(old, emptied).conditions] == [("= amount > 1000", None)]
    assert diff_bpmn(emptied, old.replace("= amount &gt; 1000", "=")).conditions == ()
