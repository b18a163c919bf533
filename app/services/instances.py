"""Instances: launch, list, read, complete a waiting task, cancel, edit variables, correct a
failed launch; and the SHAR calls their jobs make."""
from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, distinct, func, select, tuple_, update

from app import json_input
from app.config import current_settings
from app.durations import parse_shar_time
from app.errors import Conflict, InvalidInput, NotFound
from app.events import (
    fire,
    instance_completed,
    instance_failed,
    instance_launch_failed,
    instance_launched,
)
from app.extensions import commit_keeping_loaded, db
from app.jobs.dispatch import submit
from app.jobs.errors import RetryableJobError
from app.models import ActivityEvent, JobRecord, Workflow, WorkflowInstance
from app.models._base import new_uuid, utcnow
from app.services import activities, outages, variable_filters, variable_sizes
from app.services.access import (
    find_instance,
    instance_owner_filter,
    may_see_owned_by,
    require_admin,
    require_writer,
    visible_instances,
)
from app.services.actors import Actor
from app.services.audit import audit
from app.services.callbacks import check_callback
from app.services.correlation import (
    CORRELATION_VARIABLE,
    RESERVED_PREFIX,
    LaunchOf,
    adoptable,
    is_reserved,
    tagged,
    untagged,
)
from app.services.outcomes import Outcome, settled
from app.services.rows import required
from app.services.workflows import latest_workflow, version_number
from app.shar import SharClient, SharError, SharInstance, SharUnavailable, current_client
from app.states import (
    INSTANCE_STATUSES,
    OPEN_JOB_STATES,
    TERMINAL,
    UNDER_WAY_INSTANCE,
    InstanceStatus,
    JobState,
    WorkflowStatus,
)
from app.status import change_status, record_activity


@dataclass(frozen=True)
class Launched:
    instance: WorkflowInstance
    job: JobRecord
    async_: bool  # a job launches it (as asked, else the setting's default), or this call did

    @property
    def outcome(self) -> Outcome:
        """How the launch went (a blocking launch that met an outage is queued)."""
        return settled(self.job, async_=self.async_, succeeded=self.instance.status != InstanceStatus.FAILED)

    @property
    def error(self) -> str | None:
        return self.instance.error


@dataclass(frozen=True)
class InstanceList:
    items: list[WorkflowInstance]
    total: int | None  # exact up to TOTAL_CAP; None when not asked for
    total_capped: bool = False  # more than TOTAL_CAP match: `total` is the cap
    next_cursor: str | None = None  # pass as `after` for the next page (keyset paging)

    @property
    def polling(self) -> bool:
        return any(i.status not in TERMINAL for i in self.items)


# Counting every match scans the table: totals are exact up to this many, and say so past it.
TOTAL_CAP = 10_000


@dataclass(frozen=True)
class InstanceFilter:
    status: str | None = None
    workflow: str | None = None
    mine: bool = False
    # Conditions on variables, joined by AND: `orderId = A1` texts, or (name, op, value) parts;
    # their syntax and SQL are app.services.variable_filters'.
    variables: tuple[variable_filters.Condition, ...] = ()
    # One version of `workflow` (a whole number; text from a URL is checked), and an element id
    # among the instances' current activities (where a running one waits, where a failed one stopped).
    version: int | str | None = None
    activity: str | None = None
    # Only instances created longer ago than this: a duration such as `30m`, `2h`, `3d` (parse_age).
    older_than: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The filter as given, without its empty fields: what a list URL, a form carrying the
        filter on and a stored bulk operation hold (variable conditions as `NAME OP VALUE` texts)."""
        data: dict[str, Any] = {"status": self.status, "workflow": self.workflow, "version": self.version,
                                "activity": self.activity, "older_than": self.older_than, "mine": self.mine,
                                "var": [c if isinstance(c, str) else " ".join(c) for c in self.variables
                                        if not isinstance(c, str) or c.strip()]}
        return {name: value for name, value in data.items() if value not in (None, "", [], False)}


# -- operations ------------------------------------------------------------------------

def launch_instance(workflow_name: str, variables: Any = None, *, actor: Actor, callback_url: str | None = None,
                    async_: bool | None = None, process_id: str | None = None, message: Any = None) -> Launched:
    """Store a `launching` placeholder with a new UUID and launch it in SHAR (in a job by default).

    `process_id` chooses the process of a file with several; it defaults to the only executable one.
    `message` starts the instance by that message, at its process's message start event."""
    require_writer(actor)
    variables = check_variables(variables)
    callback_url = check_callback(callback_url)
    workflow = latest_workflow(workflow_name)
    if workflow is None:
        raise NotFound(f"no workflow named {workflow_name!r}")
    if workflow.status != WorkflowStatus.ACTIVE:
        raise Conflict(f"workflow {workflow_name!r} is {workflow.status}; only an active workflow can be launched")
    process_id = choose_process(workflow, process_id)
    message = check_start_message(workflow, process_id, message)
    # Its id made here, not at a flush: the placeholder, its timeline entry, the audit entry and the
    # job are written by the job's one commit.
    instance = WorkflowInstance(id=new_uuid(), workflow=workflow, status=InstanceStatus.LAUNCHING,
                                variables=variables, created_by=actor.id, callback_url=callback_url,
                                process_id=process_id, start_message=message)
    db.session.add(instance)
    record_activity(instance, "placeholder_created", f"launch of {workflow.name} v{workflow.version}"
                    + (f" (process {process_id})" if process_id else "")
                    + (f" by message {message}" if message else "") + " queued")
    audit(actor, "instance.launch", "instance", instance.id, after={"workflow": workflow.name,
                                                                    "version": workflow.version,
                                                                    "process_id": process_id,
                                                                    "message": message})
    async_ = current_settings().shar_async_enabled if async_ is None else async_
    job = submit("launch_instance", target_type="instance", target_id=instance.id, created_by=actor.id,
                 inline=not async_)
    return Launched(instance, job, async_)


