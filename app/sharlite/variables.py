"""An instance's variables: strict JSON, and within a size limit measured without encoding them whole."""

from __future__ import annotations

import json
import math
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.sharlite.bpmn_loader import RefusedBpmn

# An instance's variables as compact JSON (SHAR caps a state message at 1 MB). `flask shar up` passes
# SHARBOARD_MAX_VARIABLES_BYTES as --max-variables-bytes: sharlite reads no app settings.
MAX_VARIABLES_BYTES = 1024 * 1024


class TooLarge(RuntimeError):
    """An instance's variables grew past the engine's limit."""


def check_sent(variables: dict[str, Any], limit: int) -> None:
    """Variables sent to the engine: strict JSON and within the limit (422 otherwise, nothing stored)."""
    check_json(variables)
    reason = too_large(variables, limit)
    if reason:
        raise RefusedBpmn(reason)


def refuse_too_large(data: dict[str, Any], limit: int) -> None:
    reason = too_large(data, limit)
    if reason:
        raise TooLarge(reason)


def too_large(variables: dict[str, Any], limit: int) -> str | None:
    """Why `variables` are over the limit, naming the largest; None when within it. Each variable is
    measured only until the limit is passed, and a string many mappings copied is measured once."""
    measured: dict[int, int] = {}
    sizes: dict[str, int] = {}
    total = 2
    for name, value in variables.items():
        sizes[name] = _json_size(str(name), measured) + 1 + _json_size(value, measured, stop_after=limit)
        total += sizes[name] + 1
        if total - 1 > limit:
            break
    if total - 1 <= limit:
        return None
    largest = max(sizes, key=sizes.__getitem__)
    return (
        f"its variables are over the limit: at least {total - 1:,} bytes as compact JSON, the limit is "
        f"{limit:,}; the largest is {largest[:80]!r} ({sizes[largest]:,} bytes)"
    )


def check_json(variables: dict[str, Any]) -> None:
    """Variables must be strict JSON: NaN and Infinity are refused (422), never stored."""
    pending: list[Any] = [variables]
    while pending:
        value = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise RefusedBpmn(f"variables hold {value}, which is not JSON; send a number or null")
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def live_variables(workflow: BpmnWorkflow, tasks: list[Any], fallback: dict[str, Any]) -> dict[str, Any]:
    """The instance's variables as Spiff holds them (not yet copied into JSON: measured first)."""
    if workflow.is_completed():
        return dict(workflow.data) or fallback
    live = [t for t in tasks if t.state in (TaskState.READY, TaskState.WAITING)]
    merged: dict[str, Any] = {}
    for task in sorted(live, key=lambda t: t.last_state_change):
        merged.update(task.data)
    return merged or fallback


def _json_size(value: Any, measured: dict[int, int], *, stop_after: int | None = None) -> int:
    """Bytes of `value` as compact JSON (other values as their text, as jsonable writes them), counted
    without encoding the whole and stopping once past `stop_after`. `measured` remembers strings by
    id, so a string referenced many times (200 mappings of one variable) is encoded once."""
    total = 0
    pending = [value]
    while pending and (stop_after is None or total <= stop_after):
        item = pending.pop()
        if isinstance(item, dict):
            total += 1 + len(item) * 2 if item else 2  # braces, a colon and a comma (or the closing brace) each
            for key, child in item.items():
                total += len(json.dumps(str(key), ensure_ascii=False).encode("utf-8", "surrogatepass"))
                pending.append(child)
        elif isinstance(item, (list, tuple)):
            total += 1 + len(item) if item else 2
            pending.extend(item)
        elif isinstance(item, str):
            if id(item) not in measured:
                measured[id(item)] = len(json.dumps(item, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            total += measured[id(item)]
        else:
            total += len(json.dumps(item, default=str))
    return total


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))
