"""The work of the repair jobs (app.tasks calls these, with ids): move an instance's token in SHAR,
change its variables there, then show the result at once (a sync for a running instance; a failed one
moved off its failed element runs again); and what a repair that failed for good leaves on the
instance, "not offered" when SHAR has no such call (services.shar_features)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.extensions import db
from app.lifecycle.changes import change_status, record_activity
from app.lifecycle.states import REPAIRABLE_INSTANCE, InstanceStatus
from app.models import WorkflowInstance
from app.services import shar_features, story, variable_sizes
from app.services.correlation import untagged
from app.services.repair_checks import describe
from app.services.rows import required
from app.services.sync import submit_sync
from app.shar import SharInstance, current_client
from app.shar.errors import SharNotOffered

MOVED = story.MOVED_BY_HAND  # the timeline entry of a move made (the diagram marks where it left)
WHAT = {"move": "the move", "variables": "the change of variables"}


def move_in_shar(
    instance_id: str,
    from_: Sequence[str],
    to: str,
    variables: dict[str, Any] | None,
    *,
    by: str | None = None,
    retry: bool = False,
) -> None:
    """Move the instance's token in SHAR from `from_` to `to`, record it and show where it is now.

    A retried attempt first asks SHAR where the instance stands: the attempt before may have reached
    SHAR before it was cut off, and a second move from elements it has left would be refused (or, for
    a move back, repeat it). When it no longer stands at any of `from_`, the earlier attempt moved it."""
    instance = _repairable(instance_id, "move")
    if instance is None:
        return
    client = current_client()
    said = f"from {describe(instance, from_)} to {describe(instance, [to])}" + (f" by {by}" if by else "")
    if retry:
        now = client.get_instance(instance.shar_instance_id)
        if now.current_activities is not None and not set(from_) & set(now.current_activities):
            note = f"moved {said} (by an earlier attempt: not sent again)"
            record_activity(instance, MOVED, note, **{"from": list(from_), "to": to, "by": by})
            _after(instance, now, revive=True)
            return
    result = client.move_instance(instance.shar_instance_id, list(from_), to, variables or None)
    shar_features.record_offered("move")
    record_activity(
        instance,
        MOVED,
        f"moved {said}",
        **{"from": list(from_), "to": to, "left": list(result.left), "entered": list(result.entered), "by": by},
    )
    _after(instance, result.instance, revive=True)


def set_variables_in_shar(
    instance_id: str, set_: dict[str, Any], remove: Sequence[str], *, by: str | None = None
) -> None:
    """Set and remove the instance's variables in SHAR (the same request again is harmless: no retry
    check), and keep what SHAR answers."""
    instance = _repairable(instance_id, "variables")
    if instance is None:
        return
    answer = current_client().set_variables(instance.shar_instance_id, dict(set_), list(remove))
    shar_features.record_offered("variables")
    names = [*set_, *remove]
    record_activity(
        instance,
        "variables_edited",
        f"variables changed in SHAR{f' by {by}' if by else ''}: {', '.join(names)[:500]}",
        set=sorted(set_),
        removed=list(remove),
    )
    instance.variables = variable_sizes.kept_of(instance, untagged(answer.variables)) or {
        **{k: v for k, v in instance.variables.items() if k not in remove},
        **set_,
    }
    _after(instance, answer, revive=False)


def _repairable(instance_id: str, call: str) -> WorkflowInstance | None:
    """The instance, unless it ended here since the repair was queued (then the timeline says why
    nothing was sent)."""
    instance = required(WorkflowInstance, instance_id, "instance")
    if instance.status in REPAIRABLE_INSTANCE and instance.shar_instance_id:
        return instance
    record_activity(instance, "repair_skipped", f"{WHAT[call]} was not sent: the instance is {instance.status} now")
    db.session.commit()
    return None


def _after(instance: WorkflowInstance, answer: SharInstance, *, revive: bool) -> None:
    """Committed with the timeline entry: a failed instance that SHAR runs again after a move becomes
    running (its error cleared; one that failed again keeps failed, at where it failed now); then a
    sync of a running instance shows where it stands (its own entries: "now at ...")."""
    if revive and instance.status == InstanceStatus.FAILED:
        if answer.status == "failed":
            instance.error = answer.error or instance.error
            where = answer.failed_activities or answer.current_activities or instance.current_activities or ()
            instance.current_activities = list(where)
        else:
            change_status(
                instance,
                InstanceStatus.RUNNING,
                message="running again: moved off the element it failed at",
                commit=False,
                error=None,
            )
    db.session.commit()
    if instance.status == InstanceStatus.RUNNING:
        submit_sync(instance)


def repair_failed(instance_id: str, call: str, error: str, exc: BaseException) -> None:
    """A repair failed for good: the timeline says so; when SHAR has no such call, it is recorded as
    not offered (the action is shown unavailable) and the timeline says that instead."""
    instance = db.session.get(WorkflowInstance, instance_id)
    if isinstance(exc, SharNotOffered):
        said = f"it answered HTTP {exc.status}" if exc.status else "it has no such call"
        message = shar_features.record_not_offered(exc.call or call, f"{said} to the {exc.call or call} call")
        text = f"{message}: nothing was changed"
    else:
        text = f"{WHAT[call]} failed: {error}"
    if instance is not None:
        record_activity(instance, "repair_failed", text, call=call, error=error)
    db.session.commit()
