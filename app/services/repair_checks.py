"""The rules of repairing an instance in SHAR, once for its preview and its operation (services.repairs):
who may, which instances, which elements (read from the stored file, never from SHAR), which variables.

A repair needs SHAR's token: the instance is running there, or failed there (it stands at the element it
failed at); a launch that never reached SHAR has none (its variables are changed by
instances.update_variables instead). One repair at a time per instance: each is a job on the instance
queue, and a second one would be decided on a state the first is about to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.bpmn.names import process_flow_nodes
from app.core.errors import Conflict, InvalidInput
from app.core.extensions import db
from app.lifecycle.states import OPEN_JOB_STATES, REPAIRABLE_INSTANCE, InstanceStatus
from app.models import JobRecord, WorkflowInstance
from app.services import element_names, shar_features
from app.services.access import find_instance, require_repair
from app.services.actors import Actor
from app.services.instances import check_variable_name, check_variables
from app.services.stored_files import PerFile

# The job of each repair (the migration's too: one repair at a time, whichever), as a person reads it.
REPAIR_JOBS = {
    "move_instance": "a move of its token",
    "set_instance_variables": "a change of its variables",
    "migrate_instance": "a migration",
}
MAX_ELEMENTS = 100  # elements a move may name as where it stands (an instance stands at a few)
MAX_REMOVED = 200  # names one edit may remove

_NODES: PerFile[dict[str, dict[str, str]]] = PerFile(lambda root: {} if root is None else process_flow_nodes(root), 256)


def repairable(instance_id: str, *, actor: Actor, call: str, what: str) -> WorkflowInstance:
    """The instance, when `actor` may repair it now with SHAR's `call` (`what`: "move it", ...):
    NotFound when they may not see it, PermissionDenied for a viewer or another's instance, NotOffered
    when this SHAR lacks the call, Conflict when SHAR holds no token of it or a repair is queued."""
    instance = find_instance(instance_id, actor)
    require_repair(actor, instance, what)
    shar_features.require_offered(call)
    if instance.status not in REPAIRABLE_INSTANCE or not instance.shar_instance_id:
        never = instance.status in (InstanceStatus.LAUNCHING, InstanceStatus.FAILED)
        raise Conflict(
            f"instance {instance.id} is {instance.status}"
            + (" and never reached SHAR" if never else "")
            + f": only an instance running in SHAR, or failed there, can {what}"
        )
    refuse_open_repair(instance.id)
    return instance


def refuse_open_repair(instance_id: str) -> None:
    """Conflict while a repair of the instance is queued, running or retrying."""
    queued = db.session.scalars(
        select(JobRecord)
        .where(
            JobRecord.target_type == "instance",
            JobRecord.target_id == instance_id,
            JobRecord.job_type.in_(list(REPAIR_JOBS)),
            JobRecord.state.in_(OPEN_JOB_STATES),
        )
        .order_by(JobRecord.id)
        .limit(1)
    ).first()
    if queued is not None:
        raise Conflict(
            f"{REPAIR_JOBS[queued.job_type]} of instance {instance_id} is already {queued.state} (job {queued.id}); "
            "wait for it to finish"
        )


def process_elements(instance: WorkflowInstance) -> dict[str, str]:
    """{element id: kind} of the flow nodes of the instance's process (all the file's when the row
    names no process: an instance from before processes were recorded)."""
    processes = _NODES.of(instance.workflow)
    if instance.process_id and instance.process_id in processes:
        return processes[instance.process_id]
    return {e: kind for nodes in processes.values() for e, kind in nodes.items()}


def where_it_stands(instance: WorkflowInstance) -> list[str]:
    """Where the instance's tokens are: the elements it waits at, or the one it failed at."""
    return list(instance.current_activities or ())


def check_move(instance: WorkflowInstance, from_: Any, to: Any) -> tuple[tuple[str, ...], str]:
    """`from_` (an element id or a list of them) and `to` as a move of `instance` takes them; InvalidInput
    naming the element that is not where it stands, unknown, or of another process. `to` may be where it
    stands: that retries the element (a failed service task run again, a task entered afresh)."""
    names = element_names.names_of(instance.workflow)
    chosen = _element_list(from_)
    standing = where_it_stands(instance)
    if not standing:
        raise Conflict(f"SHAR has not said where instance {instance.id} stands; sync it first")
    away = [e for e in chosen if e not in standing]
    if away:
        raise InvalidInput.field(
            "from",
            f"instance {instance.id} does not stand at {names.describe_all(away)}; "
            f"it stands at {names.describe_all(standing)}",
        )
    if not isinstance(to, str) or not to.strip():
        raise InvalidInput.field("to", "choose the element to move it to")
    to = to.strip()
    elements = process_elements(instance)
    if to not in elements:
        raise InvalidInput.field("to", _not_in_process(instance, to))
    return tuple(chosen), to


def _element_list(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(e, str) for e in items):
        raise InvalidInput.field("from", "from is an element id, or a list of them")
    chosen = list(dict.fromkeys(e.strip() for e in items if e.strip()))
    if not chosen:
        raise InvalidInput.field("from", "choose where it stands now (the element to move it from)")
    if len(chosen) > MAX_ELEMENTS:
        raise InvalidInput.field("from", f"at most {MAX_ELEMENTS} elements")
    return chosen


def _not_in_process(instance: WorkflowInstance, element: str) -> str:
    """Why `element` is no place for the instance's token: another process's, or no flow node at all."""
    shown = element[:80]
    for process, nodes in _NODES.of(instance.workflow).items():
        if element in nodes:
            return (
                f"{shown} is an element of process {process}, not of this instance's process "
                f"{instance.process_id}; choose one of its own elements"
            )
    return f"{instance.workflow.name} v{instance.workflow.version} has no element {shown!r} to move it to"


def check_edit(instance: WorkflowInstance, set_: Any, remove: Any) -> tuple[dict[str, Any], list[str]]:
    """The variables an edit sets and the names it removes, with launch's checks (types, limits,
    reserved names) and the size limit on what the instance would hold after it."""
    removed = _names(remove)
    remaining = {k: v for k, v in (instance.variables or {}).items() if k not in removed}
    set_ = check_variables(set_, merged_into=remaining)
    both = sorted(set(set_) & set(removed))
    if both:
        raise InvalidInput.field("remove", f"{', '.join(both)[:200]} is both set and removed; choose one")
    unknown = [n for n in removed if n not in (instance.variables or {})]
    if unknown:
        raise InvalidInput.field("remove", f"the instance has no variable {', '.join(unknown)[:200]} to remove")
    if not set_ and not removed:
        raise InvalidInput.field("variables", "nothing to change: set a variable or remove one")
    return set_, removed


def _names(remove: Any) -> list[str]:
    if remove is None:
        return []
    items = [remove] if isinstance(remove, str) else remove
    if not isinstance(items, (list, tuple)) or not all(isinstance(n, str) for n in items):
        raise InvalidInput.field("remove", "remove is a list of variable names")
    if len(items) > MAX_REMOVED:
        raise InvalidInput.field("remove", f"at most {MAX_REMOVED} names at once")
    for name in items:
        try:
            check_variable_name(name)
        except InvalidInput as exc:
            raise InvalidInput.field("remove", exc.message) from None
    return list(dict.fromkeys(items))


def describe(instance: WorkflowInstance, elements: Sequence[str]) -> str:
    return element_names.names_of(instance.workflow).describe_all(elements)
