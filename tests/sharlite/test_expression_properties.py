"""Property tests of the engine's readers of uploaded text: the restricted evaluator over any
condition and any variables, and the loader and a launch of a small generated document with any
ids, names and texts. Each gives a value (an instance running, completed or failed with a reason)
or the module's own refusal (EvaluationError, UnsafeExpression, RefusedBpmn), never another
exception. Pure: the engine in memory, no server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.bpmn.expressions import UnsafeExpression, language_of, translate
from app.sharlite.bpmn_loader import RefusedBpmn, load
from app.sharlite.engine import Engine
from app.sharlite.expressions import EvaluationError, evaluate
from app.sharlite.store import Store
from tests.support.factories import bpmn
from tests.support.strategies import EXPRESSIONS, FAST, LANGUAGES, documents, refused_plainly

NAMES = st.sampled_from(["a", "b_1", "n", "x", "amount", "lt", "done"])
VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**1300),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
VARIABLES = st.dictionaries(NAMES, VALUES, max_size=4)


@FAST
@given(EXPRESSIONS, LANGUAGES, VARIABLES)
@example("a + a", None, {"a": "x" * 60_000})
@example("a / b", None, {"a": 10**400, "b": 0.5})
@example("a in b", None, {"a": [1], "b": "text"})
@example("-" * 1999 + "a", None, {"a": 1})
def test_any_condition_over_any_variables_is_a_value_or_a_refusal(
    text: str, declared: str | None, variables: dict[str, Any]
) -> None:
    try:
        prepared = translate(text, language_of(text, declared))  # what the analysis hands the engine
    except UnsafeExpression as exc:
        refused_plainly(exc)
        return
    try:
        evaluate(prepared, variables)
    except (EvaluationError, UnsafeExpression) as exc:
        refused_plainly(exc)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    running = Engine(Store(":memory:"), step_budget=200)
    yield running
    running.close()


@FAST
@given(documents(), VARIABLES)
# Found by this property: a flow into the start event sent the engine's path layout into endless recursion.
@example(document=bpmn("start_loops_to_itself"), variables={})
def test_any_generated_document_loads_and_launches_or_is_refused(
    engine: Engine, document: str, variables: dict[str, Any]
) -> None:
    try:
        load(document)
    except RefusedBpmn as exc:
        refused_plainly(exc)
        return
    engine.create_workflow("Drawn", document)
    try:
        instance = engine.launch("Drawn", variables)
    except RefusedBpmn as exc:  # no executable process, ...
        refused_plainly(exc)
        return
    assert instance["status"] in ("running", "completed", "failed")
    if instance["status"] == "failed":
        refused_plainly(RuntimeError(instance["error"]))
