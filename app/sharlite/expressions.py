"""A restricted evaluator for gateway conditions: never Python's eval of uploaded text.

Accepted: comparisons, and/or/not, + - * / % //, parentheses, string/number/boolean
literals, lists of literals, `in`, and variable names. A leading `=` (Zeebe) or a
`${...}` / `#{...}` wrapper (Camunda 7) is stripped first.
"""
from __future__ import annotations

import ast
import operator
import re
from typing import Any

MAX_LENGTH = 2000
LITERAL_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b}
_WRAPPED = re.compile(r"^[$#]\{(.*)\}$", re.S)


class UnsafeExpression(ValueError):
    """The expression uses something the evaluator does not allow (or does not parse)."""


class EvaluationError(ValueError):
    """A valid expression failed on these variables (unknown name, wrong types)."""


def strip_wrapping(text: str) -> str:
    text = text.strip()
    match = _WRAPPED.match(text)
    if match:
        text = match.group(1).strip()
    if text.startswith("=") and not text.startswith("=="):
        text = text[1:].strip()
    return text


def compile_expression(text: str) -> ast.Expression:
    """Parse and check `text`; raises UnsafeExpression naming the first thing not allowed."""
    body = strip_wrapping(text)
    if len(body) > MAX_LENGTH:
        raise UnsafeExpression(f"expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpression(f"expression {body!r} does not parse: {exc.msg}") from None
    for node in ast.walk(tree):
        _check(node)
    return tree


def evaluate(text: str, variables: dict[str, Any]) -> Any:
    """Evaluate `text` over `variables`."""
    return _eval(compile_expression(text).body, variables)


def _check(node: ast.AST) -> None:
    allowed = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
               ast.BinOp, ast.Compare, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple,
               *_BINARY, *_COMPARE)
    if not isinstance(node, allowed):
        raise UnsafeExpression(f"{type(node).__name__} is not allowed in a condition")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise UnsafeExpression(f"name {node.id!r} is not allowed (names may not start with '_')")
    if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool, type(None))):
        raise UnsafeExpression(f"literal {node.value!r} is not allowed")


def _eval(node: ast.AST, variables: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in variables:
            return variables[node.id]
        if node.id in LITERAL_NAMES:
            return LITERAL_NAMES[node.id]
        raise EvaluationError(f"unknown variable {node.id!r}")
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(item, variables) for item in node.elts]
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, variables) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, variables)
        if isinstance(node.op, ast.Not):
            return not value
        _number(value)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, variables), _eval(node.right, variables)
        if not (isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str)):
            _number(left)  # no str * int: a condition must not be able to build huge strings
            _number(right)
        try:
            return _BINARY[type(node.op)](left, right)
        except (ArithmeticError, TypeError) as exc:
            raise EvaluationError(str(exc)) from None
    if isinstance(node, ast.Compare):
        left = _eval(node.left, variables)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, variables)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError as exc:
                raise EvaluationError(f"cannot compare {left!r} and {right!r}: {exc}") from None
            left = right
        return True
    raise UnsafeExpression(f"{type(node).__name__} is not allowed")


def _number(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvaluationError(f"{value!r} is not a number")
