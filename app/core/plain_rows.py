"""Rows without the ORM's machinery: new rows committed by Core INSERTs, a row read by Core kept loaded.

A launch writes four plain rows (the placeholder, its timeline entry, its audit entry, its job)
and the ORM's flush of them (sorting, state bookkeeping, a statement and a round trip per row)
cost more CPU than all the request's other work. Here the rows' values (their Python defaults
filled in) go to PostgreSQL as one INSERT per table chained in a WITH, compiled once per shape;
SQLite, which has no INSERT in a WITH, gets one cached INSERT per row. Each row then stays in
the session as a loaded row: what a flush and commit_keeping_loaded leave behind (unless its class
says nobody reads it back: then it is left detached). Likewise a row
read by a Core SELECT of some columns becomes a loaded row (known_row), its other columns loaded
on first use, without the ORM's loading of a whole entity.

A write may carry a condition (`Condition`: a read that must find a row). On PostgreSQL it is part
of the one statement, so what it checked cannot change between the check and the write; and while
the session holds no transaction yet, that statement runs alone in autocommit (one statement is one
transaction: no BEGIN and COMMIT round trips). Elsewhere it is read first, in the rows' transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Select, Table, bindparam, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper, RelationshipDirection, Session, make_transient_to_detached

from app.core.extensions import commit_keeping_loaded, db, holds_connection


@dataclass(frozen=True)
class _Shape:
    """What an INSERT of one mapped class needs, worked out once per class."""

    table: Table
    rank: int  # its table's place in foreign-key order: parents first
    columns: tuple[tuple[str, Column[Any]], ...]  # attribute, column
    # many-to-one: the relationship, and each foreign key's attribute with the parent's attribute it copies
    parents: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    children: tuple[str, ...]  # collections: a row holding any is left to the unit of work
    primary_key: tuple[tuple[str, Column[Any]], ...]
    # False for a class that says (`__kept_loaded__ = False`) the request writing one never reads it
    # back: such a row is left detached, not added to the session again (adding cascades and keeps
    # bookkeeping that no one would use).
    kept_loaded: bool


_SHAPES: dict[Mapper[Any], _Shape | None] = {}
_BEFORE_INSERT: list[Callable[[Session, list[Any]], None]] = []


def before_insert(hook: Callable[[Session, list[Any]], None]) -> None:
    """Have `hook(session, rows)` run in the rows' transaction just before commit_new_rows writes
    `rows` (their values set, a database-made key not yet): the session's flush events see none of
    them (idempotent). What it writes goes in one transaction with them."""
    if hook not in _BEFORE_INSERT:
        _BEFORE_INSERT.append(hook)


@dataclass(frozen=True)
class Condition:
    """A read that must find a row for new rows to be written. `statement` is built once (it keys
    the cached INSERT); its bind parameters (given in `params`) must not be named r<n>_…"""

    statement: Select[Any]
    params: dict[str, Any]


class NotWritten(Exception):
    """commit_new_rows' condition found no row: nothing was written, the session was rolled back."""


_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}


def commit_new_rows(only_if: Condition | None = None) -> None:
    """Commit as commit_keeping_loaded does; when the session's only changes are new rows of plain
    mapped classes, they are written as above, in the same transaction. Anything else (a changed
    or deleted row, children, inheritance, a parent not yet stored) goes through the unit of work.
    With `only_if`, nothing is written unless it finds a row (else NotWritten)."""
    session = db.session()
    new = list(session.new)
    if not new or session.dirty or session.deleted:
        _by_unit_of_work(session, only_if)
        return
    shapes = [_shape(sa_inspect(row).mapper) for row in new]
    if not all(shape is not None and _insertable(row, shape) for row, shape in zip(new, shapes, strict=True)):
        _by_unit_of_work(session, only_if)
        return
    # Parents' tables first (a stable sort: else in the order they were added).
    ordered: list[tuple[Any, _Shape]] = sorted(zip(new, shapes, strict=True), key=lambda pair: pair[1].rank)  # type: ignore[arg-type]
    for row in new:
        session.expunge(row)  # out of the unit of work: written below, then added back as loaded
    values = [_values(row, shape) for row, shape in ordered]
    for hook in _BEFORE_INSERT:
        hook(session, [row for row, _shape in ordered])
    keys = _written(session, ordered, values, only_if)
    for row, shape in ordered:
        for name, _column in shape.primary_key:
            setattr(row, name, keys.pop(0))
        make_transient_to_detached(row)
        if shape.kept_loaded:
            session.add(row)
    commit_keeping_loaded()


def _written(
    session: Session, ordered: list[tuple[Any, _Shape]], values: list[dict[str, Any]], only_if: Condition | None
) -> list[Any]:
    """Write the rows; their primary keys, in order. NotWritten when `only_if` finds nothing."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" and (len(ordered) > 1 or only_if is not None):
        statement, params = _together(ordered, values, only_if)
        if holds_connection(session):
            keys = list(session.connection().execute(statement, params).one())
        else:  # nothing else in this transaction: the statement is one by itself
            with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as alone:
                keys = list(alone.execute(statement, params).one())
        if only_if is not None and keys[0] is None:
            session.rollback()
            raise NotWritten
        return keys
    _refuse_unless_found(session, only_if)
    connection = session.connection()
    return [
        key
        for (_row, shape), row_values in zip(ordered, values, strict=True)
        for key in _alone(connection, shape, row_values)
    ]


def _by_unit_of_work(session: Session, only_if: Condition | None) -> None:
    _refuse_unless_found(session, only_if)
    commit_keeping_loaded()


def _refuse_unless_found(session: Session, only_if: Condition | None) -> None:
    """Read the condition in the session's transaction, ahead of the rows it guards."""
    if only_if is not None and session.connection().execute(only_if.statement, only_if.params).first() is None:
        session.rollback()
        raise NotWritten


