"""Saved views: a named instance list (filter, variable columns, sort) a person keeps and opens from
the navigation; an admin publishes one to everyone.

    save_view       a new view of the caller's (any role: a view changes nothing); published at once
                    only by an admin
    rename_view     its owner (an admin too, for a published one)
    publish_view    an admin shows it to everyone, or takes it back (audited)
    delete_view     its owner (an admin too, for a published one); audited
    views_for       the caller's views and the published ones, for the navigation and the lists
    open_view       the view with its filter ready to list, or the reason its stored filter no longer
                    works (a workflow since deleted, a rule since tightened), never an error page

Sharing: a view's own link opens for its owner, and for everyone who can sign in once it is
published; its filter link (`/instances?...`, `link_args`) always works, for whoever opens it,
within what they may see. Who may see and change a view is access.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.core.errors import Conflict, InvalidInput
from app.core.extensions import db
from app.core.json_input import json_type
from app.models import SavedView, Workflow
from app.services import bulk, variable_filters
from app.services.access import find_view, require_publisher, require_view_change
from app.services.actors import Actor
from app.services.audit import audit
from app.services.instance_listing import SORTS, InstanceFilter, check_sort, filtered_instances

MAX_NAME = 100
NAV_LIMIT = 20  # the navigation lists this many of each kind; the views page lists them all


@dataclass(frozen=True)
class OpenedView:
    view: SavedView
    filters: InstanceFilter
    columns: tuple[str, ...]
    sort: str
    problem: str | None = None  # why its stored filter lists nothing now, said where the list would be


def check_name(name: Any) -> str:
    if name is not None and not isinstance(name, str):
        raise InvalidInput.field("name", f"a view's name must be a string, not {json_type(name)}")
    text = (name or "").strip()
    if not text:
        raise InvalidInput.field("name", "a view needs a name")
    if len(text) > MAX_NAME or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput.field("name", f"a view's name is at most {MAX_NAME} characters, no control characters")
    return text


def save_view(
    name: Any,
    filters: InstanceFilter,
    *,
    actor: Actor,
    columns: str | Sequence[str] = (),
    sort: str | None = None,
    published: Any = False,
) -> SavedView:
    """Store the list as `actor`'s view `name`; its filter, columns and sort are checked as the list checks them."""
    published = _flag(published)
    if actor.id is None:
        raise InvalidInput.field("owner", "a view belongs to a person; the command line has none to save to")
    if published:
        require_publisher(actor)
    filtered_instances(actor, filters)  # the filter's own checks (status, version, conditions, age, element)
    view = SavedView(
        owner_id=actor.id,
        name=check_name(name),
        filter=filters.as_dict(),
        columns=list(_columns(columns)),
        sort=check_sort(sort),
        published=published,
    )
    db.session.add(view)
    _flush_unique(view.name)
    if published:
        audit(actor, "view.publish", "view", view.id, after=_described(view))
    db.session.commit()
    return view


def rename_view(view_id: int, name: Any, *, actor: Actor) -> SavedView:
    view = find_view(view_id, actor)
    require_view_change(actor, view)
    view.name = check_name(name)
    _flush_unique(view.name)
    db.session.commit()
    return view


def publish_view(view_id: int, published: bool, *, actor: Actor) -> SavedView:
    """Show the view to everyone (`published`), or take it back to its owner alone; audited."""
    require_publisher(actor)
    view = find_view(view_id, actor)
    if view.published != published:
        audit(actor, "view.publish" if published else "view.unpublish", "view", view.id, after=_described(view))
        view.published = published
        db.session.commit()
    return view


def update_view(view_id: int, *, actor: Actor, name: Any = None, published: Any = None) -> SavedView:
    """Rename and/or publish in one call (the API's PATCH): each checked as its own operation."""
    if published is not None:
        require_publisher(actor)  # refused before anything, as publish_view, so a refused call changes nothing
    view = find_view(view_id, actor)
    if name is not None:
        view = rename_view(view_id, name, actor=actor)
    if published is not None:
        view = publish_view(view_id, _flag(published), actor=actor)
    return view


