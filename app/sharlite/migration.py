"""Moving a running instance onto another version's specs with Spiff's diff_workflow / migrate_workflow.

Elements match by id, else through the caller's mapping (old id -> new id). Every element the instance
stands at must have a counterpart, or nothing changes. Passed elements the new version no longer has
are cut out of the instance's history (the tokens keep their variables), so the stored state names
only specs the new version holds.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from app.sharlite import tokens
from app.sharlite.errors import CannotRepair


def migrate_workflow_to(
    registry: Any, workflow: Any, spec: Any, subprocess_specs: dict[str, Any], mapping: dict[str, str], version: int
) -> None:
    unknown = sorted(new for new in mapping.values() if not _known(new, spec, subprocess_specs))
    if unknown:
        raise CannotRepair(f"the mapping names {', '.join(unknown)}, which version {version} does not have")
    top_diff, sp_diffs = diff_workflow(registry, workflow, spec, subprocess_specs)
    _apply_mapping(top_diff, workflow, spec, mapping)
    missing = _standing_without_counterpart(top_diff, workflow)
    for sp_id, sp_diff in sp_diffs.items():
        sub = workflow.subprocesses[sp_id]
        if sp_diff is None:
            missing |= {t.task_spec.bpmn_id for t in tokens.tokens_under(sub.task_tree) if t.task_spec.bpmn_id}
        else:
            _apply_mapping(sp_diff, sub, subprocess_specs[sub.spec.name], mapping)
            missing |= _standing_without_counterpart(sp_diff, sub)
    if missing:
        raise CannotRepair(
            f"version {version} has no counterpart for {', '.join(sorted(missing))}, where the instance stands: "
            "map each to an element of that version, or move the instance first"
        )
    kept = {t.id: dict(t.data) for t in workflow.get_tasks() if t.has_state(tokens.LIVE | TaskState.ERROR)}
    for sp_id, sp_diff in sp_diffs.items():
        sub = workflow.subprocesses[sp_id]
        migrate_workflow(sp_diff, sub, subprocess_specs[sub.spec.name])
        _cut_removed(sub)
    migrate_workflow(top_diff, workflow, spec)
    workflow.subprocess_specs = dict(subprocess_specs)
    _cut_removed(workflow)
    for task in workflow.get_tasks():
        if task.id in kept:  # Spiff's reset copied the parent's data over what the token held
            task.data = kept[task.id]


def _known(element: str, spec: Any, subprocess_specs: dict[str, Any]) -> bool:
    return any(element in s.task_specs for s in [spec, *subprocess_specs.values()])


def _apply_mapping(diff: Any, workflow: Any, spec: Any, mapping: dict[str, str]) -> None:
    """Align each task by its element id, or through `mapping` (with the split/join Spiff derives from the
    element). Spiff's guesses by shape are not taken: an element renamed without a mapping has none."""
    for task in workflow.get_tasks(skip_subprocesses=True):
        name = task.task_spec.name
        old, _, suffix = name.partition(".")
        mapped = spec.task_specs.get(mapping[old] + ("." + suffix if suffix else "")) if old in mapping else None
        aligned = diff.alignment.get(task)
        if mapped is not None:
            diff.alignment[task] = mapped
            if task in diff.removed:
                diff.removed.remove(task)
        elif aligned is not None and aligned.name != name:
            del diff.alignment[task]
            diff.removed.append(task)


def _standing_without_counterpart(diff: Any, workflow: Any) -> set[str]:
    removed = {id(t) for t in diff.removed}
    return {
        t.task_spec.bpmn_id or t.task_spec.name
        for t in tokens.tokens_under(workflow.task_tree)
        if id(t) in removed and t.workflow is workflow
    }


def _cut_removed(workflow: Any) -> None:
    """Tasks whose element the new version lacks: predicted ones are dropped, passed ones are cut out of
    the history with what followed them kept under their parent."""
    for task in list(workflow.tasks.values()):
        if task.id not in workflow.tasks or workflow.spec.task_specs.get(task.task_spec.name) is task.task_spec:
            continue
        parent = task.parent
        if parent is None:
            continue  # the root is Spiff's own start, in every version
        if task.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
            workflow._remove_task(task.id)
            continue
        at = parent._children.index(task.id)
        parent._children[at : at + 1] = task._children
        for child in task.children:
            child.parent = parent
        task._children = []
        workflow.tasks.pop(task.id)
