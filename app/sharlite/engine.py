"""Running BPMN instances with SpiffWorkflow, and keeping them in the store.

Each instance has its own lock (never one lock for the engine), and every advance runs under a
budget of steps and a slice of time. The outcome depends on the steps alone, never on how fast
the machine is: an instance over its step budget (or on a path longer than Spiff can follow)
fails with a reason; an advance past its time slice stops between two tasks, is stored running
and goes on at the next tick with the steps it spent, so other instances never wait for it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.bpmn.timers_and_loops import MAX_LOOP_CARDINALITY
from app.bpmn.specs import clean
from app.sharlite import expressions
from app.sharlite.bpmn_loader import LoadedProcess, RefusedBpmn, load
from app.sharlite.store import Store

logger = logging.getLogger("sharlite")

# Per advance (a launch, a completion, a timer): at most this many task steps, run in slices of
# at most this many seconds (a slice that ends early is continued, never failed).
STEP_BUDGET = 20_000
TIME_BUDGET_SECONDS = 10.0
# An instance's variables as compact JSON (SHAR caps a state message at 1 MB). `flask shar up` passes
# SHARBOARD_MAX_VARIABLES_BYTES as --max-variables-bytes: sharlite reads no app settings.
MAX_VARIABLES_BYTES = 1024 * 1024
# Spiff's task iterator stops at this depth (TaskIterator's max_depth): a task deeper than this is
# invisible to it, so a workflow with one there looks completed. A path this long fails instead.
PATH_BUDGET = 1000

ISO_TIME = re.compile(r"^R?\d*/?P(?!$)[0-9YMWDTHS.]+$|^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?$")
WAITING_KINDS = {"UserTask", "ManualTask", "ServiceTask", "NoneTask", "IntermediateCatchEvent", "ReceiveTask",
                 "BoundaryEvent", "SendTask"}
PERSON_KINDS = {"UserTask", "ManualTask"}


class NotFound(LookupError):
    pass


class NothingToComplete(RuntimeError):
    pass


class NoMessageWaiting(RuntimeError):
    """The instance waits for no message of that name; nothing was changed."""


class CannotComplete(RuntimeError):
    """The waiting task refused to complete (a data input is missing, ...); nothing was changed."""


class OverBudget(RuntimeError):
    """An advance took more steps than its budget, or a path grew longer than Spiff follows."""


class _OutOfTime(Exception):
    """The advance used its time slice: it stops before the next task and goes on at the next tick."""


class TooLarge(RuntimeError):
    """An instance's variables grew past the engine's limit."""


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Where SpiffWorkflow evaluates text: the restricted evaluator, never Python's eval or exec.

    SpiffWorkflow reaches the environment directly, bypassing the script engine, for correlation
    retrieval expressions, ad-hoc completion conditions and conditional paths: the restriction
    must live here, or those texts would run as Python.
    """

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        return expressions.evaluate(expression, {**(external_context or {}), **context})

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        raise RefusedBpmn("sharlite runs no scripts")

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise RefusedBpmn("sharlite calls no services from the engine")


class RestrictedScriptEngine(PythonScriptEngine):
    """Evaluates conditions with the restricted evaluator; runs no scripts."""

    def __init__(self) -> None:
        super().__init__(environment=RestrictedEnvironment())

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        text = expressions.strip_wrapping(expression).strip("\"'")
        if ISO_TIME.match(text):
            return text  # an instance stored before the upload wrote timers as string constants
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
        except (expressions.EvaluationError, expressions.UnsafeExpression) as exc:
            shown = " ".join(expression.split())
            shown = shown if len(shown) <= 80 else shown[:79] + "…"
            raise expressions.EvaluationError(f"at {task.task_spec.bpmn_id}: the expression {shown!r} failed: {exc}") \
                from None
        if getattr(task.task_spec, "cardinality", None) == expression:
            # The upload caps literal cardinalities; one read from a variable is capped here.
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LOOP_CARDINALITY:
                raise OverBudget(f"loopCardinality of {task.task_spec.bpmn_id} is {str(value)[:40]}; it must be "
                                 f"a whole number from 0 to {MAX_LOOP_CARDINALITY:,}")
        return value

    def execute(self, task: Any, script: str, external_context: dict[str, Any] | None = None) -> Any:
        raise RefusedBpmn("sharlite runs no scripts")

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise RefusedBpmn("sharlite calls no services from the engine")

    def validate(self, expression: str) -> None:
        expressions.compile_prepared(expression)


