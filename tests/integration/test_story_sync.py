"""The story an instance's diagram tells comes from what its launch and syncs recorded against the
real engine over HTTP: moved past a task, the task and the flows to it are done; completed, the end."""

from __future__ import annotations

import httpx

from app.services.instances import timeline
from app.services.launches import launch_instance
from app.services.story import story_of
from app.services.sync import apply_shar_state
from app.services.workflows import create_workflow
from tests.support.factories import bpmn, make_user, refresh


def test_moved_past_a_task_then_completed(app, shar) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    create_workflow("Twice", bpmn("two_step"), actor=user, async_=False)
    instance = launch_instance("Twice", {}, actor=user, async_=False).instance
    assert instance.current_activities == ["first"]
    assert story_of(instance).passed == ("start",) and story_of(instance).flows == ("f1",)

    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete").raise_for_status()
    assert apply_shar_state(instance) == "running"
    instance = refresh(instance)
    assert instance.current_activities == ["second"]
    story = story_of(instance)
    assert story.passed == ("first", "start") and story.flows == ("f1", "f2")
    assert apply_shar_state(instance) == "running"  # nothing moved: nothing more recorded
    moved = [e.message for e in timeline(instance) if e.kind == "moved"]
    assert moved == ["now at First approval (first)", "now at Second approval (second)"]

    httpx.post(f"{shar.url}/api/v1/instances/{instance.shar_instance_id}/complete").raise_for_status()
    assert apply_shar_state(instance) == "completed"
    instance = refresh(instance)
    story = story_of(instance)
    assert story.passed == ("end", "first", "second", "start") and story.flows == ("f1", "f2", "f3")
    last = [e for e in timeline(instance) if e.kind == "moved"][-1]
    assert last.message.startswith("went through ") and "Second approval (second)" in last.message
