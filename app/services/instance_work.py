"""The work of the instance jobs (app.tasks calls these, with ids): launch in SHAR and apply its
answer (adopting what an earlier request made), complete a task or deliver a message there, and
what a failed or retried job leaves on the instance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.core.errors import NotFound
from app.core.extensions import commit_keeping_loaded, db
from app.jobs.errors import RetryableJobError
from app.lifecycle.changes import change_status, record_activity
from app.lifecycle.durations import parse_shar_time
from app.lifecycle.events import (
    Pending,
    fire,
    instance_completed,
    instance_failed,
    instance_launch_failed,
    instance_launched,
)
from app.lifecycle.states import InstanceStatus
from app.models import WorkflowInstance
from app.models._base import utcnow
from app.services import element_names, shar_listing, story, variable_sizes
from app.services.correlation import CORRELATION_VARIABLE, LaunchOf, adoptable, tagged, untagged
from app.services.instances import hold_instance, refuse_open_completion
from app.services.rows import required
from app.services.sync import submit_sync
from app.shar import SharClient, SharError, SharInstance, SharUnavailable, current_client


def _instance(instance_id: str) -> WorkflowInstance:
    return required(WorkflowInstance, instance_id, "instance")


# The rows to launch with their workflows (whose names are sent), in one read; built once, as every
# launch runs it (one row alone, or many when launches run together: app.jobs.together).
_LAUNCHING = (
    select(WorkflowInstance)
    .options(joinedload(WorkflowInstance.workflow))
    .where(WorkflowInstance.id.in_(bindparam("instance_ids", expanding=True)))
)


def launch_in_shar(instance_id: str, *, tries_before: int = 0, tried_until: datetime | None = None) -> Pending | None:
    """Launch the instance in SHAR, tagged with its id; returns the events to fire once the job's
    success (with the status change, uncommitted here) is committed.

    A request may have reached SHAR before this one when the row counts one (`launch_requests`) or
    the job tried before (`tries_before`: its attempt rows are committed before each call, so a
    worker killed mid-call still leaves them). Such a re-send first asks SHAR for an instance
    carrying this row's id and adopts the earliest its launch may have made (correlation.adoptable:
    same workflow, made after the row, tracked by no other row) instead of launching a second one.
    `tried_until`: when the job's earlier try ended (a list of SHAR's instances asked for after it
    answers the question, shared by the re-sends of this process: services.shar_listing).
    """
    instance = db.session.scalars(_LAUNCHING, {"instance_ids": [instance_id]}).unique().one_or_none()
    if instance is None:
        raise NotFound(f"no instance {instance_id}")
    if instance.status != InstanceStatus.LAUNCHING:
        return None
    client = current_client()
    events = Pending()
    sent = max(instance.launch_requests, tries_before)
    if sent:
        adopted, passed = _adopt_earlier_launch(instance, client, events, sent=sent, tried_until=tried_until)
        if adopted:
            return events
        # The earlier request may still reach SHAR; say so rather than hide a possible duplicate.
        record_activity(
            instance,
            "launch_resent",
            f"launch request {sent + 1} sent; no instance of an earlier request "
            "was found in SHAR" + (f" ({len(passed)} carrying its id passed over)" if passed else ""),
            passed_over=passed,
        )
        instance.launch_requests = sent + 1
        commit_keeping_loaded()  # a re-send is counted before it is sent, as a first request is by its attempt
    _apply_launch_answer(instance, send_launch(launch_request(instance, client)), events, requests=sent + 1)
    return events


@dataclass(frozen=True)
class LaunchRequest:
    """A placeholder's launch request as sent: read in the job's own thread, so that sending it
    (send_launch, on a thread of its own when launches run together) needs no session or app."""

    instance: WorkflowInstance
    client: SharClient
    workflow_name: str
    variables: dict[str, Any]
    process_id: str | None
    message: str | None


def launch_request(instance: WorkflowInstance, client: SharClient) -> LaunchRequest:
    """The launch request for the placeholder, tagged with its id."""
    return LaunchRequest(
        instance,
        client,
        instance.workflow.name,
        tagged(instance.variables, instance.id),
        instance.process_id,
        instance.start_message,
    )


def send_launch(request: LaunchRequest) -> SharInstance:
    """Send the launch request; SHAR's answer (nothing is written)."""
    return request.client.launch_instance(
        request.workflow_name, request.variables, process_id=request.process_id, message=request.message
    )


