"""Repairing a running (or failed) instance in SHAR instead of starting over: move its token ("retry
from an activity") and change its variables. Each is a preview of what it will do, computed from what
sharboard stores (the workflow's file, where the instance stands, its variables) without asking SHAR,
and an operation that checks the same rules (repair_checks), records its timeline and audit entries
and queues its job in one transaction; the job (repair_work) makes the SHAR call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.core.errors import SharboardError
from app.core.extensions import db
from app.jobs.dispatch import submit
from app.lifecycle.changes import record_activity
from app.lifecycle.states import InstanceStatus
from app.models import JobRecord, WorkflowInstance
from app.services import element_names
from app.services.actors import Actor
from app.services.audit import audit
from app.services.instances import check_variables, hold_instance
from app.services.repair_checks import check_edit, check_move, describe, process_elements, repairable, where_it_stands

MOVE, VARIABLES = "move", "variables"  # their SHAR calls (shar_features)
MOVE_WHAT, EDIT_WHAT = "have its token moved", "have its variables changed"
T = TypeVar("T")


@dataclass(frozen=True)
class MovePreview:
    """What a move will do: the elements it leaves and enters, the variables it keeps and sets."""

    instance: WorkflowInstance
    from_: tuple[str, ...]
    to: str
    kept: tuple[str, ...]  # names of the variables it keeps as they are
    set_: dict[str, Any] = field(default_factory=dict)  # variables set at the new token

    @property
    def left(self) -> tuple[str, ...]:
        return self.from_

    @property
    def names(self) -> element_names.ElementNames:
        return element_names.names_of(self.instance.workflow)

    @property
    def entered(self) -> tuple[str, ...]:
        return (self.to,)

    @property
    def runs_again(self) -> bool:
        """A failed instance moved off the element it failed at runs again."""
        return self.instance.status == InstanceStatus.FAILED

    @property
    def summary(self) -> str:
        """The preview in one sentence: "leaves X, enters Y, keeps variables a, b"."""
        names = self.names
        kept = ", ".join(self.kept) if self.kept else "none"
        said = f"leaves {names.describe_all(self.left)}, enters {names.describe(self.to)}, keeps variables {kept}"
        if self.set_:
            said += f", sets {', '.join(self.set_)}"
        return said + ("; the failed instance runs again" if self.runs_again else "")


@dataclass(frozen=True)
class VariableEdit:
    """An edit's old -> new diff per name: added {name: new}, changed {name: (old, new)}, removed
    {name: old}, and how many variables it leaves as they are."""

    instance: WorkflowInstance
    set_: dict[str, Any]
    remove: tuple[str, ...]
    added: dict[str, Any]
    changed: dict[str, tuple[Any, Any]]
    removed: dict[str, Any]
    unchanged: int

    @property
    def summary(self) -> str:
        parts = [f"{label} {', '.join(group)}" for label, group in self._groups() if group]
        return "; ".join(parts) + f"; {self.unchanged} unchanged" if parts else "changes nothing"

    def _groups(self) -> list[tuple[str, list[str]]]:
        return [("adds", list(self.added)), ("changes", list(self.changed)), ("removes", list(self.removed))]


# -- move --------------------------------------------------------------------------------


def preview_move(instance_id: str, from_: Any, to: Any, *, actor: Actor, variables: Any = None) -> MovePreview:
    """What moving the instance's token from `from_` (where it stands) to `to` will do; refused as the
    move itself would be (repair_checks)."""
    instance = repairable(instance_id, actor=actor, call=MOVE, what=MOVE_WHAT)
    return _move_preview(instance, from_, to, variables)


def _move_preview(instance: WorkflowInstance, from_: Any, to: Any, variables: Any) -> MovePreview:
    chosen, to = check_move(instance, from_, to)
    set_ = check_variables(variables, merged_into=instance.variables)
    kept = tuple(name for name in (instance.variables or {}) if name not in set_)
    return MovePreview(instance, chosen, to, kept, set_)


def move_instance(
    instance_id: str, from_: Any, to: Any, *, actor: Actor, variables: Any = None
) -> tuple[MovePreview, JobRecord]:
    """Queue the move the preview describes (checked again, under the instance's hold, so two
    requests decide one after the other); its timeline entry, audit entry and job commit together."""
    preview = _under_hold(instance_id, actor, MOVE, MOVE_WHAT, lambda i: _move_preview(i, from_, to, variables))
    instance = preview.instance
    said = f"from {describe(instance, preview.left)} to {describe(instance, preview.entered)}"
    record_activity(
        instance, "move_requested", f"move {said} requested by {actor.email}", by=actor.email, summary=preview.summary
    )
    audit(
        actor,
        "instance.move",
        "instance",
        instance.id,
        before={"status": instance.status, "at": list(preview.left)},
        after={"at": list(preview.entered), "variables": preview.set_},
    )
    job = submit(
        "move_instance",
        target_type="instance",
        target_id=instance.id,
        created_by=actor.id,
        payload={"from": list(preview.left), "to": preview.to, "variables": preview.set_, "by": actor.email},
    )
    return preview, job


# -- variables ---------------------------------------------------------------------------


def preview_variable_edit(instance_id: str, set_: Any, remove: Any, *, actor: Actor) -> VariableEdit:
    """The old -> new diff of setting `set_` and removing `remove` on the instance in SHAR."""
    instance = repairable(instance_id, actor=actor, call=VARIABLES, what=EDIT_WHAT)
    return _edit(instance, set_, remove)


def _edit(instance: WorkflowInstance, set_: Any, remove: Any) -> VariableEdit:
    set_, removed = check_edit(instance, set_, remove)
    old = instance.variables or {}
    added = {k: v for k, v in set_.items() if k not in old}
    changed = {k: (old[k], v) for k, v in set_.items() if k in old and old[k] != v}
    gone = {k: old[k] for k in removed}
    unchanged = len(old) - len(changed) - len(gone)
    return VariableEdit(instance, set_, tuple(removed), added, changed, gone, unchanged)


def edit_variables(instance_id: str, set_: Any, remove: Any, *, actor: Actor) -> tuple[VariableEdit, JobRecord]:
    """Queue the edit the preview describes; its timeline entry, audit entry (old and new values) and
    job commit together."""
    edit = _under_hold(instance_id, actor, VARIABLES, EDIT_WHAT, lambda i: _edit(i, set_, remove))
    instance = edit.instance
    record_activity(instance, "variables_edit_requested", f"variable change requested by {actor.email}: {edit.summary}")
    audit(
        actor,
        "instance.edit_variables",
        "instance",
        instance.id,
        before={"variables": {**{k: old for k, (old, _) in edit.changed.items()}, **edit.removed}},
        after={"variables": {**edit.added, **{k: new for k, (_, new) in edit.changed.items()}}, "removed": edit.remove},
    )
    job = submit(
        "set_instance_variables",
        target_type="instance",
        target_id=instance.id,
        created_by=actor.id,
        payload={"set": edit.set_, "remove": list(edit.remove), "by": actor.email},
    )
    return edit, job


def _under_hold(instance_id: str, actor: Actor, call: str, what: str, build: Callable[[WorkflowInstance], T]) -> T:
    """`build` (a preview, which checks what was asked) on the instance as it is under the instance's
    hold: refused before the hold is taken when it can be, so a refusal holds nothing; checked again
    under it, since a job or another request may have changed the instance meanwhile."""
    build(repairable(instance_id, actor=actor, call=call, what=what))
    hold_instance(instance_id)
    db.session.expire_all()
    try:
        return build(repairable(instance_id, actor=actor, call=call, what=what))
    except SharboardError:
        db.session.rollback()  # let go of the instance at once
        raise


@dataclass(frozen=True)
class MoveChoices:
    """What the page's move form offers: where the instance stands (from) and the elements of its
    process (to), each (id, label) by label; empty unless it stands somewhere."""

    from_: list[tuple[str, str]]
    to: list[tuple[str, str]]


def move_choices(instance: WorkflowInstance) -> MoveChoices:
    names = element_names.names_of(instance.workflow)
    standing = where_it_stands(instance)
    if not standing:
        return MoveChoices([], [])
    elements = process_elements(instance)
    to = [(e, label) for e, label in names.choices() if e in elements]
    to += [(e, e) for e in elements if e not in names.names]  # a node the name reader did not list
    return MoveChoices([(e, names.describe(e)) for e in standing], to)
