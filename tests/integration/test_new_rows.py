"""app.core.plain_rows.commit_new_rows, how a launch's four rows are written: what it stores is what the
unit of work stores (defaults, foreign keys from parent objects, JSON's null beside SQL NULL), on
PostgreSQL in one statement, all or nothing; the rows stay loaded; anything else goes the ORM's way.
A condition the write carries decides all or none of it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, inspect, select, update
from sqlalchemy.exc import IntegrityError

from app.core.extensions import commit_keeping_loaded, db
from app.core.plain_rows import Condition, NotWritten, commit_new_rows
from app.models import ActivityEvent, AuditEntry, JobRecord, Workflow, WorkflowInstance
from tests.support.factories import make_user

TIMES = {"created_at", "updated_at", "progressed_at"}  # each write's own clock


def _workflow() -> Workflow:
    workflow = Workflow(name="Order", bpmn_xml="<definitions/>", bpmn_sha256="0" * 64, status="active")
    db.session.add(workflow)
    db.session.commit()
    return workflow


def _launch_rows(workflow: Workflow, user_id: int, instance_id: str) -> list[Any]:
    """A launch's rows, added to the session as the launch adds them (the instance by its parent object)."""
    rows = [
        WorkflowInstance(id=instance_id, workflow=workflow, status="launching", variables={"a": 1}, created_by=user_id),
        ActivityEvent(target_type="instance", target_id=instance_id, kind="placeholder_created", message="queued"),
        AuditEntry(
            actor_id=user_id, action="instance.launch", target_type="instance", target_id=instance_id, before=None
        ),
        JobRecord(job_type="launch_instance", queue="q", target_type="instance", target_id=instance_id, payload={}),
    ]
    db.session.add_all(rows)
    return rows


def _stored(row: Any) -> dict[str, Any]:
    """The row as the database holds it (all but its id, target and clocks), JSON columns with
    whether they hold SQL NULL."""
    table = inspect(row).mapper.local_table
    key = inspect(row).mapper.primary_key[0]
    found = db.session.execute(select(table).where(key == getattr(row, key.key))).mappings().one()
    nulls = db.session.execute(
        select(*(c.is_(None).label(c.key) for c in table.c if c.type.should_evaluate_none)).where(
            key == getattr(row, key.key)
        )
    ).one()
    skipped = TIMES | {"id", "target_id"}
    return {**{k: v for k, v in found.items() if k not in skipped}, "sql_null": dict(nulls._mapping)}


def test_rows_are_stored_as_the_unit_of_work_stores_them_in_one_statement(database: str, app: Any) -> None:
    workflow, user = _workflow(), make_user()
    by_orm = _launch_rows(workflow, user.id, "i-orm")
    commit_keeping_loaded()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    by_core = _launch_rows(workflow, user.id, "i-core")
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        commit_new_rows()
        # Loaded, as after a flush and a commit that expires nothing: reading them asks nothing.
        read = [{a.key: getattr(row, a.key) for a in inspect(row).mapper.column_attrs} for row in by_core]
        assert by_core[0].workflow is workflow
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == (1 if database == "postgresql" else 4), statements
    # The placeholder and the job stay in the session; the timeline and audit entries, which the request
    # never reads back (__kept_loaded__ = False), are left detached with their keys and values.
    kept = [type(row).__name__ for row in by_core if inspect(row).persistent and not inspect(row).modified]
    assert kept == ["WorkflowInstance", "JobRecord"], kept
    assert all(inspect(row).detached and row.id for row in by_core if type(row).__name__ not in kept)
    assert by_core[0].workflow_id == workflow.id and by_core[3].state == "queued" and by_core[3].attempts == 0
    for orm_row, core_row, values in zip(by_orm, by_core, read, strict=True):
        assert _stored(core_row) == _stored(orm_row)
        again = db.session.scalars(
            select(type(core_row)).filter_by(id=core_row.id).execution_options(populate_existing=True)
        ).one()
        assert {k: getattr(again, k) for k in values} == values  # what the row says is what was written


