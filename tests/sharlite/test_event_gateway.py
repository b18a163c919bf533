"""An event-based gateway followed by message catch events (and a timer): accepted at upload, so
sharlite waits at it for either event, takes the branch of the one that comes first and never the
other. It failed before, "nothing can move this instance on: it waits only at g (waiting for flows
that never arrive)": Spiff holds the catches' events on the gateway's task, which sharlite did not
count as a message or timer wait."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent

from app.bpmn import validate_bpmn
from app.core.extensions import db
from app.models import Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services.actors import CLI
from app.services.monitoring import stuck_instances
from app.sharlite.engine import Engine, NoMessageWaiting
from app.sharlite.store import Store
from tests.bpmn.test_ids_and_loops import START, document, flows, user

MESSAGES = '<bpmn:message id="M1" name="m1"/><bpmn:message id="M2" name="m2"/>'
GATEWAY = '\n<bpmn:eventBasedGateway id="g"/>'
ENDS = '\n<bpmn:endEvent id="e1"/>\n<bpmn:endEvent id="e2"/>\n<bpmn:endEvent id="e3"/>'


def catch(element_id: str, message_ref: str) -> str:
    return (
        f'\n<bpmn:intermediateCatchEvent id="{element_id}" name="Wait {element_id}">'
        f'<bpmn:messageEventDefinition messageRef="{message_ref}"/></bpmn:intermediateCatchEvent>'
    )


def timer(duration: str) -> str:
    return (
        '\n<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition>'
        f"<bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    )


# The tester's shape: start -> user task -> gateway -> (c1 waits for m1 -> e1 | c2 waits for m2 -> e2).
AFTER_TASK = document(
    START
    + user("a")
    + GATEWAY
    + catch("c1", "M1")
    + catch("c2", "M2")
    + ENDS
    + flows(("s", "a"), ("a", "g"), ("g", "c1"), ("g", "c2"), ("c1", "e1"), ("c2", "e2")),
    extra=MESSAGES,
)


def with_timer(duration: str) -> str:
    """The gateway first after the start, waiting for m1 (c1) or a timer (t)."""
    body = START + GATEWAY + catch("c1", "M1") + timer(duration) + ENDS
    return document(body + flows(("s", "g"), ("g", "c1"), ("g", "t"), ("c1", "e1"), ("t", "e3")), extra=MESSAGES)


@pytest.fixture
def engine() -> Iterator[Engine]:
    running = Engine(Store(":memory:"))
    yield running
    running.close()


def _deployed(engine: Engine, text: str) -> None:
    validate_bpmn(text)  # what the upload accepts ...
    engine.create_workflow("W", text)  # ... sharlite deploys


def test_after_a_user_task_the_gateway_waits_for_either_message_and_takes_the_branch_of_the_one_sent(
    engine: Engine,
) -> None:
    _deployed(engine, AFTER_TASK)
    instance = engine.launch("W", {})
    engine.complete(instance["id"])
    waiting = engine.instance(instance["id"])
    assert waiting["status"] == "running" and waiting["current_activities"] == ["c1", "c2"]
    assert engine.store.instance(instance["id"])["wake_at"] is None  # nothing to wake: messages only
    assert engine.deliver_message(instance["id"], "m2", {"paid": 12}) == ["c2"]
    done = engine.instance(instance["id"])
    assert done["status"] == "completed" and done["variables"] == {"paid": 12}
    assert done["completed_activities"] == ["s", "a", "g", "c2", "e2"]  # never c1 nor e1
    with pytest.raises(NoMessageWaiting):
        engine.deliver_message(instance["id"], "m1")


def test_a_message_not_waited_for_is_refused_and_the_instance_still_waits(engine: Engine) -> None:
    _deployed(engine, AFTER_TASK)
    instance = engine.launch("W", {})
    engine.complete(instance["id"])
    with pytest.raises(NoMessageWaiting, match="not waiting for a message named 'm3'"):
        engine.deliver_message(instance["id"], "m3")
    assert engine.instance(instance["id"])["current_activities"] == ["c1", "c2"]


def test_as_the_first_element_after_the_start_the_gateway_waits_at_launch(engine: Engine) -> None:
    body = START + GATEWAY + catch("c1", "M1") + catch("c2", "M2") + ENDS
    _deployed(
        engine, document(body + flows(("s", "g"), ("g", "c1"), ("g", "c2"), ("c1", "e1"), ("c2", "e2")), extra=MESSAGES)
    )
    instance = engine.launch("W", {})
    assert instance["status"] == "running" and instance["current_activities"] == ["c1", "c2"]
    assert engine.deliver_message(instance["id"], "m1") == ["c1"]
    assert engine.instance(instance["id"])["completed_activities"] == ["s", "g", "c1", "e1"]


def test_in_a_loop_the_gateway_waits_again_each_round_until_the_exclusive_gateway_lets_it_out(engine: Engine) -> None:
    pairs = [("s", "a"), ("a", "g"), ("g", "c1"), ("g", "c2"), ("c1", "x"), ("x", "a"), ("c2", "e2"), ("x", "e1")]
    ring = flows(*pairs, conditions={("x", "a"): "again == true"})
    xor = '\n<bpmn:exclusiveGateway id="x" default="f7"/>'  # f7: x -> e1
    body = START + user("a") + GATEWAY + catch("c1", "M1") + catch("c2", "M2") + xor + ENDS + ring
    _deployed(engine, document(body, extra=MESSAGES))
    instance = engine.launch("W", {})
    for again in (True, False):
        engine.complete(instance["id"])
        assert engine.instance(instance["id"])["current_activities"] == ["c1", "c2"]
        assert engine.deliver_message(instance["id"], "m1", {"again": again}) == ["c1"]
    done = engine.instance(instance["id"])
    assert done["status"] == "completed"
    assert done["completed_activities"] == ["s", "a", "g", "c1", "x", "a", "g", "c1", "x", "e1"]


def test_with_a_timer_the_message_wins_when_it_comes_first(engine: Engine) -> None:
    _deployed(engine, with_timer("PT1H"))
    launched_at = time.time()
    instance = engine.launch("W", {})
    assert instance["current_activities"] == ["c1", "t"]
    wake_at = engine.store.instance(instance["id"])["wake_at"]
    assert launched_at + 3500 < wake_at < launched_at + 3700  # woken when the timer is due, not polled
    assert engine.deliver_message(instance["id"], "m1") == ["c1"]
    done = engine.instance(instance["id"])
    assert done["status"] == "completed" and done["completed_activities"] == ["s", "g", "c1", "e1"]
    assert engine.store.instance(instance["id"])["wake_at"] is None


def test_with_a_timer_the_timer_wins_when_it_comes_due_first_and_a_later_message_is_refused(engine: Engine) -> None:
    _deployed(engine, with_timer("PT1S"))
    instance = engine.launch("W", {})
    time.sleep(1.1)
    # Due, not yet woken: the timer came first, the message finds the gateway gone its way.
    with pytest.raises(NoMessageWaiting):
        engine.deliver_message(instance["id"], "m1")
    engine._tick_one(instance["id"])  # the tick the due timer asks for
    done = engine.instance(instance["id"])
    assert done["status"] == "completed" and done["completed_activities"] == ["s", "g", "t", "e3"]


def test_a_message_landing_as_the_timer_comes_due_takes_one_branch_only(engine: Engine) -> None:
    """Spiff keeps every event the gateway saw before it ran, the message and the timer due meanwhile,
    and took both branches; the gateway takes the first event's alone."""
    _deployed(engine, with_timer("PT1S"))
    instance = engine.launch("W", {})
    time.sleep(1.1)
    record = engine._record(instance["id"])
    workflow = engine._workflow(record)
    workflow.send_event(BpmnEvent(MessageEventDefinition("m1"), payload={}))  # caught before the timer's refresh
    engine._advance(workflow, record, engine._loaded(record))
    assert engine.instance(instance["id"])["completed_activities"] == ["s", "g", "c1", "e1"]


