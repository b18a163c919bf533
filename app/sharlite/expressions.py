"""The restricted evaluator for conditions: never Python's eval of uploaded text.

What it accepts is decided by app.bpmn.expressions (shared with the upload validator): simple
comparisons, and/or/not, arithmetic, literals, ``in``, variable names. The engine sees only text the
analysis has already translated (JUEL ``${...}`` and FEEL ``=...`` mapped onto this language), so it
compiles that text as it is: translating twice would change its meaning (FEEL ``=lt > 3`` names a
variable ``lt``, which JUEL reads as ``<``). Evaluation runs under a budget so one expression can
never hold the engine: a count of operations, a size for integers and one for strings.
"""

from __future__ import annotations

import ast
import functools
import operator
from typing import Any

from app.bpmn.expressions import (
    MAX_EXPRESSION_CHARS,
    UnsafeExpression,
    compile_translated,
)

MAX_LENGTH = MAX_EXPRESSION_CHARS
MAX_OPERATIONS = 10_000
MAX_INT_BITS = 4_096  # about 1,233 decimal digits
MAX_STRING_CHARS = 100_000
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.FloorDiv: operator.floordiv,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}

__all__ = ["EvaluationError", "OverBudget", "UnsafeExpression", "compile_prepared", "evaluate", "strip_wrapping"]


class EvaluationError(ValueError):
    """A valid expression failed on these variables (unknown name, wrong types)."""


class OverBudget(EvaluationError):
    """The expression would take more work or memory than one expression may."""


def strip_wrapping(text: str) -> str:
    """The body of ``${...}``, ``#{...}`` or ``=...`` (used to recognise timer literals)."""
    text = text.strip()
    if text[:2] in ("${", "#{") and text.endswith("}"):
        text = text[2:-1].strip()
    if text.startswith("=") and not text.startswith("=="):
        text = text[1:].strip()
    return text


@functools.lru_cache(maxsize=4096)
def compile_prepared(text: str) -> ast.Expression:
    """Parse and check text the analysis prepared; raises UnsafeExpression naming what is not allowed.
    Cached: a gateway's condition is evaluated for every instance that passes it."""
    return compile_translated(text.strip())


def evaluate(text: str, variables: dict[str, Any]) -> Any:
    """Evaluate prepared `text` over `variables`, within the budget."""
    return _Evaluator(variables).run(compile_prepared(text).body)


class _Evaluator:
    def __init__(self, variables: dict[str, Any]) -> None:
        self.variables = variables
        self.operations = 0

    def run(self, node: ast.AST) -> Any:
        self.operations += 1
        if self.operations > MAX_OPERATIONS:
            raise OverBudget(f"the expression needs more than {MAX_OPERATIONS:,} operations")
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):  # never true, false or null: compiled into constants (literals win)
            if node.id in self.variables:
                return self.variables[node.id]
            raise EvaluationError(f"unknown variable {node.id!r}")
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.run(item) for item in node.elts]
        if isinstance(node, ast.Call):  # only _empty(x): JUEL's empty
            value = self.run(node.args[0])
            return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)
        if isinstance(node, ast.BoolOp):  # a loop, not all()/any() over a generator: no frame more a level
            wanted = not isinstance(node.op, ast.And)  # `or` stops at the first true value, `and` at a false one
            for value in node.values:
                if bool(self.run(value)) is wanted:
                    return wanted
            return not wanted
        if isinstance(node, ast.UnaryOp):
            value = self.run(node.operand)
            if isinstance(node.op, ast.Not):
                return not value
            _number(value)
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BinOp):
            # The operands from here, one frame a level: MAX_NESTING levels fit the stack.
            return self._binary(node.op, self.run(node.left), self.run(node.right))
        if isinstance(node, ast.Compare):
            left = self.run(node.left)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self.run(comparator)
                try:
                    if not _COMPARE[type(op)](left, right):
                        return False
                except TypeError:
                    raise EvaluationError(f"cannot compare {_short(left)} and {_short(right)}") from None
                left = right
            return True
        raise UnsafeExpression(f"{type(node).__name__} is not allowed")

    @staticmethod
    def _binary(op: ast.operator, left: Any, right: Any) -> Any:
        if isinstance(op, ast.Add) and isinstance(left, str) and isinstance(right, str):
            if len(left) + len(right) > MAX_STRING_CHARS:
                raise OverBudget(f"the expression would build a string over {MAX_STRING_CHARS:,} characters")
            return left + right
        _number(left)  # no str * int: a condition must not be able to build huge strings
        _number(right)
        for value in (left, right):
            if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
                raise OverBudget(f"an integer over {MAX_INT_BITS:,} bits is too large to compute with")
        if (
            isinstance(op, ast.Mult)
            and isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > MAX_INT_BITS
        ):
            raise OverBudget(f"the product would be an integer over {MAX_INT_BITS:,} bits")
        try:
            result = _BINARY[type(op)](left, right)
        except (ArithmeticError, TypeError) as exc:
            raise EvaluationError(str(exc)[:200]) from None
        if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
            raise OverBudget(f"the result would be an integer over {MAX_INT_BITS:,} bits")
        return result


def _number(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvaluationError(f"{_short(value)} is not a number")


def _short(value: Any, limit: int = 60) -> str:
    """A value for an error message: never a megabyte variable copied into errors and e-mails."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {len(str(abs(value))) if value.bit_length() < 10_000 else 'many'} digits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} characters)"
