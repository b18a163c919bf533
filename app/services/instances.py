"""Instances, what people ask for: read one with its timeline, complete a waiting task, deliver a
message, cancel, edit variables, correct a failed launch; and the checks of what they send. The launch
is launches', lists and their filters instance_listing's, the diagram's counts element_counts', the
SHAR calls of the jobs instance_work's."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import select, update

from app.core import json_input
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.extensions import db, dialect_name
from app.jobs.dispatch import submit
from app.lifecycle.changes import change_status, record_activity
from app.lifecycle.states import OPEN_JOB_STATES, InstanceStatus, JobState
from app.models import ActivityEvent, JobRecord, WorkflowInstance
from app.services import element_names, variable_sizes
from app.services.access import find_instance, require_admin, require_writer
from app.services.actors import Actor
from app.services.audit import audit
from app.services.correlation import RESERVED_PREFIX, is_reserved
from app.services.rows import required

# -- operations ------------------------------------------------------------------------


def complete_task(instance_id: str, *, actor: Actor, variables: Any = None) -> JobRecord:
    """Queue the completion of the instance's waiting user task; Conflict when nothing waits, and
    while a completion of it is already queued, running or retrying (only one of them could apply: the
    others would fail in SHAR, finding no waiting task)."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    variables = check_variables(variables, merged_into=instance.variables)
    # Held until the job is committed, so two requests at once decide one after the other, and read
    # again under the hold: the other one's job may have completed the task meanwhile.
    hold_instance(instance.id)
    db.session.refresh(instance)
    try:
        waiting = _completable(instance)
    except Conflict:
        db.session.rollback()  # nothing was written: let go of the instance at once
        raise
    record_activity(
        instance,
        "task_completion_requested",
        f"completion of {element_names.names_of(instance.workflow).describe_all(waiting)} requested",
        by=actor.email,
    )
    audit(actor, "instance.complete_task", "instance", instance.id, after={"tasks": waiting})
    # The tasks it completes: a retried attempt checks they still wait (app.tasks passes them back).
    return submit(
        "complete_task",
        target_type="instance",
        target_id=instance.id,
        created_by=actor.id,
        payload={"variables": variables, "waiting_at": waiting},
    )


def _completable(instance: WorkflowInstance) -> list[str]:
    """The user tasks a completion of `instance` would complete; Conflict when it cannot have one now."""
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(f"instance {instance.id} is {instance.status}; only a running instance has a task to complete")
    waiting = waiting_user_tasks(instance)
    if not waiting:
        raise Conflict(f"instance {instance.id} is not waiting at a user task")
    refuse_open_completion(instance.id)
    return waiting


def refuse_open_completion(instance_id: str) -> None:
    """Conflict while a completion of the instance is queued, running or retrying: only one of them
    could apply (a request's, or an operator's retry of a failed one)."""
    queued = open_completion(instance_id)
    if queued is not None:
        how = {
            JobState.RUNNING: "already running",
            JobState.RETRYING: "already queued for a retry",
            JobState.HELD: "waiting for SHAR to be reachable",
        }.get(JobState(queued.state), "already queued")
        raise Conflict(f"a completion of instance {instance_id} is {how} (job {queued.id}); wait for it to finish")


def open_completion(instance_id: str) -> JobRecord | None:
    """The oldest completion job of the instance that is queued, running or retrying, if any."""
    return db.session.scalars(
        select(JobRecord)
        .where(
            JobRecord.target_type == "instance",
            JobRecord.target_id == instance_id,
            JobRecord.job_type == "complete_task",
            JobRecord.state.in_(OPEN_JOB_STATES),
        )
        .order_by(JobRecord.id)
        .limit(1)
    ).first()


def hold_instance(instance_id: str) -> None:
    """Keep other requests from deciding about the instance until this transaction ends: on
    PostgreSQL a lock of its row (SELECT ... FOR NO KEY UPDATE, which two such requests cannot both
    hold); on SQLite, which has one writer at a time and reads outside a transaction, the
    database's write lock, taken now by an UPDATE that changes nothing (updated_at set to itself,
    so no version moves)."""
    if dialect_name() == "postgresql":
        db.session.execute(
            select(WorkflowInstance.id).where(WorkflowInstance.id == instance_id).with_for_update(key_share=True)
        )
    else:
        db.session.execute(
            update(WorkflowInstance)
            .where(WorkflowInstance.id == instance_id)
            .values(updated_at=WorkflowInstance.updated_at)
            .execution_options(synchronize_session=False)
        )


MAX_MESSAGE_NAME = 200


