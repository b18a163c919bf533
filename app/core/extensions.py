"""Flask extensions, created unbound and bound to an app in create_app()."""

from typing import Any

from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Row, event
from sqlalchemy.orm import Session

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
mail = Mail()
login_manager = LoginManager()
csrf = CSRFProtect()


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds. For a step whose rows are its own (a job
    it claimed, a row it just wrote): reading them after a plain commit loads each again, one
    SELECT each, only to read back the values just written."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def dialect_name() -> str:
    """The session's database, `postgresql` or `sqlite`: for the few queries written per dialect."""
    return db.session.get_bind().dialect.name


def read_first(statement: Any, params: dict[str, Any]) -> Row[Any] | None:
    """The first row of one read-only statement. While the request's session holds no database
    transaction, on a pooled connection in autocommit: a polled read is otherwise wrapped in
    BEGIN and ROLLBACK (two of its three round trips to PostgreSQL) and in the ORM session's
    transaction bookkeeping; one statement reads one consistent snapshot either way. Once the
    session holds one, it runs there, to see what that transaction wrote."""
    session = db.session()
    if holds_connection(session):
        return session.connection().execute(statement, params).first()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(statement, params).first()


# Session.in_transaction() is no guide: adding a row (the signed-in user, app.security.principals)
# begins a transaction that has no connection yet. These mark when a session's has one.
_HOLDS_CONNECTION = "sharboard.holds_connection"


@event.listens_for(Session, "after_begin")
def _connection_begun(session: Session, _transaction: Any, _connection: Any) -> None:
    session.info[_HOLDS_CONNECTION] = True


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_HOLDS_CONNECTION, None)


def holds_connection(session: Session) -> bool:
    """Whether the session's transaction has begun on a connection."""
    return bool(session.info.get(_HOLDS_CONNECTION))
