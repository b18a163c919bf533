"""Finding instances by a variable's value: the condition syntax, parsed here once for every
front door, and its SQL on PostgreSQL (JSONB; equality reads the GIN index) and SQLite (json_extract).
Both databases compare numbers exactly: an integer of any size as the integer it is, on SQLite
by its JSON text (`->`, SQLite 3.38 or later); a fraction as PostgreSQL's numeric, on SQLite as
the double it reads as (Python's float), against the condition's exact value.

A condition is `NAME OP VALUE`:

- NAME is a top-level variable: letters, digits, `_` and `-` (no paths), at most 100 characters;
- OP is the run of `<>=!` characters after the name, one of `=`, `!=`, `<`, `<=`, `>`, `>=`;
- VALUE is the rest, without surrounding spaces: 1 to 200 characters, no control characters.

`=` matches a string variable equal to VALUE (case-sensitive); when VALUE is written as a JSON
number (`5`, `-2.5`, `1e3`) it also matches a number variable of that value (`amount = 5`
matches 5, 5.0 and "5", never "5.0"), and `true`/`false` also match that boolean. `!=` matches
the instances that have the variable with any other value (an instance without it is not
matched). `<`, `<=`, `>`, `>=` compare numbers only: VALUE must be a JSON number, and only
number variables match (a string "7" is not a number). A VALUE past 1e300 or under 1e-300 (other
than 0) is no number to a condition: `=` compares it as text only, the others are refused.
Conditions are joined by AND; at most 5.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Numeric, String, and_, case, cast, false, func, literal, not_, or_, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from app.core.errors import InvalidInput

FIELD = "var"  # the field a bad condition is reported under: the API's, CLI's and page's name for it
OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
ORDERING = ("<", "<=", ">", ">=")
# The API's key form, `var.NAME__gte=100`: the suffix names the operator (none: `=`).
SUFFIXES = {"eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
MAX_CONDITIONS = 5
MAX_NAME = 100
MAX_VALUE = 200

_NAME = re.compile(r"[\w-]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_OPERATOR_RUN = re.compile(r"[<>=!]+")
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_COMPARE_ALL = {**_COMPARE, "=": operator.eq}


@dataclass(frozen=True)
class VariableCondition:
    name: str
    op: str
    value: str
    number: Decimal | None = None  # VALUE written as a JSON number
    flag: bool | None = None  # VALUE is `true` or `false`

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.value}"


Condition = str | tuple[str, str, str]  # `NAME OP VALUE` text, or its three parts (the API's key form)


def conditions(items: Iterable[Condition]) -> tuple[VariableCondition, ...]:
    """Every condition checked; blank texts are no condition. InvalidInput names the bad one."""
    parsed = [
        parse(item) if isinstance(item, str) else condition(*item)
        for item in items
        if not (isinstance(item, str) and not item.strip())
    ]
    if len(parsed) > MAX_CONDITIONS:
        raise InvalidInput.field(FIELD, f"at most {MAX_CONDITIONS} variable conditions; {len(parsed)} were given")
    return tuple(parsed)


def parse(text: str) -> VariableCondition:
    """`orderId = A1`, `amount>=100`."""
    run = _OPERATOR_RUN.search(text)
    if run is None:
        raise _bad(text, "a condition is NAME OP VALUE, with OP one of " + ", ".join(OPERATORS))
    return condition(text[: run.start()], run.group(), text[run.end() :], text=text)


def keyed(key: str, value: str) -> tuple[str, str, str]:
    """The API's key form: `NAME` or `NAME__SUFFIX` (SUFFIX one of SUFFIXES) and its value. A name
    that itself ends in `__gt` (or another suffix) is written `NAME__gt__eq`."""
    name, _, suffix = key.rpartition("__")
    if name and suffix in SUFFIXES:
        return name, SUFFIXES[suffix], value
    return key, "=", value


def condition(name: str, op: str, value: str, *, text: str | None = None) -> VariableCondition:
    """One condition from its parts; InvalidInput naming it (`text`, else the parts) when it is bad."""
    shown = text if text is not None else f"{name} {op} {value}"
    name, value = name.strip(), value.strip()
    if op not in OPERATORS:
        raise _bad(shown, f"unknown operator {op!r}; use one of " + ", ".join(OPERATORS))
    if not name:
        raise _bad(shown, "a variable name is required before the operator")
    if len(name) > MAX_NAME:
        raise _bad(shown, f"a variable name is at most {MAX_NAME} characters")
    if not _NAME.fullmatch(name):
        raise _bad(shown, "a variable name is letters, digits, _ and - (top-level variables only, no paths)")
    if not value:
        raise _bad(shown, "a value is required after the operator")
    if len(value) > MAX_VALUE:
        raise _bad(shown, f"a value is at most {MAX_VALUE} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _bad(shown, "a value cannot hold control characters")
    number = Decimal(value) if _NUMBER.fullmatch(value) else None
    if number is not None and number != 0 and not -300 <= number.adjusted() <= 300:
        if op in ORDERING:
            raise _bad(shown, f"{value!r} is outside the numbers a condition compares (1e-300 to 1e300 and 0)")
        number = None  # a bound kept where a double and its rounding stay defined: `=` compares text only
    if number is not None and number == 0:
        number = Decimal(0)  # `0e-999` is zero, not out of range
    if op in ORDERING and number is None:
        raise _bad(shown, f"{op} compares numbers, and {value!r} is not a number")
    flag = {"true": True, "false": False}.get(value)
    return VariableCondition(name, op, value, number, flag)


MAX_COLUMNS = 5
CELL_CHARS = 60
COLUMNS_FIELD = "columns"


def columns(text: str) -> tuple[str, ...]:
    """The variables a person chose to see as the list's columns: names split by commas or spaces,
    each a top-level name as a condition's, at most MAX_COLUMNS, repeats dropped."""
    names = tuple(dict.fromkeys(n for n in re.split(r"[,\s]+", text or "") if n))
    for name in names:
        if len(name) > MAX_NAME or not _NAME.fullmatch(name):
            shown = name if len(name) <= 40 else name[:39] + "…"
            raise InvalidInput.field(
                COLUMNS_FIELD, f"column {shown!r}: a variable name is letters, digits, _ and - (top-level only)"
            )
    if len(names) > MAX_COLUMNS:
        raise InvalidInput.field(COLUMNS_FIELD, f"at most {MAX_COLUMNS} variable columns; {len(names)} were given")
    return names


