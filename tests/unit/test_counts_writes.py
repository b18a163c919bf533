"""Every Core UPDATE or DELETE of instances in app/ moves the diagram counts' version
(app.lifecycle.changes.counts_changed, or counts_changed_at_commit) in the same function: the unit
of work's writes move it by themselves (its flush listener), statements run past it do not, so a
new one must say so. A scan of
the source: tests/integration/test_counts_version.py proves each existing kind moves it."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
# Functions whose statement changes nothing a count reads.
EXEMPT = {"hold_instance": "sets updated_at to itself, to take SQLite's write lock"}
# Functions that only build a statement (once, cached): checked in the function that runs it.
BUILDERS = {"_status_update": "change_status", "_progress_update": "_write_progress"}


def _writes_instances(node: ast.AST) -> bool:
    """A call update(WorkflowInstance) or delete(WorkflowInstance), or update(model) as change_status's."""
    if (  # table.update() / table.delete(), the Core form on the instances' table
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("update", "delete")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "table"
    ):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("update", "delete")
        and bool(node.args)
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in ("WorkflowInstance", "model", "table")
    )


def _calls(function: ast.AST, name: str) -> bool:
    calls = (n for n in ast.walk(function) if isinstance(n, ast.Call))
    return any(isinstance(call.func, ast.Name) and call.func.id == name for call in calls)


def test_each_core_write_of_instances_moves_the_counts_version() -> None:
    writers, silent = set(), []
    for path in APP.rglob("*.py"):
        functions = {f.name: f for f in ast.walk(ast.parse(path.read_text())) if isinstance(f, ast.FunctionDef)}
        for name, function in functions.items():
            if not any(map(_writes_instances, ast.walk(function))):
                continue
            runner = BUILDERS.get(name, name)
            writers.add(runner)
            moves = _calls(functions[runner], "counts_changed") or _calls(functions[runner], "counts_changed_at_commit")
            if runner not in EXEMPT and not moves:
                silent.append(f"{path.relative_to(APP.parent)}: {runner}")
    assert silent == []
    # The scan finds what it should: the status change, the sync's progress, the cleanup.
    assert {"change_status", "_write_progress", "_delete_instances", *EXEMPT} <= writers
