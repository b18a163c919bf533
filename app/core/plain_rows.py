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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Select, Table, bindparam, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper, RelationshipDirection, Session, make_transient_to_detached

from app.core.extensions import commit_keeping_loaded, db


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
_AFTER_INSERT: list[Callable[[Session, list[Any]], None]] = []


def after_insert(hook: Callable[[Session, list[Any]], None]) -> None:
    """Have `hook(session, rows)` run after commit_new_rows wrote `rows`, before the commit: the
    session's flush events (after_flush) see none of them (idempotent)."""
    if hook not in _AFTER_INSERT:
        _AFTER_INSERT.append(hook)


_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}


def commit_new_rows() -> None:
    """Commit as commit_keeping_loaded does; when the session's only changes are new rows of plain
    mapped classes, they are written as above, in the same transaction. Anything else (a changed
    or deleted row, children, inheritance, a parent not yet stored) goes through the unit of work."""
    session = db.session()
    new = list(session.new)
    if not new or session.dirty or session.deleted:
        commit_keeping_loaded()
        return
    shapes = [_shape(sa_inspect(row).mapper) for row in new]
    if not all(shape is not None and _insertable(row, shape) for row, shape in zip(new, shapes, strict=True)):
        commit_keeping_loaded()
        return
    # Parents' tables first (a stable sort: else in the order they were added).
    ordered: list[tuple[Any, _Shape]] = sorted(zip(new, shapes, strict=True), key=lambda pair: pair[1].rank)  # type: ignore[arg-type]
    for row in new:
        session.expunge(row)  # out of the unit of work: written below, then added back as loaded
    values = [_values(row, shape) for row, shape in ordered]
    connection = session.connection()
    if len(ordered) > 1 and connection.dialect.name == "postgresql":
        keys = list(connection.execute(*_together(ordered, values)).one())
    else:
        keys = [
            key
            for (_row, shape), row_values in zip(ordered, values, strict=True)
            for key in _alone(connection, shape, row_values)
        ]
    for row, shape in ordered:
        for name, _column in shape.primary_key:
            setattr(row, name, keys.pop(0))
        make_transient_to_detached(row)
        if shape.kept_loaded:
            session.add(row)
    for hook in _AFTER_INSERT:
        hook(session, [row for row, _shape in ordered])
    commit_keeping_loaded()


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


def _together(ordered: list[tuple[Any, _Shape]], values: list[dict[str, Any]]) -> tuple[Select[Any], dict[str, Any]]:
    """One statement: each row's INSERT in a WITH, and a SELECT of every row's primary key."""
    cache_key = tuple(
        (shape.table, tuple(row_values)) for (_row, shape), row_values in zip(ordered, values, strict=True)
    )
    statement = _STATEMENTS.get(cache_key)
    if statement is None:
        inserts = [
            insert(shape.table)
            .values({key: bindparam(f"r{n}_{key}", type_=shape.table.c[key].type) for key in row_values})
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
    return statement, {f"r{n}_{key}": value for n, row_values in enumerate(values) for key, value in row_values.items()}


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