def _digest(bpmn_xml: str) -> str:
    return hashlib.sha256(bpmn_xml.encode()).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Engine:
    """The workflows and instances of one sharlite: one lock per instance, a budget per advance."""

    def __init__(self, store: Store, *, task_delay: float = 0.0, step_budget: int = STEP_BUDGET,
                 time_budget: float = TIME_BUDGET_SECONDS, max_variables_bytes: int = MAX_VARIABLES_BYTES) -> None:
        self.store = store
        self.task_delay = task_delay
        self.step_budget = step_budget
        self.time_budget = time_budget
        self.max_variables_bytes = max_variables_bytes
        self.script_engine = RestrictedScriptEngine()
        self.serializer = BpmnWorkflowSerializer()
        self._specs: dict[tuple[str, int], LoadedProcess] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._workflow_lock = threading.Lock()  # versions only: held for a store write, never for a run
        # Timers advance on a few threads, so one heavy instance never delays the others' timers.
        self._timer_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sharlite-timer")
        self._in_flight: set[str] = set()
        self._in_flight_guard = threading.Lock()

    def close(self) -> None:
        self._timer_pool.shutdown(wait=True, cancel_futures=True)

    def _lock(self, instance_id: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(instance_id, threading.RLock())

    # -- workflows ---------------------------------------------------------------
    def create_workflow(self, name: str, bpmn_xml: str) -> dict[str, Any]:
        loaded = load(bpmn_xml)  # raises RefusedBpmn before anything is stored
        with self._workflow_lock:
            version = self.store.add_version(name, bpmn_xml, now_iso())
            self._specs[(name, version)] = loaded
        return {"id": name, "name": name, "status": "created", "version": version, "bpmn_sha256": _digest(bpmn_xml)}

    def workflow(self, name: str) -> dict[str, Any]:
        row = self.store.latest_version(name)
        if row is None:
            raise NotFound(f"workflow {name} not found")
        # The digest of the BPMN it holds (a contract extension): a client that lost the answer to a
        # create tells by it whether its request got here.
        return {"id": name, "name": name, "status": "active", "version": row["version"],
                "bpmn_sha256": _digest(row["bpmn_xml"])}

    def workflows(self) -> list[dict[str, Any]]:
        return [self.workflow(name) for name in self.store.workflow_names()]

    def delete_workflow(self, name: str) -> None:
        if not self.store.delete_workflow(name):
            raise NotFound(f"workflow {name} not found")

    # -- instances ---------------------------------------------------------------
    def launch(self, name: str, variables: dict[str, Any], process_id: str | None = None,
               message: str | None = None) -> dict[str, Any]:
        """Start the workflow's process `process_id` (contract extension), by default its first executable one.
        With `message` (contract extension) the instance starts at the message start event of that name, in
        the same step: it never waits at the start; RefusedBpmn when the process has no such start."""
        row = self.store.latest_version(name)
        if row is None:
            raise NotFound(f"workflow {name} not found")
        self._check_variables(variables)
        loaded = self._spec(name, row["version"], row["bpmn_xml"])
        spec, subprocess_specs = loaded.launchable(process_id)
        if message is not None:
            starts = sorted({ts.event_definition.name for ts in spec.task_specs.values()
                             if type(ts).__name__ == "StartEvent"
                             and isinstance(getattr(ts, "event_definition", None), MessageEventDefinition)})
            if message not in starts:
                raise RefusedBpmn(f"process {spec.name} has no message start event for message {message!r}; "
                                  + (f"its message starts: {', '.join(starts)}" if starts
                                     else "it starts without a message: launch it without one"))
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.set_data(**variables)
        record = {"id": str(uuid.uuid4()), "workflow_name": name, "version": row["version"], "status": "running",
                  "process_id": spec.name,
                  "variables": dict(variables), "error": None, "created_at": now_iso(), "completed_at": None,
                  "carried_steps": 0}
        with self._lock(record["id"]):
            self._advance(workflow, record, loaded,
                          start_message=BpmnEvent(MessageEventDefinition(message), payload=dict(variables))
                          if message is not None else None)
        return self.view(record)

    def instance(self, instance_id: str) -> dict[str, Any]:
        return self.view(self._record(instance_id))

    def instances(self) -> list[dict[str, Any]]:
        return [self.view(r) for r in self.store.instances()]

    def complete(self, instance_id: str, variables: dict[str, Any] | None = None) -> str:
        """Complete the first task that waits for a person; returns its id."""
        self._check_variables(variables or {})
        with self._lock(instance_id):
            record = self._record(instance_id)
            if record["status"] != "running":
                raise NothingToComplete(f"instance {instance_id} is {record['status']}")
            workflow = self._workflow(record)
            waiting = [t for t in workflow.get_tasks(state=TaskState.READY)
                       if type(t.task_spec).__name__ in PERSON_KINDS]
            if not waiting:
                raise NothingToComplete(f"instance {instance_id} has no waiting user task")
            task = waiting[0]
            task.set_data(**(variables or {}))
            try:
                self._map_outputs(task, self._loaded(record))
                task.run()
            except Exception as exc:  # noqa: BLE001 - a missing data input, ...: refused, nothing stored
                reason = _reason(exc, name_element=False)
                raise CannotComplete(f"task {task.task_spec.bpmn_id} cannot complete: {reason}; the instance still "
                                     "waits there (send the missing variables)") from None
            self._advance(workflow, record, self._loaded(record))
            return task.task_spec.bpmn_id

    def deliver_message(self, instance_id: str, name: str, variables: dict[str, Any] | None = None) -> list[str]:
        """Deliver message `name` (contract extension): every message start, catch event or receive
        task of the instance waiting for it catches it, with `variables` as its payload; returns their ids."""
        self._check_variables(variables or {})
        with self._lock(instance_id):
            record = self._record(instance_id)
            if record["status"] != "running":
                raise NoMessageWaiting(f"instance {instance_id} is {record['status']}")
            workflow = self._workflow(record)
            waiting = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.WAITING | TaskState.READY)
                       if _waits_for_message(t, name)]
            if not waiting:
                raise NoMessageWaiting(f"instance {instance_id} is not waiting for a message named {name!r}")
            try:
                workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=dict(variables or {})))
            except Exception as exc:  # noqa: BLE001 - Spiff's "not waiting": nothing was changed
                raise NoMessageWaiting(f"instance {instance_id} cannot take message {name!r}: "
                                       f"{_reason(exc, name_element=False)}") from None
            self._advance(workflow, record, self._loaded(record))
            return waiting

    def tick(self) -> int:
        """Start advancing instances whose timers or delayed service tasks are due; returns how many started."""
        started = 0
        for instance_id in self.store.due_instances(time.time()):
            with self._in_flight_guard:
                if instance_id in self._in_flight:
                    continue  # still advancing from an earlier tick
                self._in_flight.add(instance_id)
            self._timer_pool.submit(self._tick_one, instance_id)
            started += 1
        return started

    def _tick_one(self, instance_id: str) -> None:
        try:
            with self._lock(instance_id):
                record = self._record(instance_id)
                if record["status"] == "running":
                    self._advance(self._workflow(record), record, self._loaded(record))
        except Exception:
            logger.exception("advancing instance %s failed", instance_id)
        finally:
            with self._in_flight_guard:
                self._in_flight.discard(instance_id)

    # -- internals ---------------------------------------------------------------
    def _spec(self, name: str, version: int, bpmn_xml: str) -> LoadedProcess:
        key = (name, version)
        if key not in self._specs:
            self._specs[key] = load(bpmn_xml)
        return self._specs[key]

    def _loaded(self, record: dict[str, Any]) -> LoadedProcess:
        row = self.store.version(record["workflow_name"], record["version"])
        return self._spec(record["workflow_name"], record["version"], row["bpmn_xml"])

    def _record(self, instance_id: str) -> dict[str, Any]:
        record = self.store.instance(instance_id)
        if record is None:
            raise NotFound(f"instance {instance_id} not found")
        return record

    def _workflow(self, record: dict[str, Any]) -> BpmnWorkflow:
        workflow = self.serializer.deserialize_json(record["state"])
        workflow.script_engine = self.script_engine
        return workflow

    def _advance(self, workflow: BpmnWorkflow, record: dict[str, Any], loaded: LoadedProcess, *,
                 start_message: BpmnEvent | None = None) -> None:
        """Run every task that can run now, then store the instance's new state. `start_message` is
        caught once the start events wait, inside the same budget, before anything is stored.

        Steps count from where a paused advance stopped (`carried_steps`), so the step budget
        decides the same way however many slices the work took."""
        services = loaded.automatic_task_ids
        steps = record.get("carried_steps") or 0
        ran_here = 0
        started = time.monotonic()
        paused = False

        def pause_when_late(_task: Any = None) -> None:
            # Between two tasks, never inside one; at least one step per slice, so a slice always
            # moves on; never before the start message is caught (it is not stored).
            if ran_here and start_message is None and time.monotonic() - started > self.time_budget:
                raise _OutOfTime

        def spend(_task: Any = None) -> None:
            nonlocal steps, ran_here
            steps += 1
            ran_here += 1
            if steps > self.step_budget:
                raise OverBudget(f"over budget: more than {self.step_budget:,} steps in one advance")

        try:
            while True:
                workflow.refresh_timers()
                workflow.do_engine_steps(will_complete_task=pause_when_late, did_complete_task=spend)
                if start_message is not None:
                    workflow.send_event(start_message)
                    start_message = None
                    continue
                due = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id in services
                       and time.time() - t.last_state_change >= self.task_delay]
                if not due:
                    break
                for task in due:
                    pause_when_late()
                    self._map_outputs(task, loaded)  # the worker answered nothing; the mappings still apply
                    if loaded.outputs.get(task.task_spec.bpmn_id):
                        self._refuse_too_large(task.data)  # before the copies go further down the flow
                    task.run()
                    spend()
            _check_path(workflow)
        except _OutOfTime:
            paused = True
        except Exception as exc:  # noqa: BLE001 - a condition that fails, a budget, ...: the instance fails
            record.update(status="failed", error=_reason(exc), completed_at=now_iso())
        record["carried_steps"] = steps if paused else 0
        tasks = workflow.get_tasks()
        error_end = next((t for t in tasks if t.state == TaskState.COMPLETED
                          and isinstance(getattr(t.task_spec, "event_definition", None), ErrorEventDefinition)
                          and type(t.task_spec).__name__ == "EndEvent"), None)
        if record["status"] == "running" and error_end is not None:
            definition = error_end.task_spec.event_definition
            code = getattr(definition, "code", None) or getattr(definition, "name", None) or "error"
            record.update(status="failed", completed_at=now_iso(),
                          error=f"error end event {error_end.task_spec.bpmn_id} reached: {code}")
        elif record["status"] == "running" and not paused and workflow.is_completed():
            record.update(status="completed", completed_at=now_iso())
        record["current_activities"] = [] if record["status"] != "running" else sorted({
            t.task_spec.bpmn_id for t in tasks
            if t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED)
            and t.task_spec.bpmn_id and (type(t.task_spec).__name__ in WAITING_KINDS or _waits_for_message(t))})
        record["completed_activities"] = [t.task_spec.bpmn_id for t in sorted(
            (t for t in tasks if t.state == TaskState.COMPLETED and t.task_spec.bpmn_id),
            key=lambda t: t.last_state_change)]
        record["wake_at"] = None if record["status"] != "running" \
            else time.time() if paused else self._wake_at(tasks, services)
        if record["status"] == "running" and not record["current_activities"] and record["wake_at"] is None:
            # Nothing anyone can send, complete or wait out would move it: failing says why, where
            # "running" with no waiting element would say nothing for ever.
            record.update(status="failed", error=_stuck_reason(tasks), completed_at=now_iso())
        variables = _variables(workflow, tasks, record["variables"])
        too_large = self._too_large(variables)
        if too_large:
            # Neither the variables nor the state holding them are stored: the instance keeps those of
            # its last step within the limit, and fails saying which variable grew.
            record.update(status="failed", error=record["error"] if record["status"] == "failed" else too_large,
                          completed_at=record.get("completed_at") or now_iso(), wake_at=None,
                          current_activities=[], state=record.get("state") or "{}")
            self.store.save_instance(record)
            return
        record["variables"] = _jsonable(variables)
        try:
            record["state"] = self.serializer.serialize_json(workflow)
        except Exception as exc:  # noqa: BLE001 - e.g. a task tree too deep to store: fail, never a 500
            record.update(status="failed", error=f"the instance's state cannot be stored: {_reason(exc)}",
                          completed_at=record.get("completed_at") or now_iso(), wake_at=None,
                          current_activities=[], state=record.get("state") or "{}")
        self.store.save_instance(record)

    def _check_variables(self, variables: dict[str, Any]) -> None:
        """Variables sent to the engine: strict JSON and within the limit (422 otherwise, nothing stored)."""
        _check_json(variables)
        too_large = self._too_large(variables)
        if too_large:
            raise RefusedBpmn(too_large)

    def _refuse_too_large(self, data: dict[str, Any]) -> None:
        too_large = self._too_large(data)
        if too_large:
            raise TooLarge(too_large)

    def _too_large(self, variables: dict[str, Any]) -> str | None:
        """Why `variables` are over the limit, naming the largest; None when within it. Each variable is
        measured only until the limit is passed, and a string many mappings copied is measured once."""
        limit = self.max_variables_bytes
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
        return (f"its variables are over the limit: at least {total - 1:,} bytes as compact JSON, the limit is "
                f"{limit:,}; the largest is {largest[:80]!r} ({sizes[largest]:,} bytes)")

    @staticmethod
    def _map_outputs(task: Any, loaded: LoadedProcess) -> None:
        """Set each Zeebe output mapping's target from its source, as SHAR does when a task completes."""
        for source, target in loaded.outputs.get(task.task_spec.bpmn_id, ()):
            try:
                value = expressions.evaluate(source, dict(task.data))
            except expressions.EvaluationError as exc:
                raise expressions.EvaluationError(
                    f"at {task.task_spec.bpmn_id}: the output mapping to {target} failed: {exc}") from None
            task.data[target] = value

    def _wake_at(self, tasks: list[Any], services: frozenset[str]) -> float | None:
        wake: float | None = None
        for task in tasks:
            kind = type(task.task_spec).__name__
            if task.state == TaskState.WAITING and kind in ("IntermediateCatchEvent", "BoundaryEvent", "StartEvent"):
                candidate = _timer_due(task)  # timers wake at their due time, not in a polling loop
                if candidate is None:
                    continue
            elif task.state == TaskState.READY and task.task_spec.bpmn_id in services:
                candidate = task.last_state_change + self.task_delay
            else:
                continue
            wake = candidate if wake is None else min(wake, candidate)
        return wake

    @staticmethod
    def view(record: dict[str, Any]) -> dict[str, Any]:
        """The contract's instance object, with the extension fields."""
        data = {key: record[key] for key in ("id", "workflow_name", "status", "variables", "created_at",
                                             "current_activities", "completed_activities")}
        data["workflow_version"] = record["version"]
        if record.get("process_id"):
            data["process_id"] = record["process_id"]
        if record.get("error"):
            data["error"] = record["error"]
        if record.get("completed_at"):
            data["completed_at"] = record["completed_at"]
        return data


