"""Repairing one instance (contract extensions): move its tokens, edit its variables, migrate it to
another version of its workflow. Each runs under the instance's lock, advances it and stores it; one
that would leave the instance stuck (nothing anyone can send, complete or wait out would move it)
is refused, and nothing is stored.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.sharlite import tokens
from app.sharlite.errors import CannotRepair, NotFound, RepairConflict, Stuck
from app.sharlite.migration import migrate_workflow_to
from app.sharlite.variables import check_sent

# `engine` below is the app.sharlite.engine.Engine calling in (typed Any: the engine imports this module).
Engine = Any


def move(
    engine: Engine, instance_id: str, from_ids: list[str], to_id: str, variables: dict[str, Any] | None
) -> dict[str, Any]:
    check_sent(variables or {}, engine.max_variables_bytes)
    with engine._lock(instance_id):
        record = engine._record(instance_id)
        if record["status"] == "completed":
            raise RepairConflict(f"instance {instance_id} is completed: nothing to move")
        failed = record["status"] == "failed"
        workflow = engine._workflow(record)
        left, target = _move_tokens(workflow, from_ids, to_id, failed=failed)
        if variables:
            target.data.update(deepcopy(variables))
        workflow = _reloaded(engine, workflow)
        record.update(status="running", error=None, completed_at=None, carried_steps=0)
        _advance_or_refuse(engine, workflow, record, engine._loaded(record), f"after moving to {to_id}")
        return {"instance": engine.view(record), "left": left, "entered": [to_id]}


def set_variables(engine: Engine, instance_id: str, set_: dict[str, Any], remove: list[str]) -> dict[str, Any]:
    check_sent(set_, engine.max_variables_bytes)
    with engine._lock(instance_id):
        record = engine._record(instance_id)
        if record["status"] == "completed":
            raise RepairConflict(f"instance {instance_id} is completed: its variables are final")
        workflow = engine._workflow(record)
        holders = [t for t in workflow.get_tasks() if t.has_state(tokens.LIVE) or t.state == TaskState.ERROR]
        for data in [workflow.data, *(t.data for t in holders), record["variables"]]:
            data.update(deepcopy(set_))
            for name in remove:
                data.pop(name, None)
        if record["status"] == "running":
            _advance_or_refuse(engine, workflow, record, engine._loaded(record), "after this change")
        else:  # a failed instance keeps standing where it failed: nothing runs, its variables are stored
            engine._store(workflow, record, workflow.get_tasks())
        return engine.view(record)


def migrate(engine: Engine, instance_id: str, version: int, mapping: dict[str, str]) -> dict[str, Any]:
    with engine._lock(instance_id):
        record = engine._record(instance_id)
        row = engine.store.version(record["workflow_name"], version)
        if row is None:
            raise NotFound(f"workflow {record['workflow_name']} has no version {version}")
        if record["status"] != "running":
            raise RepairConflict(f"instance {instance_id} is {record['status']}: only a running instance migrates")
        if version == record["version"] and not mapping:
            return engine.view(record)
        target = engine._spec(record["workflow_name"], version, row["bpmn_xml"])
        workflow = engine._workflow(record)
        built = target.built.get(workflow.spec.name)
        if built is None:
            raise CannotRepair(
                f"version {version} of {record['workflow_name']} has no executable process "
                f"{workflow.spec.name}, which this instance runs"
            )
        migrate_workflow_to(engine.serializer.registry, workflow, built.spec, built.subprocess_specs, mapping, version)
        workflow = _reloaded(engine, workflow)
        record["version"] = version
        _advance_or_refuse(engine, workflow, record, target, f"on version {version}")
        return engine.view(record)


# -- moving tokens ---------------------------------------------------------------------------
def _move_tokens(workflow: BpmnWorkflow, from_ids: list[str], to_id: str, *, failed: bool) -> tuple[list[str], Any]:
    """Remove the tokens at `from_ids`, place one at `to_id`; returns the elements left and the new token."""
    found = tokens.standing(workflow, failed=failed)
    missing = [f for f in from_ids if f not in found]
    if missing:
        where = ", ".join(sorted(found)) or "nowhere a token can be moved from"
        raise RepairConflict(f"the instance is not at {', '.join(missing)} (it stands at {where})")
    moving = [t for f in dict.fromkeys(from_ids) for t in found[f]]
    owners = {id(t.workflow): t.workflow for t in moving}
    if len(owners) > 1:
        raise CannotRepair("the elements to move from are in different sub-processes: move each one on its own")
    owner = moving[0].workflow
    spec = _target_spec(workflow, owner, to_id, from_ids)
    units = list({id(u): u for u in (tokens.unit(t) for t in moving)}.values())
    data = _merged(moving)
    leaving = tokens.shown(t for u in units for t in tokens.tokens_under(u))
    left = sorted(leaving | set(from_ids))
    prior = _prior_task(owner, spec, units)
    if prior is not None:
        return left, _reset_to(workflow, prior, units, data)
    return left, _graft(workflow, owner, spec, units, data)


def _target_spec(workflow: BpmnWorkflow, owner: Any, to_id: str, from_ids: list[str]) -> Any:
    spec = owner.spec.task_specs.get(to_id)
    if spec is None or spec.bpmn_id != to_id:
        elsewhere = [
            s.name
            for s in [workflow.spec, *workflow.subprocess_specs.values()]
            if s is not owner.spec and to_id in s.task_specs
        ]
        if elsewhere:
            raise CannotRepair(
                f"{to_id} is inside another (sub-)process ({elsewhere[0]}) than {', '.join(from_ids)} "
                f"({owner.spec.name}): a token moves only within its own (sub-)process"
            )
        raise CannotRepair(f"{to_id} is not an element of process {owner.spec.name}")
    reason = tokens.refused_target(spec)
    if reason:
        raise CannotRepair(reason)
    return spec


def _prior_task(owner: Any, spec: Any, units: list[Any]) -> Any | None:
    """The task of `spec` on the path that led to the tokens (nearest first): "retry from" it."""
    best = None
    for task in owner.get_tasks(spec_name=spec.name, skip_subprocesses=True):
        if task.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
            continue  # the path ahead, not yet reached
        on_path = any(u is task or u.is_descendant_of(task) or task.parent is u for u in units)
        if on_path and (best is None or task.depth > best.depth):
            best = task
    return best


def _reset_to(workflow: BpmnWorkflow, prior: Any, units: list[Any], data: dict[str, Any]) -> Any:
    """Retry from `prior`: Spiff's reset drops what followed it; every token there must be moved too."""
    moved = {id(t) for u in units for t in u}
    others = sorted(tokens.shown(t for t in tokens.tokens_under(prior) if id(t) not in moved))
    if others:
        raise CannotRepair(
            f"going back to {prior.task_spec.bpmn_id} also takes the tokens at {', '.join(others)}: "
            "move them too (list them in from)"
        )
    strays = [u for u in units if not (u is prior or u.is_descendant_of(prior) or prior.parent is u)]
    if strays:
        raise CannotRepair(
            f"{', '.join(sorted(_named(u) for u in strays))} did not lead to "
            f"{prior.task_spec.bpmn_id}: move those tokens on their own"
        )
    workflow.reset_from_task_id(prior.id, data=deepcopy(data))
    target = workflow.get_task_from_id(prior.id)
    _reopen(target.workflow)
    return target


