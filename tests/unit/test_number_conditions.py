"""Property: on SQLite, a number condition on a number variable gives the answer exact arithmetic
gives, for integers of any size (json_extract reads one past 64 bits as a double) and for doubles
against any bound (float(bound) rounds). SQLite in memory, no server; PostgreSQL compares numeric
exactly, and tests/api/test_big_integers.py runs the same cases through both databases."""

from __future__ import annotations

import json
import operator
from decimal import Decimal
from typing import Any

from hypothesis import assume, example, given
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, Integer, MetaData, Table, create_engine, insert, select

from app.core.errors import InvalidInput
from app.services import variable_filters
from tests.support.strategies import FAST

_TABLE = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("variables", JSON))
_ENGINE = create_engine("sqlite://")
_TABLE.metadata.create_all(_ENGINE)
_EXACT = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

# Integers near the edges that matter: 64 bits, powers of ten (doubles), 309 digits (past a double).
_EDGES = [0, 2**53, 2**63, 10**19, 10**22, 10**200, 10**308, 10**309, 10**400]
_INTEGERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.builds(
        lambda edge, step, sign: sign * (edge + step),
        st.sampled_from(_EDGES),
        st.integers(-3, 3),
        st.sampled_from([1, -1]),
    ),
)
# Doubles whose JSON text SQLite reads back exactly (short decimals: its own parser is not held to
# correct rounding, which is no rule of this filter).
_DOUBLES = st.one_of(
    st.integers(-(2**40), 2**40).map(lambda n: n / 4),
    st.builds(lambda k, sign: sign * float(10**k), st.integers(0, 22), st.sampled_from([1.0, -1.0])),
)


def _bound_text(anchor: int | float, step: int, fraction: str, exponent: bool) -> str:
    """A condition's number near `anchor`: a step away, maybe with a fraction or in e-notation."""
    base = int(anchor) + step
    if exponent and base:
        digits = str(abs(base)).rstrip("0")
        return f"{'-' if base < 0 else ''}{digits[0]}.{digits[1:] or '0'}e{len(str(abs(base))) - 1}"
    return f"{base}{fraction}"


@FAST
@given(
    st.one_of(_INTEGERS, _DOUBLES),
    st.one_of(st.none(), _INTEGERS, _DOUBLES),  # the bound near the variable, or near another number
    st.sampled_from(list(_EXACT)),
    st.integers(-2, 2),
    st.sampled_from(["", ".5", ".000001", ".0"]),
    st.booleans(),
)
@example(10**19 - 1, None, "=", 1, "", False)  # 9999999999999999999 is not 1e19 (the tester's false match)
@example(10**19 - 1, None, ">=", 1, "", False)
@example(1e19, None, "=", -1, "", False)  # the double 1e19 is not 9999999999999999999
@example(-(10**400), -(10**199), "<", 0, ".5", False)
@example(10**309, 10**300, ">", 0, "", True)
def test_a_number_condition_on_sqlite_is_exact(
    variable: Any, anchor: Any, op: str, step: int, fraction: str, exponent: bool
) -> None:
    text = _bound_text(variable if anchor is None else anchor, step, fraction, exponent)
    try:
        condition = variable_filters.condition("d", op, text)
    except InvalidInput:
        assume(False)  # over 200 characters or past 1e300: the condition's own rule, tested elsewhere
    assume(condition.number is not None)
    expected = _EXACT[op](Decimal(variable), Decimal(text))
    with _ENGINE.begin() as connection:
        connection.execute(_TABLE.delete())
        connection.execute(insert(_TABLE), [{"id": 1, "variables": {"d": variable}}])
        where = variable_filters.where(_TABLE.c.variables, condition, "sqlite")
        found = connection.execute(select(_TABLE.c.id).where(where)).scalars().all()
    assert found == ([1] if expected else []), (json.dumps(variable)[:60], op, text)
