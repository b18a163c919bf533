"""What a launch reads of a workflow version, and whether it has anything to launch.

A launch reads the newest version of a name: its id, status and summary (the processes and
message starts it checks the request against). A process remembers what it read of an active
version, so a launch asks the database nothing before its one write; the write then checks that
the version is still the newest of its name and unchanged since (`unchanged`, in the same
statement on PostgreSQL), and when it is not, the launch reads it again (app.services.launches).
A file whose every process is marked not executable is a diagram only: read by access (no Launch
offered), display (its label) and launches (a 422 naming the reason)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select

from app.core.extensions import db
from app.core.plain_rows import Condition, known_row
from app.lifecycle.states import WorkflowStatus
from app.models import Workflow

REMEMBERED = 256  # names a process remembers; beyond it, it starts again

# Core, not the ORM: loading the whole row cost more than the query did. Other columns load on use.
_NEWEST = (
    select(Workflow.id, Workflow.name, Workflow.version, Workflow.status, Workflow.summary, Workflow.updated_at)
    .where(Workflow.name == bindparam("name"))
    .order_by(Workflow.version.desc())
    .limit(1)
)
# Every change of a version moves its updated_at (the counts' revision keeps it: app.lifecycle.changes).
_NEWEST_NOW = (
    select(Workflow.id, Workflow.updated_at)
    .where(Workflow.name == bindparam("launch_name"))
    .order_by(Workflow.version.desc())
    .limit(1)
    .subquery("newest")
)
_UNCHANGED = select(_NEWEST_NOW.c.id).where(
    _NEWEST_NOW.c.id == bindparam("launch_version_id"), _NEWEST_NOW.c.updated_at == bindparam("launch_updated_at")
)


def newest_version(name: str, *, remembered: bool = True) -> tuple[Workflow | None, bool]:
    """The newest version of `name` (None: no such name) with what a launch reads of it loaded, and
    whether it is as this process remembered it rather than read now (`remembered=False`: read now)."""
    memory: dict[str, dict[str, Any]] = current_app.extensions.setdefault("sharboard.launchable", {})
    values = memory.get(name) if remembered else None
    if values is not None:
        return known_row(Workflow, dict(values)), True
    row = db.session.connection().execute(_NEWEST, {"name": name}).first()
    if row is None or row.status != WorkflowStatus.ACTIVE:
        memory.pop(name, None)  # only what may be launched is remembered: a refusal is always read now
    else:
        if len(memory) >= REMEMBERED:
            memory.clear()
        memory[name] = row._asdict()
    return (None if row is None else known_row(Workflow, row._asdict())), False


def forget(name: str) -> None:
    current_app.extensions.get("sharboard.launchable", {}).pop(name, None)


def unchanged(workflow: Workflow) -> Condition:
    """The condition of a launch's write: `workflow` is still the newest version of its name, as read."""
    return Condition(
        _UNCHANGED,
        {"launch_name": workflow.name, "launch_version_id": workflow.id, "launch_updated_at": workflow.updated_at},
    )


def diagram_only(workflow: Workflow) -> str | None:
    """Why nothing of `workflow` can be launched, or None when a process of it can. A summary from
    before processes were listed says nothing: the engine decides then."""
    processes = (workflow.summary or {}).get("processes") or []
    if not processes or any(p.get("executable", p.get("is_executable")) for p in processes):
        return None
    what = "its process is" if len(processes) == 1 else f"each of its {len(processes)} processes is"
    return (
        f"{workflow.name} is a diagram only: {what} marked not executable, so there is nothing to launch. "
        "Mark a process as executable in the modelling tool and upload the file again."
    )


def launch_refusal(workflow: Workflow) -> str | None:
    """Why the launch form of `workflow` is disabled, said above it; None when it can be launched."""
    reason = diagram_only(workflow)
    if reason or workflow.status == WorkflowStatus.ACTIVE:
        return reason
    return f"This workflow is {workflow.status}; it can be launched once it is active."