def _graft(workflow: BpmnWorkflow, owner: Any, spec: Any, units: list[Any], data: dict[str, Any]) -> Any:
    """Place a new token at an element not reached yet (or on another branch), in the tokens' place."""
    moved = {id(t) for u in units for t in u}
    others = [t for t in owner.get_tasks(state=tokens.LIVE, skip_subprocesses=True) if id(t) not in moved]
    placed = tokens.placed_spec(spec)
    ahead = tokens.joins_ahead(placed)
    if others:
        differing = [u for u in units if tokens.joins_ahead(u.task_spec) != ahead]
        if differing:
            shown = ", ".join(sorted({t.task_spec.bpmn_id or t.task_spec.name for t in others}))
            raise CannotRepair(
                f"{spec.bpmn_id} is on another parallel branch than {_named(differing[0])}, while tokens at "
                f"{shown} still run: the branches would never join. Move them together"
            )
    elif ahead:
        join = sorted(name for name, _ in ahead)[0]
        raise CannotRepair(
            f"{spec.bpmn_id} lies on a parallel branch that joins at {join}: a token there alone would wait "
            f"at {join} for ever"
        )
    parent = units[0].parent
    for u in units:
        _cancel_waits(workflow, u)
        owner._remove_task(u.id)
    task = parent._add_child(placed, TaskState.FUTURE)
    task.data = deepcopy(data)
    placed._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    placed._update(task)
    task.data.update(deepcopy(data))  # the parent's older values must not win over the token's
    _reopen(owner)
    return task


def _named(unit: Any) -> str:
    """The element a token's unit stands for (an activity's, not its boundary split's, id)."""
    return ", ".join(sorted(tokens.shown(tokens.tokens_under(unit)))) or str(
        unit.task_spec.bpmn_id or unit.task_spec.name
    )


def _cancel_waits(workflow: BpmnWorkflow, task: Any) -> None:
    for t in task:
        workflow.event_manager.remove_task(t)
        if t.id in workflow.subprocesses:
            workflow.delete_subprocess(t)


def _reopen(owner: Any) -> None:
    """A workflow that ended (an error end event) runs again once it holds a token."""
    current = owner
    while current is not None:
        current.completed = False
        current = current.parent_workflow


def _merged(moving: list[Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for task in sorted(moving, key=lambda t: t.last_state_change):
        data.update(task.data)
    return data


# -- after the change ---------------------------------------------------------------------------
def _reloaded(engine: Engine, workflow: BpmnWorkflow) -> BpmnWorkflow:
    """The workflow as stored and read again: Spiff rebuilds what waits for events from the tree, and a
    state that could not be stored is refused now rather than failing the instance later."""
    try:
        state = engine.serializer.serialize_json(workflow)
        reloaded = engine.serializer.deserialize_json(state)
    except Exception as exc:  # noqa: BLE001 - whatever Spiff says: the change is refused, nothing stored
        raise CannotRepair(f"the engine cannot keep the instance in that state ({exc})") from None
    reloaded.script_engine = engine.script_engine
    return reloaded


def _advance_or_refuse(engine: Engine, workflow: BpmnWorkflow, record: dict[str, Any], loaded: Any, when: str) -> None:
    try:
        engine._advance(workflow, record, loaded, refuse_stuck=True)
    except Stuck as exc:
        raise CannotRepair(f"{when} nothing could move the instance on: {exc}") from None
