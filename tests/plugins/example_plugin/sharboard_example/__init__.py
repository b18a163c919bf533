"""An example sharboard plug-in (docs/integrating.md walks through it).

On every completed instance it appends the instance's id to the file SHARBOARD_EXAMPLE_LOG names (its
own setting, read from the environment), and notifies whoever launched the instance with a custom
notification through sharboard's Python API.
"""

from __future__ import annotations

import os

from app import python_api

ACTOR = python_api.system("example-plugin")  # how its notifications appear in timelines and the audit log


def register(registry: python_api.Registry) -> None:
    """Called once per process by sharboard, when it loads the plug-in."""
    registry.listen("instance_completed", on_completed)


def on_completed(event: python_api.Event) -> None:
    instance = event.instance
    assert instance is not None  # instance_* events always carry one
    log = os.environ.get("SHARBOARD_EXAMPLE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{instance.id} {instance.status} {event.workflow.name}\n")
    if instance.created_by is not None:
        python_api.notify(
            instance.created_by,
            actor=ACTOR,
            kind="example.completed",
            title=f"{event.workflow.name} finished",
            body=f"Instance {instance.id} of {event.workflow.name} v{instance.workflow_version} is {instance.status}.",
            about=instance,
        )
