"""Launching an instance: the request's checks and its one write (the placeholder, its timeline and
audit entries, its job); the SHAR call is its job's (app.services.instance_work)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.config import current_settings
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.extensions import db
from app.core.plain_rows import NotWritten
from app.jobs.dispatch import submit
from app.lifecycle.changes import record_activity
from app.lifecycle.states import InstanceStatus, WorkflowStatus
from app.models import JobRecord, Workflow, WorkflowInstance
from app.models._base import new_uuid
from app.services import launchable
from app.services.access import require_writer
from app.services.actors import Actor
from app.services.audit import audit
from app.services.callbacks import check_callback
from app.services.instances import check_message_name, check_variables
from app.services.outcomes import Outcome, settled


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
class _Asked:
    """What a launch asks for, checked but for what depends on the version."""

    actor: Actor
    variables: dict[str, Any]
    callback_url: str | None
    async_: bool
    process_id: Any
    message: Any


def launch_instance(
    workflow_name: str,
    variables: Any = None,
    *,
    actor: Actor,
    callback_url: str | None = None,
    async_: bool | None = None,
    process_id: str | None = None,
    message: Any = None,
) -> Launched:
    """Store a `launching` placeholder with a new UUID and launch it in SHAR (in a job by default).

    `process_id` chooses the process of a file with several; it defaults to the only executable one.
    `message` starts the instance by that message, at its process's message start event.
    The newest version is checked as this process remembers it; when the write finds it changed, or
    a check refuses it, the launch is checked again against the version read now."""
    require_writer(actor)
    asked = _Asked(
        actor,
        check_variables(variables),
        check_callback(callback_url),
        current_settings().shar_async_enabled if async_ is None else async_,
        process_id,
        message,
    )
    workflow, remembered = launchable.newest_version(workflow_name)
    try:
        return _launched(workflow_name, workflow, asked, remembered=remembered)
    except _Stale:
        db.session.rollback()  # nothing was written
        launchable.forget(workflow_name)
    workflow, _ = launchable.newest_version(workflow_name, remembered=False)
    return _launched(workflow_name, workflow, asked, remembered=False)


class _Stale(Exception):
    """The remembered version refused the launch, or its write found it changed: nothing was written,
    and the launch is checked again against the version read now."""


def _launched(workflow_name: str, workflow: Workflow | None, asked: _Asked, *, remembered: bool) -> Launched:
    """Check the launch against `workflow` and store it, on the condition that the version is as read.
    Only the checks and the write can be _Stale: what an inline job raises after the commit is not."""
    try:
        workflow, process_id, message = _checked(workflow_name, workflow, asked)
    except (InvalidInput, Conflict):
        if remembered:
            raise _Stale from None
        raise
    # Its id made here, not at a flush: the placeholder, its timeline entry, the audit entry and the
    # job are written by the job's one commit.
    instance = WorkflowInstance(
        id=new_uuid(),
        workflow=workflow,
        status=InstanceStatus.LAUNCHING,
        variables=asked.variables,
        created_by=asked.actor.id,
        callback_url=asked.callback_url,
        process_id=process_id,
        start_message=message,
    )
    db.session.add(instance)
    record_activity(
        instance,
        "placeholder_created",
        f"launch of {workflow.name} v{workflow.version}"
        + (f" (process {process_id})" if process_id else "")
        + (f" by message {message}" if message else "")
        + " queued",
    )
    audit(
        asked.actor,
        "instance.launch",
        "instance",
        instance.id,
        after={"workflow": workflow.name, "version": workflow.version, "process_id": process_id, "message": message},
    )
    try:
        job = submit(
            "launch_instance",
            target_type="instance",
            target_id=instance.id,
            created_by=asked.actor.id,
            inline=not asked.async_,
            only_if=launchable.unchanged(workflow),
        )
    except NotWritten:
        if remembered:
            raise _Stale from None
        raise Conflict(
            f"workflow {workflow_name!r} changed while it was being launched (a new version, or a change of "
            "its status); nothing was stored: launch it again"
        ) from None
    return Launched(instance, job, asked.async_)


def _checked(workflow_name: str, workflow: Workflow | None, asked: _Asked) -> tuple[Workflow, str | None, str | None]:
    """The workflow to launch, and the process and start message the launch asks for; refused as
    NotFound, InvalidInput or Conflict."""
    if workflow is None:
        raise NotFound(f"no workflow named {workflow_name!r}")
    nothing_to_launch = launchable.diagram_only(workflow)
    if nothing_to_launch:
        raise InvalidInput.field("workflow", nothing_to_launch)
    if workflow.status != WorkflowStatus.ACTIVE:
        raise Conflict(f"workflow {workflow_name!r} is {workflow.status}; only an active workflow can be launched")
    process_id = choose_process(workflow, asked.process_id)
    return workflow, process_id, check_start_message(workflow, process_id, asked.message)


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
        raise InvalidInput.field(
            "message",
            f"process {process_id} of {workflow.name} has no message start event for "
            f"message {name!r}; "
            + (f"its message starts: {', '.join(starts)}" if starts else "it starts without a message"),
        )
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
        if not executable:  # a summary from before processes were listed (launchable.diagram_only refused the rest)
            return None
        raise InvalidInput.field(
            "process_id",
            f"{workflow.name} has {len(executable)} executable processes; choose one with process_id: {choices}",
        )
    known = {p["id"]: p for p in processes}
    if process_id not in known:
        raise InvalidInput.field(
            "process_id", f"{workflow.name} has no process {process_id!r}; choose one of: {choices}"
        )
    if process_id not in executable:
        raise InvalidInput.field(
            "process_id",
            f"process {process_id} is marked not executable "
            '(isExecutable="false"): it is kept as a diagram and cannot be launched; '
            f"executable processes: {choices}",
        )
    return process_id