def deliver_message(instance_id: str, name: Any, *, actor: Actor, variables: Any = None) -> JobRecord:
    """Queue the delivery of message `name` (with `variables`) to an instance waiting at a message
    start, catch event or receive task; Conflict when it waits for no message of that name."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    name = check_message_name(name)
    variables = check_variables(variables, merged_into=instance.variables)
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(f"instance {instance.id} is {instance.status}; only a running instance can take a message")
    expected = waiting_messages(instance)
    if "message_waits" in instance.workflow.summary and name not in expected.values():
        names = element_names.names_of(instance.workflow)
        waits = ", ".join(f"{m!r} at {names.describe(a)}" for a, m in expected.items())
        raise Conflict(
            f"instance {instance.id} is not waiting for a message named {name!r}"
            + (f"; it waits for {waits}" if waits else "; it waits for no message")
        )
    record_activity(instance, "message_requested", f"message {name} queued for delivery", by=actor.email)
    audit(actor, "instance.deliver_message", "instance", instance.id, after={"name": name, "variables": variables})
    waiting_at = [activity for activity, message in expected.items() if message == name]
    return submit(
        "deliver_message",
        target_type="instance",
        target_id=instance.id,
        created_by=actor.id,
        payload={"name": name, "variables": variables, "waiting_at": waiting_at},
    )


def check_message_name(name: Any, *, field: str = "name") -> str:
    if name is not None and not isinstance(name, str):
        raise InvalidInput.field(field, "the message name must be a string")
    if not name or not name.strip():
        raise InvalidInput.field(field, "the message name is required")
    name = name.strip()
    if len(name) > MAX_MESSAGE_NAME or any(ord(c) < 32 for c in name):
        raise InvalidInput.field(field, f"a message name is at most {MAX_MESSAGE_NAME} printable characters")
    return name


def cancel_instance(instance_id: str, *, actor: Actor, bulk: int | None = None) -> WorkflowInstance:
    """Stop tracking an instance: the SHAR gateway has no cancel call, so this is sharboard's own.
    As part of bulk operation `bulk`, its one audit entry covers this, and the timeline names it."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    before = instance.status
    sending = _launch_being_sent(instance)
    if sending is not None:
        raise Conflict(
            f"the launch of instance {instance.id} is being sent to SHAR (job {sending}); stop tracking it "
            "once SHAR has answered (SHAR has no call to stop an instance: it would run there untracked)"
        )
    if bulk is None:
        audit(
            actor, "instance.cancel", "instance", instance.id, before={"status": before}, after={"status": "cancelled"}
        )
    message = f"tracking stopped by {actor.email}" + (f" (bulk operation {bulk})" if bulk is not None else "")
    if not change_status(instance, InstanceStatus.CANCELLED, message=message):
        raise Conflict(f"instance {instance.id} changed while tracking was being stopped; try again")
    return instance


def _launch_being_sent(instance: WorkflowInstance) -> int | None:
    """The launch job of a launching instance that is running now (its call to SHAR under way), if any."""
    if instance.status != InstanceStatus.LAUNCHING:
        return None
    return db.session.scalar(
        select(JobRecord.id)
        .where(
            JobRecord.target_type == "instance",
            JobRecord.target_id == instance.id,
            JobRecord.job_type == "launch_instance",
            JobRecord.state == JobState.RUNNING,
        )
        .limit(1)
    )


def update_variables(instance_id: str, variables: Any, *, actor: Actor) -> WorkflowInstance:
    """Merge `variables` into an instance not yet in SHAR (launching, or failed before launch)."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    variables = check_variables(variables, merged_into=instance.variables)
    if instance.status not in (InstanceStatus.LAUNCHING, InstanceStatus.FAILED) or instance.shar_instance_id:
        raise Conflict(
            f"instance {instance.id} is {instance.status} in SHAR; SHAR offers no way to change "
            "the variables of a launched instance"
        )
    before = dict(instance.variables)
    instance.variables = {**before, **variables}
    record_activity(
        instance, "variables_changed", "variables changed", before=before, after=instance.variables, by=actor.email
    )
    audit(
        actor,
        "instance.update_variables",
        "instance",
        instance.id,
        before={"variables": before},
        after={"variables": instance.variables},
    )
    db.session.commit()
    return instance


def correct_failed_launch(job_id: int, variables: Any, *, actor: Actor) -> JobRecord:
    """Correct a failed launch's variables and retry it (admins); audited and on the timeline."""
    from app.services.failed_jobs import requeue_failed_job

    require_admin(actor)
    record = db.session.get(JobRecord, job_id)
    if record is None or record.job_type != "launch_instance":
        raise NotFound(f"no failed launch job {job_id}")
    instance = required(WorkflowInstance, record.target_id, "instance")
    variables = check_variables(variables)
    if instance.status != InstanceStatus.FAILED or instance.shar_instance_id:
        raise Conflict(f"instance {instance.id} is {instance.status}; only a failed launch can be corrected")
    before = dict(instance.variables)
    instance.variables = variables
    record_activity(
        instance,
        "variables_corrected",
        "variables corrected before a retry",
        before=before,
        after=variables,
        by=actor.email,
    )
    audit(
        actor,
        "launch.correct_and_retry",
        "instance",
        instance.id,
        before={"variables": before},
        after={"variables": variables},
    )
    return requeue_failed_job(job_id)


