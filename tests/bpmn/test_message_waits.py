"""Where instances wait for a message: the summary names each element and its message."""

from __future__ import annotations

from app.bpmn import inspect_bpmn, validate_bpmn
from tests.support.factories import bpmn


def test_receive_tasks_catch_events_and_message_starts_are_listed_with_their_message() -> None:
    assert validate_bpmn(bpmn("messages")).to_dict()["message_waits"] == {
        "payment": "payment-received",  # no messageRef: named after the task
        "shipped": "order-shipped",
    }
    assert validate_bpmn(bpmn("message_start")).to_dict()["message_waits"] == {"placed": "order-placed"}
    assert validate_bpmn(bpmn("user_task")).to_dict()["message_waits"] == {}


def test_a_receive_task_without_a_message_ref_gets_one_in_the_prepared_copy_only() -> None:
    inspection = inspect_bpmn(bpmn("messages"))
    prepared = inspection.analysis.prepared
    task = next(el for el in prepared.iter() if el.get("id") == "payment")
    assert task.get("messageRef") == "sharboard_message_payment"
    assert "sharboard_message" not in bpmn("messages")
    assert not inspection.summary.shar_warnings or all(
        "sharboard_message" not in w["message"] for w in inspection.summary.to_dict()["shar_warnings"]
    )
