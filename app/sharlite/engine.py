"""Running BPMN instances with SpiffWorkflow, and keeping them in the store.

Each instance has its own lock (never one lock for the engine), and every advance runs under a
budget of steps and a slice of time (`budgets`): an advance past its time slice is stored running
and goes on at the next tick, so other instances never wait for it. An advance is a few steps:
run the due tasks within the budgets, decide the outcome, note what the instance waits for
(`waiting`), check its variables (`variables`) and store it.
"""

from __future__ import annotations

import hashlib
import logging
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

from app.bpmn.specs import clean
from app.bpmn.timers_and_loops import MAX_LOOP_CARDINALITY
from app.sharlite import expressions
from app.sharlite.bpmn_loader import LoadedProcess, RefusedBpmn, load
from app.sharlite.budgets import (
    STEP_BUDGET,
    TIME_BUDGET_SECONDS,
    Budget,
    OutOfTime,
    OverBudget,
    check_path,
)
from app.sharlite.store import Store
from app.sharlite.variables import (
    MAX_VARIABLES_BYTES,
    check_sent,
    jsonable,
    live_variables,
    refuse_too_large,
    too_large,
)
from app.sharlite.waiting import (
    PERSON_KINDS,
    current_activities,
    stuck_reason,
    waits_for_message,
    wake_at,
)

logger = logging.getLogger("sharlite")

ISO_TIME = re.compile(r"^R?\d*/?P(?!$)[0-9YMWDTHS.]+$|^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?$")


class NotFound(LookupError):
    pass


class NothingToComplete(RuntimeError):
    pass


class NoMessageWaiting(RuntimeError):
    """The instance waits for no message of that name; nothing was changed."""