def delete_view(view_id: int, *, actor: Actor) -> None:
    view = find_view(view_id, actor)
    require_view_change(actor, view)
    audit(actor, "view.delete", "view", view.id, before=_described(view))
    db.session.delete(view)
    db.session.commit()


def views_for(*, actor: Actor, limit: int | None = None) -> tuple[list[SavedView], list[SavedView]]:
    """`actor`'s own views and the others' published ones, each by name (the command line: all of them)."""
    query = select(SavedView).order_by(SavedView.name, SavedView.id)
    if actor.id is None:
        return list(db.session.scalars(query.limit(limit))), []
    rows = db.session.scalars(
        query.where(or_(SavedView.owner_id == actor.id, SavedView.published.is_(True))).limit(
            None if limit is None else 2 * limit
        )
    )
    mine, published = [], []
    for view in rows:
        (mine if view.owner_id == actor.id else published).append(view)
    return mine[:limit], published[:limit]


def nav_views(actor: Actor) -> dict[str, list[tuple[int, str]]]:
    """The navigation's entries: (id, name) of `actor`'s views and of the published ones."""
    mine, published = views_for(actor=actor, limit=NAV_LIMIT)
    return {"mine": [(v.id, v.name) for v in mine], "published": [(v.id, v.name) for v in published]}


def open_view(view_id: int, *, actor: Actor) -> OpenedView:
    """The view, if `actor` may open it, with its stored list ready; what no longer works is its `problem`."""
    view = find_view(view_id, actor)
    columns = tuple(c for c in view.columns or () if isinstance(c, str))
    sort = view.sort if view.sort in SORTS else "newest"
    try:
        filters = bulk.instance_filter(view.filter)
        filtered_instances(actor, filters)
        columns = variable_filters.columns(" ".join(columns))
    except InvalidInput as exc:
        return OpenedView(view, InstanceFilter(), (), sort, f"this view's stored filter no longer works: {exc.message}")
    return OpenedView(view, filters, columns, sort, _gone_workflow(filters))


def link_args(opened: OpenedView) -> dict[str, Any]:
    """The view as the list's URL arguments: the link that works for anyone, published or not."""
    args: dict[str, Any] = {**opened.filters.as_dict()}
    if args.get("mine"):
        args["mine"] = "1"
    if opened.columns:
        args["columns"] = ", ".join(opened.columns)
    if opened.sort != "newest":
        args["sort"] = opened.sort
    return args


def view_dict(view: SavedView, opened: OpenedView | None = None) -> dict[str, Any]:
    """A view as the API and the CLI show it; opened, with its list's query string and what no longer works."""
    data = {**_described(view), "id": view.id, "owner": view.owner.email if view.owner else None}
    if opened is not None:
        data["list_query"] = urlencode(link_args(opened), doseq=True)
        data["problem"] = opened.problem
    return data


def _gone_workflow(filters: InstanceFilter) -> str | None:
    if (
        filters.workflow
        and db.session.scalar(select(Workflow.id).where(Workflow.name == filters.workflow).limit(1)) is None
    ):
        return f"workflow {filters.workflow!r} no longer exists: this view lists nothing until it is changed"
    return None


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput.field("published", "published must be true or false")
    return value


def _columns(columns: str | Sequence[str]) -> tuple[str, ...]:
    if not isinstance(columns, str):
        if not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
            raise InvalidInput.field("columns", "columns must be variable names")
        columns = " ".join(columns)
    return variable_filters.columns(columns)


def _flush_unique(name: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"you already have a view named {name!r}") from None


def _described(view: SavedView) -> dict[str, Any]:
    return {
        "name": view.name,
        "filter": view.filter,
        "columns": view.columns,
        "sort": view.sort,
        "published": view.published,
    }