def cell(variables: dict[str, Any] | None, name: str) -> str:
    """A variable's value as a column shows it: text as it is, anything else as JSON, cut to
    CELL_CHARS; "—" when the instance has no such variable."""
    if not variables or name not in variables:
        return "—"
    value = variables[name]
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= CELL_CHARS else shown[: CELL_CHARS - 1] + "…"


def value(column: Any, name: str, dialect: str) -> ColumnElement[Any]:
    """One variable of the JSON column `column`, read as JSON (None when the instance has none)."""
    if dialect == "postgresql":
        return column[name]  # type: ignore[no-any-return]
    # SQLAlchemy's index is json_extract, which reads an integer past 64 bits as a double (past
    # 1e308 as `Inf`, not JSON); `->` answers the value's JSON text as stored.
    return type_coerce(column.op("->")(_sqlite_path(name)), JSON)


def where(column: Any, cond: VariableCondition, dialect: str) -> ColumnElement[bool]:
    """The SQL of one condition on the JSON column `column`, for a database of `dialect`."""
    if dialect == "postgresql":
        return _postgresql(column, cond)
    return _sqlite(column, cond)


def _postgresql(column: Any, cond: VariableCondition) -> ColumnElement[bool]:
    variables = type_coerce(column, JSONB)
    if cond.op in ORDERING:
        item = variables[cond.name]
        number = case((func.jsonb_typeof(item) == "number", cast(item.astext, Numeric)))
        return _COMPARE[cond.op](number, literal(cond.number, Numeric))  # type: ignore[no-any-return]
    # Containment, which the GIN index (jsonb_path_ops) answers: one lookup per typed form.
    key = json.dumps(cond.name)
    forms = [json.dumps(cond.value)]
    if cond.number is not None:
        forms.append(str(cond.number))  # a JSON number (1E+3): jsonb compares numbers by value
    if cond.flag is not None:
        forms.append(cond.value)
    equal = or_(
        *(variables.op("@>", is_comparison=True)(cast(literal(f"{{{key}: {form}}}", String), JSONB)) for form in forms)
    )
    return equal if cond.op == "=" else and_(variables.has_key(cond.name), not_(equal))