class CannotComplete(RuntimeError):
    """The waiting task refused to complete (a data input is missing, ...); nothing was changed."""


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
            raise expressions.EvaluationError(
                f"at {task.task_spec.bpmn_id}: the expression {shown!r} failed: {exc}"
            ) from None
        if getattr(task.task_spec, "cardinality", None) == expression:
            # The upload caps literal cardinalities; one read from a variable is capped here.
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LOOP_CARDINALITY:
                raise OverBudget(
                    f"loopCardinality of {task.task_spec.bpmn_id} is {str(value)[:40]}; it must be "
                    f"a whole number from 0 to {MAX_LOOP_CARDINALITY:,}"
                )
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

    def __init__(
        self,
        store: Store,
        *,
        task_delay: float = 0.0,
        step_budget: int = STEP_BUDGET,
        time_budget: float = TIME_BUDGET_SECONDS,
        max_variables_bytes: int = MAX_VARIABLES_BYTES,
    ) -> None:
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
        return {
            "id": name,
            "name": name,
            "status": "active",
            "version": row["version"],
            "bpmn_sha256": _digest(row["bpmn_xml"]),
        }

    def workflows(self) -> list[dict[str, Any]]:
        return [self.workflow(name) for name in self.store.workflow_names()]

    def delete_workflow(self, name: str) -> None:
        if not self.store.delete_workflow(name):
            raise NotFound(f"workflow {name} not found")

    # -- instances ---------------------------------------------------------------
    def launch(
        self, name: str, variables: dict[str, Any], process_id: str | None = None, message: str | None = None
    ) -> dict[str, Any]:
        """Start the workflow's process `process_id` (contract extension), by default its first executable one.
        With `message` (contract extension) the instance starts at the message start event of that name, in
        the same step: it never waits at the start; RefusedBpmn when the process has no such start."""
        row = self.store.latest_version(name)
        if row is None:
            raise NotFound(f"workflow {name} not found")
        check_sent(variables, self.max_variables_bytes)
        loaded = self._spec(name, row["version"], row["bpmn_xml"])
        spec, subprocess_specs = loaded.launchable(process_id)
        if message is not None:
            starts = sorted(
                {
                    ts.event_definition.name
                    for ts in spec.task_specs.values()
                    if type(ts).__name__ == "StartEvent"
                    and isinstance(getattr(ts, "event_definition", None), MessageEventDefinition)
                }
            )
            if message not in starts:
                raise RefusedBpmn(
                    f"process {spec.name} has no message start event for message {message!r}; "
                    + (
                        f"its message starts: {', '.join(starts)}"
                        if starts
                        else "it starts without a message: launch it without one"
                    )
                )
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.set_data(**variables)
        record = {
            "id": str(uuid.uuid4()),
            "workflow_name": name,
            "version": row["version"],
            "status": "running",
            "process_id": spec.name,
            "variables": dict(variables),
            "error": None,
            "created_at": now_iso(),
            "completed_at": None,
            "carried_steps": 0,
        }
        with self._lock(record["id"]):
            self._advance(
                workflow,
                record,
                loaded,
                start_message=BpmnEvent(MessageEventDefinition(message), payload=dict(variables))
                if message is not None
                else None,
            )
        return self.view(record)

    def instance(self, instance_id: str) -> dict[str, Any]:
        return self.view(self._record(instance_id))

    def instances(self) -> list[dict[str, Any]]:
        return [self.view(r) for r in self.store.instances()]

    def complete(self, instance_id: str, variables: dict[str, Any] | None = None) -> str:
        """Complete the first task that waits for a person; returns its id."""
        check_sent(variables or {}, self.max_variables_bytes)
        with self._lock(instance_id):
            record = self._record(instance_id)
            if record["status"] != "running":
                raise NothingToComplete(f"instance {instance_id} is {record['status']}")
            workflow = self._workflow(record)
            waiting = [
                t for t in workflow.get_tasks(state=TaskState.READY) if type(t.task_spec).__name__ in PERSON_KINDS
            ]
            if not waiting:
                raise NothingToComplete(f"instance {instance_id} has no waiting user task")
            task = waiting[0]
            task.set_data(**(variables or {}))
            try:
                self._map_outputs(task, self._loaded(record))
                task.run()
            except Exception as exc:  # noqa: BLE001 - a missing data input, ...: refused, nothing stored
                reason = _reason(exc, name_element=False)
                raise CannotComplete(
                    f"task {task.task_spec.bpmn_id} cannot complete: {reason}; the instance still "
                    "waits there (send the missing variables)"
                ) from None
            self._advance(workflow, record, self._loaded(record))
            return task.task_spec.bpmn_id

    def deliver_message(self, instance_id: str, name: str, variables: dict[str, Any] | None = None) -> list[str]:
        """Deliver message `name` (contract extension): every message start, catch event or receive
        task of the instance waiting for it catches it, with `variables` as its payload; returns their ids."""
        check_sent(variables or {}, self.max_variables_bytes)
        with self._lock(instance_id):
            record = self._record(instance_id)
            if record["status"] != "running":
                raise NoMessageWaiting(f"instance {instance_id} is {record['status']}")
            workflow = self._workflow(record)
            waiting = [
                t.task_spec.bpmn_id
                for t in workflow.get_tasks(state=TaskState.WAITING | TaskState.READY)
                if waits_for_message(t, name)
            ]
            if not waiting:
                raise NoMessageWaiting(f"instance {instance_id} is not waiting for a message named {name!r}")
            try:
                workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=dict(variables or {})))
            except Exception as exc:  # noqa: BLE001 - Spiff's "not waiting": nothing was changed
                raise NoMessageWaiting(
                    f"instance {instance_id} cannot take message {name!r}: {_reason(exc, name_element=False)}"
                ) from None
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

    def _advance(
        self,
        workflow: BpmnWorkflow,
        record: dict[str, Any],
        loaded: LoadedProcess,
        *,
        start_message: BpmnEvent | None = None,
    ) -> None:
        """Run every task that can run now, then store the instance's new state. `start_message` is
        caught once the start events wait, inside the same budget, before anything is stored."""
        paused = self._run(workflow, record, loaded, start_message)
        tasks = workflow.get_tasks()
        _decide_outcome(workflow, record, tasks, paused)
        self._note_waits(record, tasks, paused, loaded.automatic_task_ids)
        self._store(workflow, record, tasks)

    def _run(
        self, workflow: BpmnWorkflow, record: dict[str, Any], loaded: LoadedProcess, start_message: BpmnEvent | None
    ) -> bool:
        """Run the due tasks within the budgets; True when the time slice ran out first (the steps spent
        are carried to the next tick). What fails (a condition, a budget, ...) fails the instance."""
        budget = Budget(
            self.step_budget,
            self.time_budget,
            carried_steps=record.get("carried_steps") or 0,
            holds_start_message=start_message is not None,
        )
        paused = False
        try:
            self._run_due_tasks(workflow, loaded, budget, start_message)
            check_path(workflow)
        except OutOfTime:
            paused = True
        except Exception as exc:  # noqa: BLE001 - a condition that fails, a budget, ...: the instance fails
            record.update(status="failed", error=_reason(exc), completed_at=now_iso())
        record["carried_steps"] = budget.steps if paused else 0
        return paused

    def _run_due_tasks(
        self, workflow: BpmnWorkflow, loaded: LoadedProcess, budget: Budget, start_message: BpmnEvent | None
    ) -> None:
        """Run the engine's steps and the service tasks whose delay is over, until nothing more is due."""
        services = loaded.automatic_task_ids
        while True:
            workflow.refresh_timers()
            workflow.do_engine_steps(will_complete_task=budget.pause_when_late, did_complete_task=budget.spend)
            if start_message is not None:
                workflow.send_event(start_message)
                start_message = None
                budget.holds_start_message = False
                continue
            due = [
                t
                for t in workflow.get_tasks(state=TaskState.READY)
                if t.task_spec.bpmn_id in services and time.time() - t.last_state_change >= self.task_delay
            ]
            if not due:
                return
            for task in due:
                budget.pause_when_late()
                self._map_outputs(task, loaded)  # the worker answered nothing; the mappings still apply
                if loaded.outputs.get(task.task_spec.bpmn_id):
                    # before the copies go further down the flow
                    refuse_too_large(task.data, self.max_variables_bytes)
                task.run()
                budget.spend()

    def _note_waits(self, record: dict[str, Any], tasks: list[Any], paused: bool, services: frozenset[str]) -> None:
        """Where a running instance waits and when to wake it; one that waits for nothing fails saying why."""
        running = record["status"] == "running"
        record["current_activities"] = current_activities(tasks) if running else []
        record["completed_activities"] = [
            t.task_spec.bpmn_id
            for t in sorted(
                (t for t in tasks if t.state == TaskState.COMPLETED and t.task_spec.bpmn_id),
                key=lambda t: t.last_state_change,
            )
        ]
        record["wake_at"] = (
            None if not running else time.time() if paused else wake_at(tasks, services, self.task_delay)
        )
        if running and not record["current_activities"] and record["wake_at"] is None:
            # Nothing anyone can send, complete or wait out would move it: failing says why, where
            # "running" with no waiting element would say nothing for ever.
            record.update(status="failed", error=stuck_reason(tasks), completed_at=now_iso())

    def _store(self, workflow: BpmnWorkflow, record: dict[str, Any], tasks: list[Any]) -> None:
        """Store the instance with its variables and state; when they are over the limit or cannot be
        written it fails instead, keeping the state of its last stored step."""
        variables = live_variables(workflow, tasks, record["variables"])
        over = too_large(variables, self.max_variables_bytes)
        if over:
            # Neither the variables nor the state holding them are stored: the instance keeps those of
            # its last step within the limit, and fails saying which variable grew.
            _fail_unstored(record, record["error"] if record["status"] == "failed" else over)
        else:
            record["variables"] = jsonable(variables)
            try:
                record["state"] = self.serializer.serialize_json(workflow)
            except Exception as exc:  # noqa: BLE001 - e.g. a task tree too deep to store: fail, never a 500
                _fail_unstored(record, f"the instance's state cannot be stored: {_reason(exc)}")
        self.store.save_instance(record)

    @staticmethod
    def _map_outputs(task: Any, loaded: LoadedProcess) -> None:
        """Set each Zeebe output mapping's target from its source, as SHAR does when a task completes."""
        for source, target in loaded.outputs.get(task.task_spec.bpmn_id, ()):
            try:
                value = expressions.evaluate(source, dict(task.data))
            except expressions.EvaluationError as exc:
                raise expressions.EvaluationError(
                    f"at {task.task_spec.bpmn_id}: the output mapping to {target} failed: {exc}"
                ) from None
            task.data[target] = value

    @staticmethod
    def view(record: dict[str, Any]) -> dict[str, Any]:
        """The contract's instance object, with the extension fields."""
        data = {
            key: record[key]
            for key in (
                "id",
                "workflow_name",
                "status",
                "variables",
                "created_at",
                "current_activities",
                "completed_activities",
            )
        }
        data["workflow_version"] = record["version"]
        if record.get("process_id"):
            data["process_id"] = record["process_id"]
        if record.get("error"):
            data["error"] = record["error"]
        if record.get("completed_at"):
            data["completed_at"] = record["completed_at"]
        return data