def _waits_for_message(task: Any, name: str | None = None) -> bool:
    """A message start, catch event, boundary event or receive task waiting for a message (named `name`)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, MessageEventDefinition) or task.state not in (TaskState.WAITING, TaskState.READY):
        return False
    return name is None or definition.name == name


def _check_path(workflow: BpmnWorkflow) -> None:
    """OverBudget when a task lies PATH_BUDGET tasks deep: Spiff no longer sees it (nor what
    follows), so the instance would look completed; a loop that never reaches its end ends here.
    Each sub-process has a tree of its own, seen the same way."""
    pending = [(tree, 0) for tree in (workflow.task_tree, *(s.task_tree for s in workflow.subprocesses.values()))]
    while pending:
        task, depth = pending.pop()
        if depth >= PATH_BUDGET:
            raise OverBudget(f"over budget: a path of more than {PATH_BUDGET:,} tasks in a row (a loop that never "
                             "reaches its end?); the engine cannot follow it further")
        pending.extend((child, depth + 1) for child in task.children)


def _timer_due(task: Any) -> float | None:
    """When a waiting timer is due (epoch seconds), from the value Spiff stored; None when not a timer."""
    definition = getattr(task.task_spec, "event_definition", None)
    if definition is None or "Timer" not in type(definition).__name__:
        return None
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):
        value = value.get("next")
    if isinstance(value, str):
        try:
            due = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return time.time() + 1.0
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        return due.timestamp()
    return time.time() + 1.0  # not computed yet: look again soon


_WAITS_FOR = {"SignalEventDefinition": "a signal", "ConditionalEventDefinition": "a condition",
              "EscalationEventDefinition": "an escalation", "ErrorEventDefinition": "an error",
              "CancelEventDefinition": "a cancel event", "MessageEventDefinition": "a message"}


def _stuck_reason(tasks: list[Any]) -> str:
    """Why an instance that waits for nothing sharlite can deliver cannot go on, naming where it stopped."""
    waiting = []
    for task in tasks:
        if task.state != TaskState.WAITING or not task.task_spec.bpmn_id:
            continue
        definition = type(getattr(task.task_spec, "event_definition", None)).__name__
        what = _WAITS_FOR.get(definition) or ("flows that never arrive" if "Gateway" in type(task.task_spec).__name__
                                              else "something sharlite cannot deliver")
        waiting.append(f"{task.task_spec.bpmn_id} (waiting for {what})")
    if not waiting:
        return ("the instance stopped before reaching an end event, with nothing left to run or wait for; "
                "check that every path of the process ends in an end event")
    shown = ", ".join(sorted(set(waiting))[:5])
    return f"nothing can move this instance on: it waits only at {shown}, which sharlite cannot deliver"


def _reason(exc: BaseException, *, name_element: bool = True) -> str:
    """Why an instance failed, for people: no Python exception names, no object reprs, bounded."""
    message = clean(str(exc.args[0]) if exc.args else "") or "the engine could not continue"
    for attr, what in (("data_input", "input"), ("data_output", "output")):
        ref = getattr(exc, attr, None)
        if ref is not None:
            message = f"its data {what} {getattr(ref, 'bpmn_id', None) or ref} is missing"
    spec = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
    element = getattr(spec, "bpmn_id", None)
    if name_element and element and element not in message:
        message = f"at {element}: {message}"
    return message[:1000]


def _check_json(variables: dict[str, Any]) -> None:
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


def _variables(workflow: BpmnWorkflow, tasks: list[Any], fallback: dict[str, Any]) -> dict[str, Any]:
    """The instance's variables as Spiff holds them (not yet copied into JSON: measured first)."""
    if workflow.is_completed():
        return dict(workflow.data) or fallback
    live = [t for t in tasks if t.state in (TaskState.READY, TaskState.WAITING)]
    merged: dict[str, Any] = {}
    for task in sorted(live, key=lambda t: t.last_state_change):
        merged.update(task.data)
    return merged or fallback


def _json_size(value: Any, measured: dict[int, int], *, stop_after: int | None = None) -> int:
    """Bytes of `value` as compact JSON (other values as their text, as _jsonable writes them), counted
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


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))