# The longest top-level variable name accepted (a filter condition reads names of up to
# variable_filters.MAX_NAME characters, and only of its own characters: that limits finding, not storing).
MAX_VARIABLE_NAME = 200


def check_variables(variables: Any, *, merged_into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Variables are a JSON object of strict JSON (no NaN or Infinity, valid Unicode, no U+0000),
    within the size and depth limits, whichever front door parsed them; each top-level name is
    1 to MAX_VARIABLE_NAME characters without control characters (spaces, dots and any letter are
    fine), so every stored name can be shown, typed and asked for, and none is sharboard's own.
    Together (merged into the instance's `merged_into`, when they add to them) they are at most
    SHARBOARD_MAX_VARIABLES_BYTES."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise InvalidInput.field("variables", "variables must be a JSON object")
    json_input.check_value(variables, what="the variables", field="variables")
    for name in variables:
        check_variable_name(name)
    variable_sizes.check_size(variables, merged_into=merged_into)
    return variables


def check_variable_name(name: str) -> None:
    """InvalidInput naming a top-level variable name that is empty, too long, holds a control
    character (Unicode category Cc: U+0000-U+001F, U+007F-U+009F: tabs and line breaks included) or
    starts with RESERVED_PREFIX (the correlation variable's: services.correlation)."""
    rule = f"a variable name is 1 to {MAX_VARIABLE_NAME} characters, without control characters"
    if is_reserved(name):
        raise InvalidInput.field(
            "variables",
            f"the variable name {name[:60]!r} is reserved: names starting with "
            f"{RESERVED_PREFIX} are sharboard's own and cannot be sent",
        )
    if not name.strip():  # empty, or only spaces: a name no one could see or type back
        raise InvalidInput.field("variables", f"a variable has an empty name; {rule}")
    if len(name) > MAX_VARIABLE_NAME:
        raise InvalidInput.field(
            "variables", f"the variable name {name[:40]!r}... is too long: {len(name)} characters; {rule}"
        )
    control = next((c for c in name if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        shown = repr(name[:60]) + ("..." if len(name) > 60 else "")
        raise InvalidInput.field(
            "variables", f"the variable name {shown} contains the control character U+{ord(control):04X}; {rule}"
        )


def waiting_user_tasks(instance: WorkflowInstance) -> list[str]:
    """The current activities that wait for a person (user or manual tasks); only a running instance
    waits (a failed one keeps the activities where it stopped)."""
    people = set(instance.workflow.summary.get("user_task_ids", ()))
    return [a for a in _waiting_at(instance) if a in people]


def waiting_messages(instance: WorkflowInstance) -> dict[str, str]:
    """The current activities that wait for a message: element id -> the message name."""
    waits = instance.workflow.summary.get("message_waits") or {}
    return {a: waits[a] for a in _waiting_at(instance) if a in waits}


def waits_for(instance: WorkflowInstance) -> list[str]:
    """What the instance waits for, in words: a person at each user task, a message at each message
    event or receive task; empty when nothing it waits for can come (unchanged, it is stuck)."""
    names = element_names.names_of(instance.workflow)
    return [f"a person at {names.describe(a)}" for a in waiting_user_tasks(instance)] + [
        f"message {name} at {names.describe(a)}" for a, name in waiting_messages(instance).items()
    ]


def _waiting_at(instance: WorkflowInstance) -> list[str]:
    return list(instance.current_activities or ()) if instance.status == InstanceStatus.RUNNING else []


# -- reading one -----------------------------------------------------------------------


def get_instance(instance_id: str, *, actor: Actor, fresh: bool = False) -> WorkflowInstance:
    """The instance if `actor` may see it; `fresh` reads it again from the database (pollers)."""
    if fresh:
        db.session.expire_all()
    return find_instance(instance_id, actor)


def timeline(instance: WorkflowInstance) -> list[ActivityEvent]:
    """An instance's activity, oldest first (the caller found it with the actor's visibility)."""
    return list(
        db.session.scalars(
            select(ActivityEvent)
            .where(ActivityEvent.target_type == "instance", ActivityEvent.target_id == instance.id)
            .order_by(ActivityEvent.created_at, ActivityEvent.id)
        )
    )
