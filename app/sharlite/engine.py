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
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.sharlite import expressions, repairs
from app.sharlite.bpmn_loader import LoadedProcess, RefusedBpmn, load
from app.sharlite.budgets import (
    STEP_BUDGET,
    TIME_BUDGET_SECONDS,
    Budget,
    OutOfTime,
    check_path,
)
from app.sharlite.errors import NotFound, Stuck
from app.sharlite.outcomes import decide_outcome, fail_unstored, failure_reason, now_iso
from app.sharlite.script_engine import RestrictedScriptEngine
from app.sharlite.store import Store
from app.sharlite.tokens import failed_at
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
    message_waits,
    one_event_per_gateway,
    stuck_reason,
    wake_at,
)

logger = logging.getLogger("sharlite")


class NothingToComplete(RuntimeError):
    pass


class NoMessageWaiting(RuntimeError):
    """The instance waits for no message of that name; nothing was changed."""


class CannotComplete(RuntimeError):
    """The waiting task refused to complete (a data input is missing, ...); nothing was changed."""


def _digest(bpmn_xml: str) -> str:
    return hashlib.sha256(bpmn_xml.encode()).hexdigest()


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
            _check_message_start(spec, message)
        try:
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        except RecursionError:  # the engine lays out the path ahead recursively: a flow back to a start never ends
            raise RefusedBpmn(
                f"process {spec.name} cannot start: its flow loops back to where it starts (a sequence flow into "
                "a start event, or a loop with nothing to stop it), so the path ahead never ends"
            ) from None
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
                reason = failure_reason(exc, name_element=False)
                raise CannotComplete(
                    f"task {task.task_spec.bpmn_id} cannot complete: {reason}; the instance still "
                    "waits there (send the missing variables)"
                ) from None
            self._advance(workflow, record, self._loaded(record))
            return task.task_spec.bpmn_id

    def deliver_message(self, instance_id: str, name: str, variables: dict[str, Any] | None = None) -> list[str]:
        """Deliver message `name` (contract extension): every message start, catch event or receive
        task of the instance waiting for it catches it, with `variables` as its payload; returns their ids
        (after an event-based gateway, the catch event whose branch it takes)."""
        check_sent(variables or {}, self.max_variables_bytes)
        with self._lock(instance_id):
            record = self._record(instance_id)
            if record["status"] != "running":
                raise NoMessageWaiting(f"instance {instance_id} is {record['status']}")
            workflow = self._workflow(record)
            # Time first: an event-based gateway whose timer came due before this message took the
            # timer's branch, and must not catch the message too.
            workflow.refresh_timers()
            waiting = [
                bpmn_id
                for t in workflow.get_tasks(state=TaskState.WAITING | TaskState.READY)
                for bpmn_id, waited in message_waits(t).items()
                if waited == name
            ]
            if not waiting:
                raise NoMessageWaiting(f"instance {instance_id} is not waiting for a message named {name!r}")
            try:
                workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=dict(variables or {})))
            except Exception as exc:  # noqa: BLE001 - Spiff's "not waiting": nothing was changed
                raise NoMessageWaiting(
                    f"instance {instance_id} cannot take message {name!r}: {failure_reason(exc, name_element=False)}"
                ) from None
            self._advance(workflow, record, self._loaded(record))
            return waiting

    # -- repairs (contract extensions; app.sharlite.repairs) ---------------------------------------
    def move(
        self, instance_id: str, from_ids: list[str], to_id: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return repairs.move(self, instance_id, from_ids, to_id, variables)

    def set_variables(self, instance_id: str, set_: dict[str, Any], remove: list[str]) -> dict[str, Any]:
        return repairs.set_variables(self, instance_id, set_, remove)

    def migrate(self, instance_id: str, version: int, mapping: dict[str, str]) -> dict[str, Any]:
        return repairs.migrate(self, instance_id, version, mapping)

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
        refuse_stuck: bool = False,
    ) -> None:
        """Run every task that can run now, then store the instance's new state. `start_message` is
        caught once the start events wait, inside the same budget, before anything is stored. With
        `refuse_stuck` (a repair) an instance left with nothing to move it on raises Stuck, unstored."""
        paused = self._run(workflow, record, loaded, start_message)
        tasks = workflow.get_tasks()
        decide_outcome(workflow, record, tasks, paused)
        if self._note_waits(record, tasks, paused, loaded.automatic_task_ids) and refuse_stuck:
            raise Stuck(record["error"])
        record["failed_activities"] = failed_at(workflow) if record["status"] == "failed" else []
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
            record.update(status="failed", error=failure_reason(exc), completed_at=now_iso())
        record["carried_steps"] = budget.steps if paused else 0
        return paused

    def _run_due_tasks(
        self, workflow: BpmnWorkflow, loaded: LoadedProcess, budget: Budget, start_message: BpmnEvent | None
    ) -> None:
        """Run the engine's steps and the service tasks whose delay is over, until nothing more is due."""
        services = loaded.automatic_task_ids
        while True:
            workflow.refresh_timers()
            workflow.do_engine_steps(will_complete_task=_before_step(budget), did_complete_task=budget.spend)
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

    def _note_waits(self, record: dict[str, Any], tasks: list[Any], paused: bool, services: frozenset[str]) -> bool:
        """Where a running instance waits and when to wake it; one that waits for nothing fails saying
        why (True then)."""
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
            return True
        return False

    def _store(self, workflow: BpmnWorkflow, record: dict[str, Any], tasks: list[Any]) -> None:
        """Store the instance with its variables and state; when they are over the limit or cannot be
        written it fails instead, keeping the state of its last stored step."""
        variables = live_variables(workflow, tasks, record["variables"])
        over = too_large(variables, self.max_variables_bytes)
        if over:
            # Neither the variables nor the state holding them are stored: the instance keeps those of
            # its last step within the limit, and fails saying which variable grew.
            fail_unstored(record, record["error"] if record["status"] == "failed" else over)
        else:
            record["variables"] = jsonable(variables)
            try:
                record["state"] = self.serializer.serialize_json(workflow)
            except Exception as exc:  # noqa: BLE001 - e.g. a task tree too deep to store: fail, never a 500
                fail_unstored(record, f"the instance's state cannot be stored: {failure_reason(exc)}")
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
        if record.get("failed_activities"):
            data["failed_activities"] = record["failed_activities"]
        if record.get("completed_at"):
            data["completed_at"] = record["completed_at"]
        return data


def _before_step(budget: Budget) -> Any:
    """What runs before each engine step: the budget's pause, and an event-based gateway's rule of one
    branch (Spiff would take every event it saw by then, say a message and a timer due meanwhile)."""

    def before(task: Any) -> None:
        budget.pause_when_late()
        one_event_per_gateway(task)

    return before


def _check_message_start(spec: Any, message: str) -> None:
    """RefusedBpmn unless the process `spec` has a message start event for `message`."""
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