def _sqlite(column: Any, cond: VariableCondition) -> ColumnElement[bool]:
    path = _sqlite_path(cond.name)
    kind = func.json_type(column, path)
    item = func.json_extract(column, path)
    if cond.op in ORDERING:
        return _sqlite_number(column, cond.name, cond.op, cond.number)  # type: ignore[arg-type]
    forms = [and_(kind == "text", item == literal(cond.value, String))]
    if cond.number is not None:
        forms.append(_sqlite_number(column, cond.name, "=", cond.number))
    if cond.flag is not None:
        forms.append(kind == cond.value)  # json_type says 'true' or 'false'
    equal = or_(*forms)
    return equal if cond.op == "=" else and_(kind.is_not(None), not_(equal))


def _sqlite_path(name: str) -> str:
    return '$."' + name + '"'  # names hold no quotes (letters, digits, _ and -)


def _sqlite_number(column: Any, name: str, op: str, number: Decimal) -> ColumnElement[bool]:
    """`op number` for a number variable, exactly. json_extract reads an integer past 64 bits as a
    double (9999999999999999999 as 1e19), so an integer is compared by its JSON text; a real is a
    double, compared with the double bound that gives the exact answer."""
    path = _sqlite_path(name)
    kind = func.json_type(column, path)
    integer, real = _integer_bound(op, number), _double_bound(op, number)
    as_integer = _integer_text_compare(column.op("->")(path), *integer) if integer else false()
    as_real = _COMPARE_ALL[real[0]](func.json_extract(column, path), real[1]) if real else false()
    return or_(and_(kind == "integer", as_integer), and_(kind == "real", as_real))


def _integer_bound(op: str, number: Decimal) -> tuple[str, int] | None:
    """`op number` as the same test against an integer, for integer variables; None: never true."""
    if number == number.to_integral_value():
        return op, int(number)
    if op == "=":
        return None
    return ("<=", math.floor(number)) if op in ("<", "<=") else (">=", math.ceil(number))


def _double_bound(op: str, number: Decimal) -> tuple[str, float] | None:
    """`op number` as the same test against a double, for real variables: the double nearest `number`,
    and when it is not `number` itself, the operator that puts every double on the right side of
    it (no double lies between `number` and its nearest). None: never true."""
    near = float(number)
    if Decimal(near) == number:
        return op, near
    if op == "=":
        return None
    if op in ("<", "<="):
        return ("<", near) if near > number else ("<=", near)
    return (">=", near) if near > number else (">", near)


def _integer_text_compare(text: Any, op: str, bound: int) -> ColumnElement[bool]:
    """`op bound` on an integer's JSON text (no leading zeros nor plus; `-0` is zero): by sign,
    then length, then digits, which SQLite compares byte by byte."""
    digits = str(bound)
    value = case((text == "-0", "0"), else_=text)
    length, negative = func.length(value), func.substr(value, 1, 1) == "-"
    if bound >= 0:
        below = or_(negative, length < len(digits), and_(length == len(digits), value < digits))
    else:
        below = and_(negative, or_(length > len(digits), and_(length == len(digits), value > digits)))
    equal = value == digits
    return {"=": equal, "<": below, "<=": or_(below, equal), ">": not_(or_(below, equal)), ">=": not_(below)}[op]


def _bad(text: str, reason: str) -> InvalidInput:
    shown = text.strip()
    shown = shown if len(shown) <= 80 else shown[:79] + "…"
    return InvalidInput.field(FIELD, f"variable condition {shown!r}: {reason}")