def complete_task(instance_id: str, *, actor: Actor, variables: Any = None) -> JobRecord:
    """Queue the completion of the instance's waiting user task; Conflict when nothing waits, and
    while a completion of it is already queued, running or retrying (only one of them could apply: the
    others would fail in SHAR, finding no waiting task)."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    variables = check_variables(variables, merged_into=instance.variables)
    # Held until the job is committed, so two requests at once decide one after the other, and read
    # again under the hold: the other one's job may have completed the task meanwhile.
    _hold_instance(instance.id)
    db.session.refresh(instance)
    try:
        waiting = _completable(instance)
    except Conflict:
        db.session.rollback()  # nothing was written: let go of the instance at once
        raise
    record_activity(instance, "task_completion_requested", f"completion of {', '.join(waiting)} requested",
                    by=actor.email)
    audit(actor, "instance.complete_task", "instance", instance.id, after={"tasks": waiting})
    # The tasks it completes: a retried attempt checks they still wait (app.tasks passes them back).
    return submit("complete_task", target_type="instance", target_id=instance.id, created_by=actor.id,
                  payload={"variables": variables, "waiting_at": waiting})


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
        how = {JobState.RUNNING: "already running", JobState.RETRYING: "already queued for a retry",
               JobState.HELD: "waiting for SHAR to be reachable"}.get(JobState(queued.state), "already queued")
        raise Conflict(f"a completion of instance {instance_id} is {how} (job {queued.id}); wait for it to finish")


def open_completion(instance_id: str) -> JobRecord | None:
    """The oldest completion job of the instance that is queued, running or retrying, if any."""
    return db.session.scalars(
        select(JobRecord).where(JobRecord.target_type == "instance", JobRecord.target_id == instance_id,
                                JobRecord.job_type == "complete_task", JobRecord.state.in_(OPEN_JOB_STATES))
        .order_by(JobRecord.id).limit(1)).first()


def _hold_instance(instance_id: str) -> None:
    """Keep other requests from deciding about the instance until this transaction ends: on
    PostgreSQL a lock of its row (SELECT ... FOR NO KEY UPDATE, which two such requests cannot both
    hold); on SQLite, which has one writer at a time and reads outside a transaction, the
    database's write lock, taken now by an UPDATE that changes nothing (updated_at set to itself,
    so no version moves)."""
    if _dialect() == "postgresql":
        db.session.execute(select(WorkflowInstance.id).where(WorkflowInstance.id == instance_id)
                           .with_for_update(key_share=True))
    else:
        db.session.execute(update(WorkflowInstance).where(WorkflowInstance.id == instance_id)
                           .values(updated_at=WorkflowInstance.updated_at)
                           .execution_options(synchronize_session=False))


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
        waits = ", ".join(f"{m!r} at {a}" for a, m in expected.items())
        raise Conflict(f"instance {instance.id} is not waiting for a message named {name!r}"
                       + (f"; it waits for {waits}" if waits else "; it waits for no message"))
    record_activity(instance, "message_requested", f"message {name} queued for delivery", by=actor.email)
    audit(actor, "instance.deliver_message", "instance", instance.id, after={"name": name, "variables": variables})
    waiting_at = [activity for activity, message in expected.items() if message == name]
    return submit("deliver_message", target_type="instance", target_id=instance.id, created_by=actor.id,
                  payload={"name": name, "variables": variables, "waiting_at": waiting_at})


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
        raise Conflict(f"the launch of instance {instance.id} is being sent to SHAR (job {sending}); cancel it "
                       "once SHAR has answered (SHAR offers no cancel: it would run there untracked)")
    if bulk is None:
        audit(actor, "instance.cancel", "instance", instance.id, before={"status": before},
              after={"status": "cancelled"})
    message = f"cancelled by {actor.email}" + (f" (bulk operation {bulk})" if bulk is not None else "")
    if not change_status(instance, InstanceStatus.CANCELLED, message=message):
        raise Conflict(f"instance {instance.id} changed while cancelling; try again")
    return instance


def _launch_being_sent(instance: WorkflowInstance) -> int | None:
    """The launch job of a launching instance that is running now (its call to SHAR under way), if any."""
    if instance.status != InstanceStatus.LAUNCHING:
        return None
    return db.session.scalar(select(JobRecord.id).where(
        JobRecord.target_type == "instance", JobRecord.target_id == instance.id,
        JobRecord.job_type == "launch_instance", JobRecord.state == JobState.RUNNING).limit(1))


def update_variables(instance_id: str, variables: Any, *, actor: Actor) -> WorkflowInstance:
    """Merge `variables` into an instance not yet in SHAR (launching, or failed before launch)."""
    instance = find_instance(instance_id, actor)
    require_writer(actor)
    variables = check_variables(variables, merged_into=instance.variables)
    if instance.status not in (InstanceStatus.LAUNCHING, InstanceStatus.FAILED) or instance.shar_instance_id:
        raise Conflict(f"instance {instance.id} is {instance.status} in SHAR; SHAR offers no way to change "
                       "the variables of a launched instance")
    before = dict(instance.variables)
    instance.variables = {**before, **variables}
    record_activity(instance, "variables_changed", "variables changed", before=before, after=instance.variables,
                    by=actor.email)
    audit(actor, "instance.update_variables", "instance", instance.id, before={"variables": before},
          after={"variables": instance.variables})
    db.session.commit()
    return instance


def correct_failed_launch(job_id: int, variables: Any, *, actor: Actor) -> JobRecord:
    """Correct a failed launch's variables and retry it (admins); audited and on the timeline."""
    from app.services.failed_jobs import requeue_failed_job

    require_admin(actor)
    record = db.session.get(JobRecord, job_id)
    if record is None or record.job_type != "launch_instance":
        raise NotFound(f"no failed launch job {job_id}")
    instance = _instance(record.target_id)
    variables = check_variables(variables)
    if instance.status != InstanceStatus.FAILED or instance.shar_instance_id:
        raise Conflict(f"instance {instance.id} is {instance.status}; only a failed launch can be corrected")
    before = dict(instance.variables)
    instance.variables = variables
    record_activity(instance, "variables_corrected", "variables corrected before a retry",
                    before=before, after=variables, by=actor.email)
    audit(actor, "launch.correct_and_retry", "instance", instance.id, before={"variables": before},
          after={"variables": variables})
    return requeue_failed_job(job_id)


