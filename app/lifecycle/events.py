"""In-process events (blinker signals) and the one safe way to fire them.

Notifications, callbacks and the activity log are listeners of these events, not code
inside the jobs. `fire` calls each listener on its own: a failing listener is logged
and never fails the job or undoes the status change that caused the event.

    signal                     sender     keyword arguments
    workflow_created           Workflow   shar_response
    workflow_creation_failed   Workflow   workflow_name, error_message
    instance_launched          Instance   shar_response
    instance_launch_failed     Instance   error_message
    instance_completed         Instance
    instance_failed            Instance   error_message      (SHAR reported it failed)
    instance_synced            Instance   previous_status, new_status, callback_url
    instance_sync_failed       Instance   error_message, callback_url

Plug-ins (app/plugins) subscribe by these names; EVENTS maps each to its signal.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import NamedSignal, Namespace

from app.core import metrics
from app.core.extensions import db

logger = logging.getLogger("sharboard.events")
signals = Namespace()

workflow_created = signals.signal("workflow-created")
workflow_creation_failed = signals.signal("workflow-creation-failed")
instance_launched = signals.signal("instance-launched")
instance_launch_failed = signals.signal("instance-launch-failed")
instance_completed = signals.signal("instance-completed")
instance_failed = signals.signal("instance-failed")
instance_synced = signals.signal("instance-synced")
instance_sync_failed = signals.signal("instance-sync-failed")

# Every event by the name plug-ins use (the signal's, with underscores), in the table's order.
EVENTS: dict[str, NamedSignal] = {
    s.name.replace("-", "_"): s
    for s in (
        workflow_created,
        workflow_creation_failed,
        instance_launched,
        instance_launch_failed,
        instance_completed,
        instance_failed,
        instance_synced,
        instance_sync_failed,
    )
}


class Pending:
    """Events to fire once the change they announce is committed: a job's handler returns them,
    and the runner fires them after the job's success commit (app.jobs.runner)."""

    def __init__(self) -> None:
        self._events: list[tuple[NamedSignal, Any, dict[str, Any]]] = []

    def add(self, signal: NamedSignal, sender: Any, **kwargs: Any) -> None:
        self._events.append((signal, sender, kwargs))

    def __call__(self) -> None:
        events, self._events = self._events, []
        for signal, sender, kwargs in events:
            fire(signal, sender, **kwargs)


def fire(signal: NamedSignal, sender: Any, **kwargs: Any) -> None:
    """Send `signal`, isolating each listener's failure from the caller and the others."""
    logger.info("event", extra={"event": signal.name, "target": repr(sender)})
    for receiver in list(signal.receivers_for(sender)):
        try:
            receiver(sender, **kwargs)
        except Exception:
            db.session.rollback()
            listener = getattr(receiver, "__qualname__", repr(receiver))
            logger.exception("event listener failed", extra={"event": signal.name, "listener": listener})
            metrics.listener_failed(signal.name, listener)