def _decide_outcome(workflow: BpmnWorkflow, record: dict[str, Any], tasks: list[Any], paused: bool) -> None:
    """A running instance fails at a reached error end event, and completes with its workflow (never
    while paused: a workflow Spiff stopped in looks completed)."""
    error_end = next(
        (
            t
            for t in tasks
            if t.state == TaskState.COMPLETED
            and isinstance(getattr(t.task_spec, "event_definition", None), ErrorEventDefinition)
            and type(t.task_spec).__name__ == "EndEvent"
        ),
        None,
    )
    if record["status"] == "running" and error_end is not None:
        definition = error_end.task_spec.event_definition
        code = getattr(definition, "code", None) or getattr(definition, "name", None) or "error"
        record.update(
            status="failed",
            completed_at=now_iso(),
            error=f"error end event {error_end.task_spec.bpmn_id} reached: {code}",
        )
    elif record["status"] == "running" and not paused and workflow.is_completed():
        record.update(status="completed", completed_at=now_iso())


def _fail_unstored(record: dict[str, Any], error: str) -> None:
    """Fail an instance whose new variables or state are not stored: it keeps those last stored."""
    record.update(
        status="failed",
        error=error,
        completed_at=record.get("completed_at") or now_iso(),
        wake_at=None,
        current_activities=[],
        state=record.get("state") or "{}",
    )


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