def check_start_message(workflow: Workflow, process_id: str | None, message: Any) -> str | None:
    """The message a launch of `process_id` (as choose_process chose it) starts by, None for a plain
    launch; InvalidInput when the process has no message start event of that name, listing its own."""
    if message is None or (isinstance(message, str) and not message.strip()):
        return None
    name = check_message_name(message, field="message")
    starts_by_process = workflow.summary.get("message_starts")
    if starts_by_process is None or process_id is None:
        return name  # summarised before message starts (or processes) were recorded: the engine decides
    starts = starts_by_process.get(process_id, [])
    if name not in starts:
        raise InvalidInput.field("message", f"process {process_id} of {workflow.name} has no message start event for "
                                 f"message {name!r}; " + (f"its message starts: {', '.join(starts)}" if starts
                                                          else "it starts without a message"))
    return name


def choose_process(workflow: Workflow, process_id: Any) -> str | None:
    """The process a launch starts: the one asked for, else the only executable one.

    InvalidInput (422) names the choices when the file has several executable processes and none
    was chosen, when the chosen one is not in the file, and when it is marked not executable."""
    if process_id is not None and not isinstance(process_id, str):
        raise InvalidInput.field("process_id", "process_id must be a string")
    process_id = (process_id or "").strip() or None
    processes = workflow.summary.get("processes") or []
    executable = [p["id"] for p in processes if p.get("executable", p.get("is_executable"))]
    choices = ", ".join(executable) or "none"
    if process_id is None:
        if len(executable) == 1:
            return executable[0]
        if not executable:
            if not processes:
                return None  # a summary from before processes were listed: the engine's default
            raise InvalidInput.field("process_id", f"no process of {workflow.name} is executable (each is marked "
                                     'isExecutable="false" and kept as a diagram); nothing can be launched')
        raise InvalidInput.field("process_id", f"{workflow.name} has {len(executable)} executable processes; "
                                 f"choose one with process_id: {choices}")
    known = {p["id"]: p for p in processes}
    if process_id not in known:
        raise InvalidInput.field("process_id", f"{workflow.name} has no process {process_id!r}; "
                                 f"choose one of: {choices}")
    if process_id not in executable:
        raise InvalidInput.field("process_id", f"process {process_id} is marked not executable "
                                 '(isExecutable="false"): it is kept as a diagram and cannot be launched; '
                                 f"executable processes: {choices}")
    return process_id


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
        raise InvalidInput.field("variables", f"the variable name {name[:60]!r} is reserved: names starting with "
                                              f"{RESERVED_PREFIX} are sharboard's own and cannot be sent")
    if not name.strip():  # empty, or only spaces: a name no one could see or type back
        raise InvalidInput.field("variables", f"a variable has an empty name; {rule}")
    if len(name) > MAX_VARIABLE_NAME:
        raise InvalidInput.field("variables", f"the variable name {name[:40]!r}... is too long: {len(name)} "
                                              f"characters; {rule}")
    control = next((c for c in name if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        shown = repr(name[:60]) + ("..." if len(name) > 60 else "")
        raise InvalidInput.field("variables", f"the variable name {shown} contains the control character "
                                              f"U+{ord(control):04X}; {rule}")


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
    return ([f"a person at {a}" for a in waiting_user_tasks(instance)]
            + [f"message {name} at {a}" for a, name in waiting_messages(instance).items()])


def _waiting_at(instance: WorkflowInstance) -> list[str]:
    return list(instance.current_activities or ()) if instance.status == InstanceStatus.RUNNING else []


# -- reading ---------------------------------------------------------------------------

def get_instance(instance_id: str, *, actor: Actor, fresh: bool = False) -> WorkflowInstance:
    """The instance if `actor` may see it; `fresh` reads it again from the database (pollers)."""
    if fresh:
        db.session.expire_all()
    return find_instance(instance_id, actor)


def list_instances(*, actor: Actor, filters: InstanceFilter = InstanceFilter(), page: int = 1, per_page: int = 50,
                   after: str | None = None, with_total: bool = True) -> InstanceList:
    """The instances `actor` may see, newest first: by page, or after a cursor (keyset paging,
    which costs the same on the last page as on the first)."""
    query = filtered_instances(actor, filters)
    total, capped = None, False
    if with_total:
        total = db.session.scalar(select(func.count()).select_from(query.limit(TOTAL_CAP + 1).subquery()))
        capped = total > TOTAL_CAP
        total = min(total, TOTAL_CAP)
    ordered = query.order_by(WorkflowInstance.created_at.desc(), WorkflowInstance.id.desc())
    if after:
        created_at, instance_id = _cursor_position(after)
        ordered = ordered.where(tuple_(WorkflowInstance.created_at, WorkflowInstance.id) < (created_at, instance_id))
    else:
        ordered = ordered.offset((page - 1) * per_page)
    rows = list(db.session.scalars(ordered.limit(per_page)))
    cursor = _cursor(rows[-1]) if len(rows) == per_page else None
    return InstanceList(rows, total, capped, cursor)


def instance_list_version(*, actor: Actor, filters: InstanceFilter = InstanceFilter(), limit: int = 50) -> str:
    """What the polled list (its newest `limit` rows) depends on: those rows' ids, statuses and
    change times, read by index, so an unchanged list costs the same at 200 rows as at 200,000."""
    rows = db.session.execute(filtered_instances(actor, filters).with_only_columns(
        WorkflowInstance.id, WorkflowInstance.status, WorkflowInstance.updated_at)
        .order_by(WorkflowInstance.created_at.desc(), WorkflowInstance.id.desc()).limit(limit)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:32]


def _cursor(instance: WorkflowInstance) -> str:
    raw = f"{instance.created_at.isoformat()}|{instance.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_position(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, instance_id = raw.split("|", 1)
        return datetime.fromisoformat(created_at), instance_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.field("after", "after must be the next_cursor of a previous page") from None


def timeline(instance: WorkflowInstance) -> list[ActivityEvent]:
    """An instance's activity, oldest first (the caller found it with the actor's visibility)."""
    return list(db.session.scalars(select(ActivityEvent).where(
        ActivityEvent.target_type == "instance", ActivityEvent.target_id == instance.id)
        .order_by(ActivityEvent.created_at, ActivityEvent.id)))


def instance_version(instance_id: str, *, actor: Actor) -> str:
    """What an instance's JSON depends on (every write to the row moves updated_at or
    last_synced_at), if `actor` may see it; NotFound otherwise, as find_instance."""
    status, updated, synced = _version_row(_INSTANCE_VERSION, instance_id, actor)
    return f"instance:{instance_id}:{status}:{updated}:{synced}:{outages.version_key()}"


def live_version(instance_id: str, *, actor: Actor) -> str:
    """What an instance's live fragment depends on: its status and change times and its newest
    timeline entry, in one query (it is polled every few seconds)."""
    status, updated, synced, last = _version_row(_LIVE_VERSION, instance_id, actor)
    return f"{status}:{updated}:{synced}:{last or 0}:{outages.version_key()}"


def _version_statement(*extra: Any) -> Any:
    return (select(WorkflowInstance.status, WorkflowInstance.updated_at, WorkflowInstance.last_synced_at,
                   *extra, WorkflowInstance.created_by)
            .where(WorkflowInstance.id == bindparam("instance_id")))


# Built once: these reads are what every poll costs, and building a statement and its cache key
# cost more than running it.
_INSTANCE_VERSION = _version_statement()
# The newest entry by time, not by id: ix_activity_target (target_type, target_id, created_at) gives
# it in one index entry, where max(id) read every entry of the instance and its row (a long-lived
# instance has thousands).
_LIVE_VERSION = _version_statement(
    select(func.max(ActivityEvent.created_at))
    .where(ActivityEvent.target_type == "instance", ActivityEvent.target_id == WorkflowInstance.id)
    .scalar_subquery())


def _version_row(statement: Any, instance_id: str, actor: Actor) -> tuple[Any, ...]:
    """The columns a version is made of, read without loading the row (an unchanged poll
    decodes no variables), after the visibility check of find_instance."""
    # On the session's connection, not through the ORM: plain columns need none of its machinery,
    # which was half of this read's CPU.
    row = db.session.connection().execute(statement, {"instance_id": instance_id}).first()
    if row is None or not may_see_owned_by(actor, row[-1]):
        raise NotFound(f"no instance {instance_id}")
    return tuple(row[:-1])


def filtered_instances(actor: Actor, filters: InstanceFilter):  # type: ignore[no-untyped-def]
    query = visible_instances(actor)
    if filters.status:
        if filters.status not in INSTANCE_STATUSES:
            raise InvalidInput.field("status", f"status must be one of {', '.join(INSTANCE_STATUSES)}")
        query = query.where(WorkflowInstance.status == filters.status)
    if filters.workflow:
        query = query.join(Workflow).where(Workflow.name == filters.workflow)
    if filters.version is not None:
        if not filters.workflow:
            raise InvalidInput.field("version", "a version filter needs a workflow name")
        query = query.where(Workflow.version == version_number(filters.version))
    if filters.mine:
        query = query.where(WorkflowInstance.created_by == actor.id)
    if filters.variables:
        for condition in variable_filters.conditions(filters.variables):
            query = query.where(variable_filters.where(WorkflowInstance.variables, condition, _dialect()))
    if filters.activity:
        query = query.where(activities.holds(WorkflowInstance.current_activities, _element_id(filters.activity),
                                             _dialect()))
    if filters.older_than:
        query = query.where(WorkflowInstance.created_at < utcnow() - parse_age(filters.older_than))
    return query


def _dialect() -> str:
    return db.session.get_bind().dialect.name


AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_AGE = timedelta(days=100 * 365)
_AGE = re.compile(r"([0-9]{1,9})\s*([smhdw])")


def parse_age(value: str) -> timedelta:
    """An age filter: a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`30m`, `2h`, `3d`), up to
    100 years; InvalidInput naming `older_than` otherwise."""
    match = _AGE.fullmatch(str(value).strip().lower())
    # Bounded as a number of seconds before it becomes a timedelta: 999999999w overflows one.
    seconds = int(match.group(1)) * AGE_UNITS[match.group(2)] if match else 0
    if not 0 < seconds <= MAX_AGE.total_seconds():
        raise InvalidInput.field("older_than", "older_than is a duration: a whole number and a unit, s, m, h, d or "
                                               f"w (e.g. 30m, 2h, 3d), at most 100 years; {str(value)[:20]!r} is not")
    return timedelta(seconds=seconds)


def _element_id(value: str) -> str:
    if len(value) > activities.MAX_ELEMENT_ID or any(ord(c) < 32 for c in value):
        raise InvalidInput.field("activity", f"activity must be an element id: at most {activities.MAX_ELEMENT_ID} "
                                             "characters, no control characters")
    return value


# -- where a workflow's instances are (the counts on its diagram) ---------------------

# Counted on the diagram: running instances wait at their current activities; a failed one keeps
# the activities where it was when it failed (app.services.sync), so it counts there.
COUNTED = (InstanceStatus.RUNNING, InstanceStatus.FAILED)
# The counts may still move while one of these is under way (a launch ends running or failed).
MOVING = UNDER_WAY_INSTANCE


@dataclass(frozen=True)
class CountsState:
    version: str  # what the counts depend on (the ETag of the polled fragment)
    moving: bool  # an instance is launching or running: the counts may change, so they are polled


def element_counts(workflow_name: str, version: int | str | None = None, *,
                   actor: Actor) -> dict[str, dict[str, int]]:
    """{element id: {"waiting": n, "failed": n}} over the instances `actor` may see of one version
    of `workflow_name` (all its versions when `version` is None): how many running instances wait
    at each element now, and how many failed instances failed there. One grouped query."""
    if not workflow_name:
        return {}
    element = activities.elements(WorkflowInstance.current_activities, _dialect())

    def counted(status: str) -> Any:
        return func.count(distinct(case((WorkflowInstance.status == status, WorkflowInstance.id))))

    rows = db.session.execute(
        filtered_instances(actor, InstanceFilter(workflow=workflow_name, version=version))
        .with_only_columns(element.c.value, counted(InstanceStatus.RUNNING), counted(InstanceStatus.FAILED),
                           maintain_column_froms=True)
        .where(WorkflowInstance.status.in_(COUNTED))
        .group_by(element.c.value))
    return {str(element_id): {"waiting": waiting, "failed": failed} for element_id, waiting, failed in rows}


def element_counts_state(workflow_name: str, version: int | str | None = None, *, actor: Actor) -> CountsState:
    """What element_counts(...) depends on, from one small grouped read by the (workflow_id, status)
    index: per status counted or moving, how many and the latest progress (`progressed_at` moves
    when an instance's activities or status change, not on every sync as `updated_at` does).
    NotFound for an unknown workflow or version, checked only when the read finds nothing."""
    rows = db.session.execute(
        filtered_instances(actor, InstanceFilter(workflow=workflow_name, version=version))
        .with_only_columns(WorkflowInstance.status, func.count(), func.max(WorkflowInstance.progressed_at),
                           maintain_column_froms=True)
        .where(WorkflowInstance.status.in_(sorted({*MOVING, *COUNTED})))
        .group_by(WorkflowInstance.status).order_by(WorkflowInstance.status)).all()
    if not rows:
        known = select(Workflow.id).where(Workflow.name == workflow_name).limit(1)
        if version is not None:
            known = known.where(Workflow.version == version_number(version))
        if db.session.scalar(known) is None:
            raise NotFound(f"no workflow named {workflow_name!r}" if version is None
                           else f"no version {version} of workflow {workflow_name!r}")
    # Raw: the fragment's ETag is made from it (app.conditional).
    return CountsState(f"{workflow_name}|{version}|{instance_owner_filter(actor)}|{[tuple(r) for r in rows]}",
                       any(status in MOVING for status, _, _ in rows))


# -- the work of the jobs (app.tasks calls these) ---------------------------------------

def _instance(instance_id: str) -> WorkflowInstance:
    return required(WorkflowInstance, instance_id, "instance")


def launch_in_shar(instance_id: str) -> None:
    """Launch the instance in SHAR, tagged with its id; each request is counted before it is sent.

    A re-send (an earlier request's outcome is unknown) first asks SHAR for an instance carrying
    this row's id and adopts the earliest its launch may have made (correlation.adoptable: same
    workflow, made after the row, tracked by no other row) instead of launching a second one.
    """
    instance = _instance(instance_id)
    if instance.status != InstanceStatus.LAUNCHING:
        return
    client = current_client()
    if instance.launch_requests:
        adopted, passed = _adopt_earlier_launch(instance, client)
        if adopted:
            return
        # The earlier request may still reach SHAR; say so rather than hide a possible duplicate.
        record_activity(instance, "launch_resent",
                        f"launch request {instance.launch_requests + 1} sent; no instance of an earlier request "
                        "was found in SHAR" + (f" ({len(passed)} carrying its id passed over)" if passed else ""),
                        passed_over=passed)
    request = (instance.workflow.name, tagged(instance.variables, instance.id))
    options = {"process_id": instance.process_id, "message": instance.start_message}
    instance.launch_requests += 1
    # Counted before it is sent. Kept loaded: the answer is applied to this row, and the runner then
    # moves its job; a plain commit made each of them load its row again (a fifth of the worker's CPU).
    commit_keeping_loaded()
    answer = client.launch_instance(*request, **options)
    _apply_launch_answer(instance, answer)


def _adopt_earlier_launch(instance: WorkflowInstance, client: SharClient) -> tuple[bool, dict[str, str]]:
    """Adopt the instance an earlier launch request of this row made in SHAR, if SHAR lists one its
    launch may have made (_adoptable); returns whether it did, and the instances passed over.

    A lookup that fails with SHAR reachable (an error of that call, an answer off the contract)
    fails the attempt, retried as a whole: a launch is sent again only once SHAR has answered that
    it has none, and a lookup never fails the launch for good by itself. An outage goes up as it
    is: the runner holds the job."""
    try:
        listed = client.instances_with_variable(CORRELATION_VARIABLE, instance.id)
    except SharUnavailable:
        raise
    except SharError as exc:
        raise RetryableJobError(f"could not look in SHAR for the instance of an earlier launch request ({exc}); "
                                "nothing was sent again") from exc
    found, passed = _adoptable(instance, listed)
    if not found:
        return False, passed
    answer = found[0]
    record_activity(instance, "launch_adopted",
                    f"an earlier launch request reached SHAR: its instance {answer.id} is adopted and "
                    "the launch is not sent again", shar_instance_id=answer.id,
                    launch_requests=instance.launch_requests, others=[i.id for i in found[1:]], passed_over=passed)
    _apply_launch_answer(instance, answer)
    return True, passed


def _adoptable(instance: WorkflowInstance, found: list[SharInstance]) -> tuple[list[SharInstance], dict[str, str]]:
    """correlation.adoptable for this row: its workflow, SHAR's version of it, its process, its creation,
    and the SHAR ids of `found` that other rows track."""
    shar_version = (instance.workflow.shar_response or {}).get("version")
    tracked = set(db.session.scalars(select(WorkflowInstance.shar_instance_id).where(
        WorkflowInstance.shar_instance_id.in_([i.id for i in found]), WorkflowInstance.id != instance.id))) \
        if found else set()
    launch = LaunchOf(instance.id, instance.workflow.name, shar_version if isinstance(shar_version, int) else None,
                      instance.process_id, instance.created_at)
    return adoptable(found, launch, tracked)


def _apply_launch_answer(instance: WorkflowInstance, answer: SharInstance) -> None:
    """Use the launch answer's status and times: an instance that ended during its launch ends
    here, and its completion (or failure) event fires once, with the launch event."""
    now = utcnow()
    values: dict[str, Any] = {
        "shar_instance_id": answer.id, "launched_at": now, "last_synced_at": now,
        "shar_created_at": parse_shar_time(answer.created_at),
        "current_activities": list(answer.current_activities or ()),
        "variables": variable_sizes.kept_of(instance, untagged(answer.variables)) or instance.variables,
    }
    if instance.status == InstanceStatus.CANCELLED:  # cancelled before the answer came back
        _keep_launched_after_cancel(instance, answer)
        return
    if answer.status == "completed":
        values.update(completed_at=now, shar_completed_at=parse_shar_time(answer.completed_at))
        if change_status(instance, InstanceStatus.COMPLETED, message="completed during its launch", **values):
            fire(instance_launched, instance, shar_response=answer.raw)
            fire(instance_completed, instance)
            return
    elif answer.status == "failed":
        error = answer.error or "SHAR reports the instance failed"
        values.update(completed_at=now, error=error, shar_completed_at=parse_shar_time(answer.completed_at))
        if change_status(instance, InstanceStatus.FAILED, message="failed during its launch", **values):
            fire(instance_launched, instance, shar_response=answer.raw)
            fire(instance_failed, instance, error_message=error)
            return
    elif change_status(instance, InstanceStatus.RUNNING, **values):
        fire(instance_launched, instance, shar_response=answer.raw)
        return
    if instance.status == InstanceStatus.CANCELLED:  # the status change lost to a cancel
        _keep_launched_after_cancel(instance, answer)


def _keep_launched_after_cancel(instance: WorkflowInstance, answer: SharInstance) -> None:
    """Cancelled while the launch was on its way: SHAR has it (the gateway has no cancel), so the
    row keeps its SHAR id and says so, instead of losing track of an instance that runs."""
    if not instance.shar_instance_id:
        instance.shar_instance_id = answer.id
        record_activity(instance, "launched_after_cancel", f"SHAR had already started it as {answer.id} when it "
                        "was cancelled; it runs there, untracked (SHAR offers no cancel)", shar_instance_id=answer.id)
        db.session.commit()


def launch_failed(instance_id: str, error: str) -> None:
    """The launch's last attempt failed. When a request was sent, SHAR is asked once more for what
    it made (the attempts may have run out while SHAR was slow to answer them), so a launch SHAR
    runs does not end failed here; when SHAR cannot say, the timeline says a retry looks first."""
    instance = _instance(instance_id)
    if instance.status == InstanceStatus.LAUNCHING and instance.launch_requests and _adopted_at_last(instance):
        return
    if change_status(instance, InstanceStatus.FAILED, error=error):
        fire(instance_launch_failed, instance, error_message=error)


def _adopted_at_last(instance: WorkflowInstance) -> bool:
    try:
        return _adopt_earlier_launch(instance, current_client())[0]
    except Exception:  # noqa: BLE001 - the failure handler's own lookup: any failure leaves it to a retry
        db.session.rollback()
        record_activity(instance, "launch_unknown", "SHAR did not say whether an earlier launch request made "
                        "an instance; a retry looks for it first and adopts it, never launching a second one")
        return False


def launch_retried(instance_id: str) -> None:
    instance = _instance(instance_id)
    if instance.status == InstanceStatus.FAILED:
        change_status(instance, InstanceStatus.LAUNCHING, error=None, message="retried")


def completion_retried(instance_id: str) -> None:
    """An operator retries a failed completion: refused while another completion of the instance is
    queued, running or retrying (complete_task's rule: only one of them could apply)."""
    _hold_instance(instance_id)
    try:
        refuse_open_completion(instance_id)
    except Conflict:
        db.session.rollback()  # let go of the instance at once
        raise


def complete_task_in_shar(instance_id: str, variables: dict[str, Any] | None, *,
                          waiting_at: Sequence[str] = (), retry: bool = False) -> None:
    """Complete the waiting task in SHAR, then sync at once so the new state shows."""
    _act_in_shar(instance_id, lambda client, shar_id: client.complete_instance(shar_id, variables or None),
                 "task_completed", "waiting task completed in SHAR", waiting_at=waiting_at, retry=retry)


def deliver_message_in_shar(instance_id: str, name: str, variables: dict[str, Any] | None, *,
                            waiting_at: Sequence[str] = (), retry: bool = False) -> None:
    """Deliver the message in SHAR, then sync at once so the new state shows."""
    _act_in_shar(instance_id, lambda client, shar_id: client.deliver_message(shar_id, name, variables or {}),
                 "message_delivered", f"message {name} delivered in SHAR", waiting_at=waiting_at, retry=retry)


def act_failed(instance_id: str, what: str, error: str) -> None:
    """A completion or message delivery failed for good: the instance's timeline says so."""
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is not None:
        record_activity(instance, "action_failed", f"{what} failed: {error}", error=error)
        db.session.commit()


def _act_in_shar(instance_id: str, call: Callable[[Any, str], object], kind: str, message: str, *,
                 waiting_at: Sequence[str] = (), retry: bool = False) -> None:
    """Make one SHAR call for a running instance, record it, and queue a sync to show its effect.

    A retried attempt first asks SHAR whether the elements the request was for (`waiting_at`) still
    wait: the attempt before may have reached SHAR before it was cut off (a timeout, a killed
    worker), and calling again would complete the next task or deliver the message twice. When
    none waits, the earlier attempt did it; when SHAR reports no activities, the call is made."""
    from app.services.sync import submit_sync

    instance = _instance(instance_id)
    if instance.status != InstanceStatus.RUNNING:
        return
    client = current_client()
    if retry and waiting_at:
        now_at = client.get_instance(instance.shar_instance_id).current_activities
        if now_at is not None and not set(waiting_at) & set(now_at):
            record_activity(instance, kind, f"{message} by an earlier attempt (it no longer waits at "
                                            f"{', '.join(waiting_at)}): not sent again")
            db.session.commit()
            submit_sync(instance)
            return
    call(client, instance.shar_instance_id)
    record_activity(instance, kind, message)
    db.session.commit()
    submit_sync(instance)