def test_moving_from_a_catch_moves_the_gateways_token_and_a_catch_itself_is_no_target(engine: Engine) -> None:
    _deployed(engine, AFTER_TASK)
    instance = engine.launch("W", {})
    engine.complete(instance["id"])
    with pytest.raises(Exception, match="c2 follows event-based gateway g: .* move to g instead"):
        engine.move(instance["id"], ["c1"], "c2")
    back = engine.move(instance["id"], ["c1"], "a")
    assert back["left"] == ["c1", "c2"] and back["instance"]["current_activities"] == ["a"]


def test_the_dashboard_counts_an_instance_waiting_at_the_gateway_as_waiting_for_its_messages(
    engine: Engine, offline_app: Flask
) -> None:
    """The stuck list splits unchanged instances on what they wait for: this one waits for m1 or m2."""
    _deployed(engine, AFTER_TASK)
    instance = engine.launch("W", {})
    engine.complete(instance["id"])
    workflow = Workflow(
        name="W",
        version=1,
        bpmn_xml=AFTER_TASK,
        bpmn_sha256="a" * 64,
        summary=validate_bpmn(AFTER_TASK).to_dict(),
        status="active",
    )
    row = WorkflowInstance(
        workflow=workflow,
        status="running",
        variables={},
        current_activities=engine.instance(instance["id"])["current_activities"],
        progressed_at=utcnow() - timedelta(hours=2),
    )
    db.session.add_all([workflow, row])
    db.session.commit()
    unchanged = stuck_instances(actor=CLI, minutes=60)
    assert unchanged.stuck == []
    assert [(w.instance.id, w.waits_for) for w in unchanged.waiting] == [
        (row.id, ["message m1 at Wait c1 (c1)", "message m2 at Wait c2 (c2)"])
    ]
