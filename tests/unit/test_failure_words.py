"""What a failed job says where people read it: a database error's SQL and parameters stay out (they
quoted variables and e-mail addresses on an owner's timeline after a database flap)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from app.jobs.attempt_ends import said


def test_a_database_error_says_the_databases_words_without_the_statement_or_its_parameters() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
        connection.execute(text("SELECT secret FROM nowhere WHERE email = :email"), {"email": "ann@example.com"})
    assert "SELECT" in str(raised.value) and "ann@example.com" in str(raised.value)  # what it was before
    words = said(raised.value)
    assert words == "the database failed (OperationalError): no such table: nowhere"


def test_other_errors_say_their_message_or_their_kind() -> None:
    assert said(ValueError("the variables are too large")) == "the variables are too large"
    assert said(TimeoutError()) == "TimeoutError"
