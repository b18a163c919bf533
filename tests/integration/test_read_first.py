"""app.core.extensions.read_first, the one read of an unchanged poll: outside a transaction it runs
in autocommit and leaves no transaction and no connection behind; inside the request's own
transaction it runs there and sees what that transaction wrote."""

from __future__ import annotations

from sqlalchemy import func, select, text

from app.core.extensions import db, read_first
from app.models import User
from tests.support.factories import make_user

COUNT = select(func.count()).select_from(User)


def test_outside_a_transaction_it_holds_none_and_returns_its_connection(database, app) -> None:
    make_user("ann@example.com")
    db.session.remove()
    assert read_first(COUNT, {})[0] == 1
    assert not db.session().in_transaction() and db.engine.pool.checkedout() == 0
    if database == "postgresql":  # its own transaction: it began with the statement, not at a BEGIN before it
        assert read_first(text("SELECT now() = statement_timestamp()"), {})[0] is True
    # A row added, not yet written (as the signed-in user is, on every request): still outside.
    db.session.add(User(email="bob@example.com", name="bob", password_hash="x"))
    assert db.session().in_transaction() and read_first(COUNT, {})[0] == 1
    assert db.engine.pool.checkedout() == 0
    if database == "postgresql":
        assert read_first(text("SELECT now() = statement_timestamp()"), {})[0] is True


def test_inside_the_sessions_transaction_it_sees_what_that_transaction_wrote(database, app) -> None:
    make_user("ann@example.com")
    db.session.add(User(email="bob@example.com", name="bob", password_hash="x"))
    db.session.flush()  # written, not committed: only this transaction sees it
    assert read_first(COUNT, {})[0] == 2
    if database == "postgresql":
        assert read_first(text("SELECT now() = statement_timestamp()"), {})[0] is False
    db.session.rollback()
    assert read_first(COUNT, {})[0] == 1 and db.engine.pool.checkedout() == 0