def first_launches(jobs: Sequence[Any]) -> dict[int, LaunchRequest]:
    """The requests of these launch jobs' placeholders that a first request launches, by job id, in
    one read: no request of theirs can have reached SHAR yet, so none needs the adoption check of
    launch_in_shar. Those left out (re-sends, a row cancelled or gone) go through launch_in_shar."""
    by_instance = {job.target_id: job.id for job in jobs if job.tries_before == 0}
    rows = db.session.scalars(_LAUNCHING, {"instance_ids": list(by_instance)}).unique()
    client = current_client()
    return {
        by_instance[row.id]: launch_request(row, client)
        for row in rows
        if row.status == InstanceStatus.LAUNCHING and not row.launch_requests
    }


def apply_first_launch(request: LaunchRequest, answer: SharInstance) -> Pending:
    """Write the answer to a first launch request (uncommitted); the events to fire after the commit."""
    events = Pending()
    _apply_launch_answer(request.instance, answer, events, requests=1)
    return events


def _adopt_earlier_launch(
    instance: WorkflowInstance, client: SharClient, events: Pending, *, sent: int, tried_until: datetime | None
) -> tuple[bool, dict[str, str]]:
    """Adopt the instance an earlier launch request of this row made in SHAR, if SHAR lists one its
    launch may have made (_adoptable); returns whether it did, and the instances passed over.

    A lookup that fails with SHAR reachable (an error of that call, an answer off the contract)
    fails the attempt, retried as a whole: a launch is sent again only once SHAR has answered that
    it has none, and a lookup never fails the launch for good by itself. An outage goes up as it
    is: the runner holds the job."""
    try:
        listed = shar_listing.instances_carrying(client, CORRELATION_VARIABLE, instance.id, tried_until=tried_until)
    except SharUnavailable:
        raise
    except SharError as exc:
        raise RetryableJobError(
            f"could not look in SHAR for the instance of an earlier launch request ({exc}); nothing was sent again"
        ) from exc
    found, passed = _adoptable(instance, listed)
    if not found:
        return False, passed
    answer = found[0]
    record_activity(
        instance,
        "launch_adopted",
        f"an earlier launch request reached SHAR: its instance {answer.id} is adopted and the launch is not sent again",
        shar_instance_id=answer.id,
        launch_requests=sent,
        others=[i.id for i in found[1:]],
        passed_over=passed,
    )
    _apply_launch_answer(instance, answer, events, requests=sent)
    return True, passed


def _adoptable(instance: WorkflowInstance, found: list[SharInstance]) -> tuple[list[SharInstance], dict[str, str]]:
    """correlation.adoptable for this row: its workflow, SHAR's version of it, its process, its creation,
    and the SHAR ids of `found` that other rows track."""
    shar_version = (instance.workflow.shar_response or {}).get("version")
    tracked = (
        set(
            db.session.scalars(
                select(WorkflowInstance.shar_instance_id).where(
                    WorkflowInstance.shar_instance_id.in_([i.id for i in found]), WorkflowInstance.id != instance.id
                )
            )
        )
        if found
        else set()
    )
    launch = LaunchOf(
        instance.id,
        instance.workflow.name,
        shar_version if isinstance(shar_version, int) else None,
        instance.process_id,
        instance.created_at,
    )
    return adoptable(found, launch, tracked)


