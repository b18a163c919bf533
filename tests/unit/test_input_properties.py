"""Property tests of the parsers of people's text: ages, variable conditions, JSON bodies and form
variables. Any text gives a value or InvalidInput with a plain message, never another exception
(an OverflowError, a decimal error, a KeyError: each a 500 at a front door). Pure: no server."""

from __future__ import annotations

import functools
import json
import tempfile
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite

from app.core import json_input
from app.core.errors import InvalidInput
from app.services import variable_filters
from app.services.instance_listing import MAX_AGE, parse_age
from app.services.instances import check_variables
from tests.support.strategies import FAST

_TABLE = Table("t", MetaData(), Column("variables", JSON), Column("id", String))

# Texts near each grammar: its own characters, digits, units and operators, mixed with any text.
_AGE_PARTS = st.sampled_from(
    [
        "0",
        "1",
        "9",
        "99999",
        "999999999",
        "9" * 30,
        " ",
        "s",
        "m",
        "h",
        "d",
        "w",
        "W",
        "-",
        "+",
        ".",
        "e",
        "\u0663",
        "\u00a0",
        "\n",
    ]
)
_AGES = st.one_of(st.text(), st.lists(_AGE_PARTS, max_size=6).map("".join))
_CONDITION_PARTS = st.sampled_from(
    [
        "amount",
        "a_b-c",
        "é",
        " ",
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "!",
        "<>",
        "==",
        "5",
        "-2.5",
        "1e3",
        "1e999",
        "1E-400",
        "0e-99999",
        "9" * 400,
        "true",
        "null",
        "\x00",
        "\x7f",
        "'",
        '"',
        "\u0663",
        "x" * 210,
    ]
)
_CONDITIONS = st.one_of(st.text(), st.lists(_CONDITION_PARTS, max_size=6).map("".join))
_JSON_PARTS = st.sampled_from(
    [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        '"a"',
        '"\\ud800"',
        '"\\u0000"',
        "1",
        "-0",
        "1e999",
        "1" * 5000,
        "NaN",
        "-Infinity",
        "true",
        "null",
        " ",
        '"a":1',
        "\\",
        "\udc80",
        "é",
    ]
)
_JSON_TEXTS = st.one_of(st.text(), st.lists(_JSON_PARTS, max_size=12).map("".join))


def _refused_plainly(exc: InvalidInput) -> None:
    assert exc.errors and all(messages for messages in exc.errors.values())
    assert 0 < len(exc.message) <= 600 and "Traceback" not in exc.message


@FAST
@given(_AGES)
@example("999999999w")  # once an OverflowError: past what a timedelta holds
@example("5218w")
def test_any_age_text_is_a_bounded_age_or_a_refusal(text: str) -> None:
    try:
        age = parse_age(text)
    except InvalidInput as exc:
        _refused_plainly(exc)
        assert list(exc.errors) == ["older_than"]
    else:
        assert timedelta(0) < age <= MAX_AGE


@FAST
@given(_CONDITIONS)
@example("amount >= 0e-99999")
@example("amount = 1e999999999")
def test_any_condition_text_is_a_condition_or_a_refusal(text: str) -> None:
    try:
        parsed = variable_filters.conditions([text])
    except InvalidInput as exc:
        _refused_plainly(exc)
        assert list(exc.errors) == [variable_filters.FIELD]
        return
    for condition in parsed:
        # The SQL of an accepted condition builds and compiles on both databases.
        for dialect in (sqlite.dialect(), postgresql.dialect()):
            where = variable_filters.where(_TABLE.c.variables, condition, dialect.name)
            str(where.compile(dialect=dialect))
        assert condition.number is None or condition.number == 0 or -300 <= condition.number.adjusted() <= 300


@FAST
@given(st.text(), st.text())
def test_any_api_key_and_value_is_a_condition_or_a_refusal(key: str, value: str) -> None:
    try:
        variable_filters.conditions([variable_filters.keyed(key, value)])
    except InvalidInput as exc:
        _refused_plainly(exc)


@FAST
@given(st.one_of(_JSON_TEXTS, _JSON_TEXTS.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary()))
@example("[" * 100_000)
@example('{"a": 1, "a": 2}')
def test_any_json_body_is_a_value_or_a_refusal(raw: str | bytes) -> None:
    try:
        value = json_input.loads(raw)
    except InvalidInput as exc:
        _refused_plainly(exc)
        return
    json_input.check_value(value)  # what it accepted keeps its own rules
    json.dumps(value, allow_nan=False)
    canonical = json_input.canonical(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
    assert json_input.loads(canonical) == value


@FAST
@given(st.lists(st.tuples(st.text(max_size=20), _JSON_TEXTS), max_size=4), st.one_of(st.none(), _JSON_TEXTS))
def test_any_launch_form_is_variables_or_a_refusal(rows: list[tuple[str, str]], text: str | None) -> None:
    # The page parses the form, then the launch checks the variables as every door's (a row's plain
    # text may hold what no database stores, U+0000: that refusal is the launch's).
    try:
        with _settings_only().app_context():  # the size limit is a setting
            check_variables(json_input.form_variables(rows, text))
    except InvalidInput as exc:
        _refused_plainly(exc)
        assert list(exc.errors) == ["variables"]


@functools.cache
def _settings_only() -> Any:
    """An app for its settings alone: never connected to a database or a queue."""
    from app import create_app

    return create_app(
        database_url="sqlite://",
        redis_url="",
        shar_base_url="http://127.0.0.1:9",
        secret_key="test-secret",
        mail_enabled=False,
        log_level="WARNING",
        instance_dir=tempfile.mkdtemp(prefix="sharboard-settings-"),
    )


@FAST
@given(st.one_of(st.text(), st.integers(), st.booleans(), st.none(), st.floats(), st.just(Decimal("1e99999"))))
def test_any_whole_number_text_is_in_range_or_a_refusal(value: object) -> None:
    try:
        number = json_input.whole_number(value, "page", 1, 10_000)
    except InvalidInput as exc:
        _refused_plainly(exc)
    else:
        assert 1 <= number <= 10_000
