"""Event-based gateways the engine cannot run as BPMN says are refused at upload, naming the element:
a flow to something that waits for no event, two timers (the gateway keeps one due time), a timeCycle
timer (it never fires there), only signals nothing throws. What it can run is accepted and runs
(tests/sharlite/test_event_gateway.py)."""

from __future__ import annotations

import pytest

from app.bpmn import validate_bpmn
from tests.bpmn.test_ids_and_loops import START, document, flows, refusal, user

MESSAGE = '<bpmn:message id="M1" name="m1"/>'
SIGNAL = '<bpmn:signal id="S1" name="s1"/>'
CATCH = (
    '\n<bpmn:intermediateCatchEvent id="c1"><bpmn:messageEventDefinition messageRef="M1"/>'
    "</bpmn:intermediateCatchEvent>"
)
ENDS = '\n<bpmn:endEvent id="e1"/>\n<bpmn:endEvent id="e2"/>'


def gateway_to(second: str, *, first: str = CATCH) -> str:
    """start -> g -> (c1 -> e1 | c2 -> e2), with `first` as c1 and `second` as c2."""
    body = START + '\n<bpmn:eventBasedGateway id="g"/>' + first + second + ENDS
    return document(
        body + flows(("s", "g"), ("g", "c1"), ("g", "c2"), ("c1", "e1"), ("c2", "e2")), extra=MESSAGE + SIGNAL
    )


def timer(element_id: str, part: str, value: str) -> str:
    return (
        f'\n<bpmn:intermediateCatchEvent id="{element_id}"><bpmn:timerEventDefinition>'
        f"<bpmn:{part}>{value}</bpmn:{part}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    )


SIGNAL_CATCH = (
    '\n<bpmn:intermediateCatchEvent id="{}"><bpmn:signalEventDefinition signalRef="S1"/></bpmn:intermediateCatchEvent>'
)


@pytest.mark.parametrize(
    ("second", "element", "says"),
    [
        (user("c2"), "eventBasedGateway", "its flow to userTask c2 leads to no event to wait for"),
        ('\n<bpmn:endEvent id="c2"/>', "eventBasedGateway", "its flow to endEvent c2 leads to no event to wait for"),
        ('\n<bpmn:intermediateCatchEvent id="c2"/>', "eventBasedGateway", "intermediateCatchEvent c2 leads to no"),
        (
            timer("c2", "timeCycle", "R2/PT1M"),
            "intermediateCatchEvent",
            "follows event-based gateway g with a timeCycle",
        ),
    ],
    ids=["a user task", "an end event", "a catch of no event", "a timeCycle timer"],
)
def test_what_follows_a_gateway_and_never_waits_as_bpmn_says_is_refused_naming_it(
    second: str, element: str, says: str
) -> None:
    refused = refusal(gateway_to(second))
    assert refused.code == "cannot_run" and f"<{element}>" in refused.message and says in refused.message


def test_two_timers_after_one_gateway_are_refused_naming_the_gateway_and_both_timers() -> None:
    refused = refusal(gateway_to(timer("c2", "timeDuration", "PT1M"), first=timer("c1", "timeDuration", "PT2M")))
    assert '<eventBasedGateway> "g"' in refused.message
    assert "it is followed by 2 timers (c1, c2)" in refused.message and "keep one timer" in refused.message


def test_a_gateway_waiting_only_for_signals_nothing_throws_is_refused() -> None:
    refused = refusal(gateway_to(SIGNAL_CATCH.format("c2"), first=SIGNAL_CATCH.format("c1")))
    assert '<eventBasedGateway> "g"' in refused.message and "waits for a signal nothing in this file throws" in (
        refused.message
    )


@pytest.mark.parametrize(
    "second",
    [
        '\n<bpmn:receiveTask id="c2" messageRef="M1"/>',
        timer("c2", "timeDuration", "PT1M"),
        timer("c2", "timeDate", "2030-01-01T00:00:00Z"),
        SIGNAL_CATCH.format("c2"),  # the message branch can still fire
    ],
    ids=["a receive task", "a duration timer", "a date timer", "a signal beside a message"],
)
def test_a_gateway_before_catches_it_can_run_is_accepted(second: str) -> None:
    validate_bpmn(gateway_to(second))