def _apply_launch_answer(instance: WorkflowInstance, answer: SharInstance, events: Pending, *, requests: int) -> None:
    """Use the launch answer's status and times (uncommitted: the caller commits, then fires
    `events`): an instance that ended during its launch ends here, and its completion (or failure)
    event fires once, with the launch event. `requests`: how many launch requests were sent."""
    now = utcnow()
    values: dict[str, Any] = {
        "shar_instance_id": answer.id,
        "launched_at": now,
        "last_synced_at": now,
        "launch_requests": requests,
        "shar_created_at": parse_shar_time(answer.created_at),
        "current_activities": list(answer.current_activities or ()),
        "variables": variable_sizes.kept_of(instance, untagged(answer.variables)) or instance.variables,
    }
    if instance.status == InstanceStatus.CANCELLED:  # cancelled before the answer came back
        _keep_launched_after_cancel(instance, answer)
        return
    story.note_path(instance, values["current_activities"], answer.completed_activities)
    if answer.status == "completed":
        values.update(completed_at=now, shar_completed_at=parse_shar_time(answer.completed_at))
        ended = change_status(
            instance, InstanceStatus.COMPLETED, message="completed during its launch", commit=False, **values
        )
        if ended:
            events.add(instance_launched, instance, shar_response=answer.raw)
            events.add(instance_completed, instance)
            return
    elif answer.status == "failed":
        error = answer.error or "SHAR reports the instance failed"
        values.update(completed_at=now, error=error, shar_completed_at=parse_shar_time(answer.completed_at))
        if answer.failed_activities:  # where it stands failed (sync_state._ended_in_shar reads it so too)
            values["current_activities"] = list(answer.failed_activities)
        if change_status(instance, InstanceStatus.FAILED, message="failed during its launch", commit=False, **values):
            events.add(instance_launched, instance, shar_response=answer.raw)
            events.add(instance_failed, instance, error_message=error)
            return
    elif change_status(instance, InstanceStatus.RUNNING, commit=False, **values):
        events.add(instance_launched, instance, shar_response=answer.raw)
        return
    if instance.status == InstanceStatus.CANCELLED:  # the status change lost to a cancel
        _keep_launched_after_cancel(instance, answer)


def _keep_launched_after_cancel(instance: WorkflowInstance, answer: SharInstance) -> None:
    """Cancelled while the launch was on its way: SHAR has it (the gateway has no cancel), so the
    row keeps its SHAR id and says so, instead of losing track of an instance that runs."""
    if not instance.shar_instance_id:
        instance.shar_instance_id = answer.id
        record_activity(
            instance,
            "launched_after_cancel",
            f"SHAR had already started it as {answer.id} when it "
            "its tracking was stopped; it runs there, untracked (SHAR has no call to stop an instance)",
            shar_instance_id=answer.id,
        )
        db.session.commit()


def launch_failed(instance_id: str, error: str, *, tries: int = 0) -> None:
    """The launch's last attempt failed. When a request may have been sent (the row counts one, or
    the job made `tries`), SHAR is asked once more for what it made (the attempts may have run out
    while SHAR was slow to answer them), so a launch SHAR runs does not end failed here; when SHAR
    cannot say, the timeline says a retry looks first."""
    instance = _instance(instance_id)
    sent = max(instance.launch_requests, tries)
    if instance.status == InstanceStatus.LAUNCHING and sent and _adopted_at_last(instance, sent):
        return
    if change_status(instance, InstanceStatus.FAILED, error=error, launch_requests=sent):
        fire(instance_launch_failed, instance, error_message=error)


def _adopted_at_last(instance: WorkflowInstance, sent: int) -> bool:
    events = Pending()
    try:
        adopted = _adopt_earlier_launch(instance, current_client(), events, sent=sent, tried_until=None)[0]
    except Exception:  # noqa: BLE001 - the failure handler's own lookup: any failure leaves it to a retry
        db.session.rollback()
        record_activity(
            instance,
            "launch_unknown",
            "SHAR did not say whether an earlier launch request made "
            "an instance; a retry looks for it first and adopts it, never launching a second one",
        )
        return False  # the entry is committed with the failure
    if adopted:
        db.session.commit()
        events()
    return adopted