def test_a_failed_insert_stores_none_of_the_rows(database: str, app: Any) -> None:
    workflow, user = _workflow(), make_user()
    _launch_rows(workflow, user.id, "i-1")
    commit_new_rows()
    _launch_rows(workflow, user.id, "i-1")  # the placeholder's id is taken: the statement fails
    with pytest.raises(IntegrityError):
        commit_new_rows()
    db.session.rollback()
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (ActivityEvent, AuditEntry, JobRecord)]
    assert counts == [1, 1, 1]


def test_a_changed_row_beside_new_ones_goes_through_the_unit_of_work(database: str, app: Any) -> None:
    workflow, user = _workflow(), make_user()
    workflow.description = "changed"
    _launch_rows(workflow, user.id, "i-2")
    commit_new_rows()
    db.session.expire_all()
    assert db.session.get(Workflow, workflow.id).description == "changed"  # type: ignore[union-attr]
    assert db.session.get(WorkflowInstance, "i-2").workflow_id == workflow.id  # type: ignore[union-attr]


def test_a_new_instance_on_the_diagram_moves_its_counts_version_a_placeholder_does_not(database: str, app: Any) -> None:
    workflow, user = _workflow(), make_user()

    def revision() -> int:
        return db.session.scalar(select(Workflow.counts_revision).filter_by(id=workflow.id))  # type: ignore[return-value]

    before = revision()
    _launch_rows(workflow, user.id, "i-3")  # a launch placeholder: on no diagram
    commit_new_rows()
    assert revision() == before
    db.session.add(WorkflowInstance(id="i-4", workflow=workflow, status="running", created_by=user.id))
    commit_new_rows()
    assert revision() == before + 1


FOUND = select(Workflow.id).where(Workflow.name == bindparam("cond_name"))  # built once: it keys the INSERT


def _stored_rows() -> list[int]:
    db.session.expire_all()
    return [
        db.session.scalar(select(func.count()).select_from(m)) for m in (WorkflowInstance, ActivityEvent, JobRecord)
    ]


def test_rows_are_written_only_if_their_condition_finds_a_row(database: str, app: Any) -> None:
    workflow, user = _workflow(), make_user()
    _launch_rows(workflow, user.id, "i-5")
    with pytest.raises(NotWritten):
        commit_new_rows(Condition(FOUND, {"cond_name": "Other"}))
    assert not db.session.new and _stored_rows() == [0, 0, 0]
    _launch_rows(workflow, user.id, "i-5")  # the same rows again: nothing of the first try is in the way
    commit_new_rows(Condition(FOUND, {"cond_name": "Order"}))
    assert _stored_rows() == [1, 1, 1]


def test_a_refused_write_undoes_what_its_transaction_held_and_one_alone_runs_by_itself(database: str, app: Any) -> None:
    workflow, user_id = _workflow(), make_user().id
    autocommit: list[bool] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "INSERT" in statement:
            autocommit.append(bool(getattr(conn.connection.dbapi_connection, "autocommit", False)))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        db.session.execute(update(Workflow).where(Workflow.id == workflow.id).values(description="held"))
        _launch_rows(workflow, user_id, "i-6")
        with pytest.raises(NotWritten):
            commit_new_rows(Condition(FOUND, {"cond_name": "Other"}))
        assert db.session.scalar(select(Workflow.description).filter_by(id=workflow.id)) == ""
        held = len(autocommit)
        db.session.refresh(workflow)
        commit_keeping_loaded()  # the transaction ends, its rows stay loaded: the next write reads nothing first
        _launch_rows(workflow, user_id, "i-6")
        commit_new_rows(Condition(FOUND, {"cond_name": "Order"}))  # the session holds no transaction now
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    # PostgreSQL: one statement, inside the transaction that held the change, then alone (autocommit).
    assert autocommit == ([False, True] if database == "postgresql" else [False] * 4), autocommit
    assert held == (1 if database == "postgresql" else 0)
