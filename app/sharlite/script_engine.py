"""Where sharlite evaluates BPMN text: the restricted evaluator, never Python's eval or exec, and no
scripts or service calls from the engine.
"""

from __future__ import annotations

import re
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from app.bpmn.timers_and_loops import MAX_LOOP_CARDINALITY
from app.sharlite import expressions
from app.sharlite.bpmn_loader import RefusedBpmn
from app.sharlite.budgets import OverBudget

ISO_TIME = re.compile(r"^R?\d*/?P(?!$)[0-9YMWDTHS.]+$|^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?$")


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
