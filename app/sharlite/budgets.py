"""The budgets of one advance: steps counted on across time slices, and the longest path Spiff follows.

The outcome depends on the steps alone, never on how fast the machine is: an advance over its step
budget (or on a path longer than Spiff can follow) fails with a reason; one past its time slice
stops between two tasks and goes on at the next tick with the steps it spent.
"""

from __future__ import annotations

import time
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

# Per advance (a launch, a completion, a timer): at most this many task steps, run in slices of
# at most this many seconds (a slice that ends early is continued, never failed).
STEP_BUDGET = 20_000
TIME_BUDGET_SECONDS = 10.0
# Spiff's task iterator stops at this depth (TaskIterator's max_depth): a task deeper than this is
# invisible to it, so a workflow with one there looks completed. A path this long fails instead.
PATH_BUDGET = 1000


class OverBudget(RuntimeError):
    """An advance took more steps than its budget, or a path grew longer than Spiff follows."""


class OutOfTime(Exception):
    """The advance used its time slice: it stops before the next task and goes on at the next tick."""


class Budget:
    """One advance's steps and time slice. Steps count on from where a paused advance stopped
    (`carried_steps`), so the step budget decides the same way however many slices the work took."""

    def __init__(self, step_budget: int, time_budget: float, *, carried_steps: int, holds_start_message: bool) -> None:
        self.step_budget = step_budget
        self.time_budget = time_budget
        self.steps = carried_steps
        self.ran_here = 0
        self.started = time.monotonic()
        # A start message not caught yet is not stored: the advance never pauses before it is caught.
        self.holds_start_message = holds_start_message

    def pause_when_late(self, _task: Any = None) -> None:
        # Between two tasks, never inside one; at least one step per slice, so a slice always
        # moves on; never before the start message is caught (it is not stored).
        if self.ran_here and not self.holds_start_message and time.monotonic() - self.started > self.time_budget:
            raise OutOfTime

    def spend(self, _task: Any = None) -> None:
        self.steps += 1
        self.ran_here += 1
        if self.steps > self.step_budget:
            raise OverBudget(f"over budget: more than {self.step_budget:,} steps in one advance")


def check_path(workflow: BpmnWorkflow) -> None:
    """OverBudget when a task lies PATH_BUDGET tasks deep: Spiff no longer sees it (nor what
    follows), so the instance would look completed; a loop that never reaches its end ends here.
    Each sub-process has a tree of its own, seen the same way."""
    pending = [(tree, 0) for tree in (workflow.task_tree, *(s.task_tree for s in workflow.subprocesses.values()))]
    while pending:
        task, depth = pending.pop()
        if depth >= PATH_BUDGET:
            raise OverBudget(
                f"over budget: a path of more than {PATH_BUDGET:,} tasks in a row (a loop that never "
                "reaches its end?); the engine cannot follow it further"
            )
        pending.extend((child, depth + 1) for child in task.children)