def known_row(model: type[Any], values: dict[str, Any]) -> Any:
    """The session's row of `model` with these column values (its primary key among them): the one
    the session holds already, else a row made of them, as loaded; its other columns load on use."""
    session = db.session()
    mapper = sa_inspect(model)
    key = mapper.identity_key_from_primary_key(
        tuple(values[mapper.get_property_by_column(c).key] for c in mapper.primary_key)
    )
    known = session.identity_map.get(key)
    if known is not None:
        return known
    row = model(**values)
    make_transient_to_detached(row)
    session.add(row)
    return row


def _insertable(row: Any, shape: _Shape) -> bool:
    """Whether the row's parents are stored rows and it holds no children to write with it."""
    loaded = row.__dict__
    if any(loaded.get(name) for name in shape.children):
        return False
    return all(loaded.get(name) is None or sa_inspect(loaded[name]).key is not None for name, _pairs in shape.parents)


def _values(row: Any, shape: _Shape) -> dict[str, Any]:
    """The row's column values by column key, as a flush would send them, set on the row too:
    foreign keys from parent objects, defaults for what is unset (or None), the rest as given.
    An unset column without a default is left out (SQL NULL, also for JSON, where None is 'null')."""
    loaded = row.__dict__
    for name, pairs in shape.parents:
        parent = loaded.get(name)
        if parent is not None:
            for attribute, parent_attribute in pairs:
                setattr(row, attribute, getattr(parent, parent_attribute))
    values: dict[str, Any] = {}
    for name, column in shape.columns:
        value = loaded.get(name)
        # None given to JSON is JSON's null (as a flush sends it), not a reason for the default.
        given_null = name in loaded and column.type.should_evaluate_none
        if value is None and column.default is not None and not given_null:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg  # type: ignore[attr-defined]
            setattr(row, name, value)
        elif name not in loaded or (value is None and column.primary_key):
            if not column.primary_key:
                setattr(row, name, None)
            continue
        values[column.key] = value
    return values


def _together(
    ordered: list[tuple[Any, _Shape]], values: list[dict[str, Any]], only_if: Condition | None
) -> tuple[Select[Any], dict[str, Any]]:
    """One statement: each row's INSERT in a WITH, and a SELECT of every row's primary key. With a
    condition, each INSERT takes its values from a SELECT of the condition's rows: all or none."""
    cache_key = (only_if.statement if only_if is not None else None,) + tuple(
        (shape.table, tuple(row_values)) for (_row, shape), row_values in zip(ordered, values, strict=True)
    )
    statement = _STATEMENTS.get(cache_key)
    if statement is None:
        condition = only_if.statement.cte("only_if") if only_if is not None else None
        inserts = [
            _insert(
                shape, {key: bindparam(f"r{n}_{key}", type_=shape.table.c[key].type) for key in row_values}, condition
            )
            .returning(*(column for _name, column in shape.primary_key))
            .cte(f"r{n}")
            for n, ((_row, shape), row_values) in enumerate(zip(ordered, values, strict=True))
        ]
        statement = select(
            *(
                select(cte.c[column.key]).scalar_subquery()
                for cte, (_row, shape) in zip(inserts, ordered, strict=True)
                for _name, column in shape.primary_key
            )
        )
        _STATEMENTS[cache_key] = statement
    params = {f"r{n}_{key}": value for n, row_values in enumerate(values) for key, value in row_values.items()}
    return statement, {**params, **(only_if.params if only_if is not None else {})}


def _insert(shape: _Shape, binds: dict[str, Any], condition: Any) -> Any:
    if condition is None:
        return insert(shape.table).values(binds)
    return insert(shape.table).from_select(list(binds), select(*binds.values()).select_from(condition))


def _alone(connection: Any, shape: _Shape, values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(connection.execute(shape.table.insert(), values).inserted_primary_key)


def _shape(mapper: Mapper[Any]) -> _Shape | None:
    if mapper in _SHAPES:
        return _SHAPES[mapper]
    table = mapper.local_table
    columns = tuple((prop.key, prop.columns[0]) for prop in mapper.column_attrs)
    plain = (
        isinstance(table, Table)
        and mapper.inherits is None
        and mapper.polymorphic_on is None
        and mapper.version_id_col is None
        and all(len(prop.columns) == 1 and prop.columns[0].table is table for prop in mapper.column_attrs)
        # Defaults this module can work out: a value or a Python function (no SQL expressions).
        and all(
            c.server_default is None and (c.default is None or c.default.is_scalar or c.default.is_callable)
            for _n, c in columns
        )  # type: ignore[attr-defined]
    )
    shape = None
    if plain:
        ranks = {t: n for n, t in enumerate(table.metadata.sorted_tables)}
        shape = _Shape(
            table=table,  # type: ignore[arg-type]
            rank=ranks[table],  # type: ignore[index]
            columns=columns,
            parents=tuple(
                (
                    rel.key,
                    tuple(
                        (mapper.get_property_by_column(local).key, rel.mapper.get_property_by_column(remote).key)
                        for local, remote in rel.local_remote_pairs
                    ),
                )
                for rel in mapper.relationships
                if rel.direction is RelationshipDirection.MANYTOONE
            ),
            children=tuple(
                rel.key for rel in mapper.relationships if rel.direction is not RelationshipDirection.MANYTOONE
            ),
            primary_key=tuple((mapper.get_property_by_column(c).key, c) for c in mapper.primary_key),
            kept_loaded=getattr(mapper.class_, "__kept_loaded__", True),
        )
    _SHAPES[mapper] = shape
    return shape
