"""Turning uploaded BPMN into SpiffWorkflow specs: through the same verdict as the upload validator.

app.bpmn.inspect_bpmn parses safely (no DTDs or entities), analyses what can run (scripts,
conditions, timers, budgets, ...), drops what does not execute and builds the specs; sharlite
deploys exactly what it accepts, so a file accepted at upload deploys here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.bpmn import BpmnValidationError, inspect_bpmn
from app.bpmn.specs import automatic_task_ids, output_mappings

# The engine is not the upload form: a deployed file may be larger than a form's default limit.
MAX_BPMN_BYTES = 20 * 1024 * 1024


class RefusedBpmn(ValueError):
    """The engine will not run this BPMN (or these variables); the message says why."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class LoadedProcess:
    # The process a launch starts: the first executable one (None when none is executable).
    process_id: str | None
    spec: Any
    subprocess_specs: dict[str, Any]
    # Service, business-rule, send and plain tasks: they complete by themselves (after the optional delay).
    automatic_task_ids: frozenset[str]
    processes: list[dict[str, Any]] = field(default_factory=list)
    # Zeebe output mappings, applied when the task completes: element id -> ((source, target), ...).
    outputs: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # Every executable process's specs, by process id: a launch may choose one (contract extension).
    built: dict[str, Any] = field(default_factory=dict)

    def launchable(self, process_id: str | None = None) -> tuple[Any, dict[str, Any]]:
        """The (spec, subprocess specs) a launch starts: `process_id`'s, else the first executable
        process's; RefusedBpmn, naming the processes, when that cannot be launched."""
        if process_id:
            if process_id in self.built:
                chosen = self.built[process_id]
                return chosen.spec, chosen.subprocess_specs
            known = {p["id"]: p for p in self.processes}
            runnable = ", ".join(self.built) or "none"
            if process_id in known:
                raise RefusedBpmn(
                    f'process {process_id} is marked not executable (isExecutable="false"): it is '
                    f"kept as a diagram; executable processes: {runnable}"
                )
            raise RefusedBpmn(f"this workflow has no process {process_id}; executable processes: {runnable}")
        if self.spec is None:
            listed = ", ".join(f'{p["id"]} (isExecutable="false")' for p in self.processes) or "none"
            raise RefusedBpmn(
                f"no process of this workflow is executable: {listed}; it is kept as a diagram. "
                'Mark the process to run isExecutable="true" and upload it again'
            )
        return self.spec, self.subprocess_specs


def load(bpmn_xml: str) -> LoadedProcess:
    """Check `bpmn_xml` and build the spec of its first executable process."""
    try:
        inspection = inspect_bpmn(bpmn_xml, max_bytes=MAX_BPMN_BYTES)
    except BpmnValidationError as exc:
        raise RefusedBpmn(exc.message, exc.problems) from None
    executable = inspection.analysis.executable_ids
    automatic = automatic_task_ids(inspection.analysis.prepared)
    outputs = output_mappings(inspection.analysis.prepared)
    if not executable:
        return LoadedProcess(None, None, {}, automatic, inspection.analysis.processes, outputs)
    chosen = inspection.built[executable[0]]
    return LoadedProcess(
        chosen.process_id,
        chosen.spec,
        chosen.subprocess_specs,
        automatic,
        inspection.analysis.processes,
        outputs,
        dict(inspection.built),
    )