def launch_retried(instance_id: str) -> None:
    instance = _instance(instance_id)
    if instance.status == InstanceStatus.FAILED:
        # Committed with the job's move by the caller (failed_jobs), never apart from it.
        change_status(instance, InstanceStatus.LAUNCHING, error=None, message="retried", commit=False)


def completion_retried(instance_id: str) -> None:
    """An operator retries a failed completion: refused while another completion of the instance is
    queued, running or retrying (complete_task's rule: only one of them could apply)."""
    hold_instance(instance_id)
    refuse_open_completion(instance_id)  # the caller rolls back (a savepoint, when it retries many)


def complete_task_in_shar(
    instance_id: str, variables: dict[str, Any] | None, *, waiting_at: Sequence[str] = (), retry: bool = False
) -> None:
    """Complete the waiting task in SHAR, then sync at once so the new state shows."""
    _act_in_shar(
        instance_id,
        lambda client, shar_id: client.complete_instance(shar_id, variables or None),
        "task_completed",
        "waiting task completed in SHAR",
        waiting_at=waiting_at,
        retry=retry,
    )


def deliver_message_in_shar(
    instance_id: str,
    name: str,
    variables: dict[str, Any] | None,
    *,
    waiting_at: Sequence[str] = (),
    retry: bool = False,
) -> None:
    """Deliver the message in SHAR, then sync at once so the new state shows."""
    _act_in_shar(
        instance_id,
        lambda client, shar_id: client.deliver_message(shar_id, name, variables or {}),
        "message_delivered",
        f"message {name} delivered in SHAR",
        waiting_at=waiting_at,
        retry=retry,
    )


def act_failed(instance_id: str, what: str, error: str) -> None:
    """A completion or message delivery failed for good: the instance's timeline says so."""
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is not None:
        record_activity(instance, "action_failed", f"{what} failed: {error}", error=error)
        db.session.commit()


def _act_in_shar(
    instance_id: str,
    call: Callable[[Any, str], object],
    kind: str,
    message: str,
    *,
    waiting_at: Sequence[str] = (),
    retry: bool = False,
) -> None:
    """Make one SHAR call for a running instance, record it, and queue a sync to show its effect.

    The call names no element (SHAR's complete takes none), so every attempt first asks SHAR whether
    an element the request was for (`waiting_at`) still waits. A retried attempt's earlier try may
    have reached SHAR before it was cut off (a timeout, a killed worker); a first attempt may come
    from a view older than SHAR (the row's sync still queued, or an earlier job whose record failed
    after its call went through): either way, calling would complete the next task or deliver the
    message twice. When none waits, nothing is sent; when SHAR reports no activities, the call is made."""
    instance = _instance(instance_id)
    if instance.status != InstanceStatus.RUNNING:
        return
    client = current_client()
    if waiting_at:
        now_at = client.get_instance(instance.shar_instance_id).current_activities
        if now_at is not None and not set(waiting_at) & set(now_at):
            names = element_names.names_of(instance.workflow)
            if retry:
                note = f"{message} by an earlier attempt (it no longer waits at {names.describe_all(waiting_at)})"
                record_activity(instance, kind, note + ": not sent again")
            else:
                record_activity(
                    instance,
                    "action_not_sent",
                    f"not sent: it no longer waits at {names.describe_all(waiting_at)}, it is at "
                    f"{names.describe_all(now_at) if now_at else 'no element'} now; the request was made "
                    "before that showed here, ask again if it was meant for where it waits now",
                )
            db.session.commit()
            submit_sync(instance)
            return
    call(client, instance.shar_instance_id)
    record_activity(instance, kind, message)
    db.session.commit()
    submit_sync(instance)
