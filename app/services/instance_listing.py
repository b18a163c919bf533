"""Listing instances: the filters every door passes (InstanceFilter, parse_age), the lists by page or
cursor, and the versions the polled list and an instance's polled parts compare."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_

from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db, dialect_name, read_first
from app.core.text import duration_seconds
from app.lifecycle.states import INSTANCE_STATUSES, TERMINAL
from app.models import ActivityEvent, Workflow, WorkflowInstance
from app.models._base import utcnow
from app.services import activities, outages, variable_filters
from app.services.access import may_see_owned_by, visible_instances
from app.services.actors import Actor
from app.services.workflow_input import check_name
from app.services.workflows import version_number


@dataclass(frozen=True)
class InstanceList:
    items: list[WorkflowInstance]
    total: int | None  # exact up to TOTAL_CAP; None when not asked for
    total_capped: bool = False  # more than TOTAL_CAP match: `total` is the cap
    next_cursor: str | None = None  # pass as `after` for the next page (keyset paging)

    @property
    def polling(self) -> bool:
        return any(i.status not in TERMINAL for i in self.items)


# Counting every match scans the table: totals are exact up to this many, and say so past it.
TOTAL_CAP = 10_000

# The orders a list may be read in (a saved view keeps one): by creation, both ways, so keyset paging holds.
SORTS = {"newest": "newest first", "oldest": "oldest first"}
DEFAULT_SORT = "newest"


@dataclass(frozen=True)
class InstanceFilter:
    status: str | None = None
    workflow: str | None = None
    # Only the caller's own: True, or "1"/"0" from a URL or a form (other text is refused by mine_flag).
    mine: bool | str = False
    # Conditions on variables, joined by AND: `orderId = A1` texts, or (name, op, value) parts;
    # their syntax and SQL are app.services.variable_filters'.
    variables: tuple[variable_filters.Condition, ...] = ()
    # One version of `workflow` (a whole number; text from a URL is checked), and an element id
    # among the instances' current activities (where a running one waits, where a failed one stopped).
    version: int | str | None = None
    activity: str | None = None
    # Only instances created longer ago than this: a duration such as `30m`, `2h`, `3d` (parse_age).
    older_than: str | None = None

    @classmethod
    def from_arguments(cls, args: Any) -> InstanceFilter:
        """The filter a list URL (or a form carrying it on) gives, each value as given to the checks
        (a bad one is refused there, never dropped: a dropped status listed everything). Variable
        conditions: `var=amount>=100` (repeatable) and the key form `var.NAME[__op]=VALUE`. `args` is a
        MultiDict (request.args, request.form); every door reads a list's filter here."""

        def text(name: str) -> str | None:
            return (args.get(name) or "").strip() or None

        conditions: list[variable_filters.Condition] = [v for v in args.getlist("var") if v.strip()]
        for key in args:
            if key.startswith("var."):
                conditions += [variable_filters.keyed(key[len("var.") :], value) for value in args.getlist(key)]
        return cls(
            status=args.get("status") or None,
            workflow=text("workflow"),
            mine=args.get("mine") or False,
            variables=tuple(conditions),
            version=text("version"),
            activity=text("activity"),
            older_than=text("older_than"),
        )

    def as_dict(self) -> dict[str, Any]:
        """The filter as given, without its empty fields: what a list URL, a form carrying the
        filter on and a stored bulk operation hold (variable conditions as `NAME OP VALUE` texts)."""
        data: dict[str, Any] = {
            "status": self.status,
            "workflow": self.workflow,
            "version": self.version,
            "activity": self.activity,
            "older_than": self.older_than,
            # Text that is no flag stays as given, so the links carrying the filter are refused too.
            "mine": self.mine if isinstance(self.mine, bool) or self.mine not in ("", "0", "1") else self.mine == "1",
            "var": [
                c if isinstance(c, str) else " ".join(c) for c in self.variables if not isinstance(c, str) or c.strip()
            ],
        }
        return {name: value for name, value in data.items() if value not in (None, "", [], False)}


def list_instances(
    *,
    actor: Actor,
    filters: InstanceFilter = InstanceFilter(),
    page: int = 1,
    per_page: int = 50,
    after: str | None = None,
    with_total: bool = True,
    sort: str = DEFAULT_SORT,
) -> InstanceList:
    """The instances `actor` may see, newest first (or as `sort` says): by page, or after a cursor
    (keyset paging, which costs the same on the last page as on the first)."""
    query = filtered_instances(actor, filters)
    oldest_first = check_sort(sort) == "oldest"
    total, capped = None, False
    if with_total:
        total = db.session.scalar(select(func.count()).select_from(query.limit(TOTAL_CAP + 1).subquery()))
        capped = total > TOTAL_CAP
        total = min(total, TOTAL_CAP)
    ordered = query.order_by(*sort_order(sort))
    if after:
        position, cursor_at = tuple_(WorkflowInstance.created_at, WorkflowInstance.id), _cursor_position(after)
        ordered = ordered.where(position > cursor_at if oldest_first else position < cursor_at)
    else:
        ordered = ordered.offset((page - 1) * per_page)
    rows = list(db.session.scalars(ordered.limit(per_page)))
    cursor = _cursor(rows[-1]) if len(rows) == per_page else None
    return InstanceList(rows, total, capped, cursor)


def instance_list_version(
    *, actor: Actor, filters: InstanceFilter = InstanceFilter(), limit: int = 50, sort: str = DEFAULT_SORT
) -> str:
    """What the polled list (its newest `limit` rows) depends on: those rows' ids, statuses and
    change times, read by index, so an unchanged list costs the same at 200 rows as at 200,000."""
    rows = db.session.execute(
        filtered_instances(actor, filters)
        .with_only_columns(WorkflowInstance.id, WorkflowInstance.status, WorkflowInstance.updated_at)
        .order_by(*sort_order(sort))
        .limit(limit)
    ).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:32]


def check_sort(sort: str | None) -> str:
    """A list's order, one of SORTS (none: newest first); InvalidInput naming `sort` otherwise."""
    if not sort:
        return DEFAULT_SORT
    if sort not in SORTS:
        raise InvalidInput.field("sort", "sort must be one of " + ", ".join(SORTS))
    return sort


def sort_order(sort: str | None) -> tuple[Any, ...]:
    if check_sort(sort) == "oldest":
        return WorkflowInstance.created_at.asc(), WorkflowInstance.id.asc()
    return WorkflowInstance.created_at.desc(), WorkflowInstance.id.desc()


def _cursor(instance: WorkflowInstance) -> str:
    raw = f"{instance.created_at.isoformat()}|{instance.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# The cursor's one name is `after`. The answer calls it next_cursor, so a client may send it under
# these names: ignored, they would answer page 1 again and again, and a pager would never end.
MISNAMED_CURSORS = ("cursor", "next_cursor")


def cursor_argument(args: Mapping[str, str], *, paged: bool = True) -> str | None:
    """The cursor a list's query carries (`after`), checked; InvalidInput naming the argument when
    it is not a next_cursor of this list or comes under another name. A list not paged by cursor
    (`paged=False`: a CSV holds every match, the page lists the newest) refuses any."""
    given = [name for name in ("after", *MISNAMED_CURSORS) if name in args]
    if not given:
        return None
    name = given[0]
    if not paged:
        raise InvalidInput.field(name, f"{name} is not taken here: this list is not paged by cursor")
    if name != "after":
        raise InvalidInput.field(name, f"{name} is not an argument of this list: pass a page's next_cursor as after")
    after = args["after"] or None
    if after is not None:
        _cursor_position(after)
    return after


def _cursor_position(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, instance_id = raw.split("|", 1)
        return datetime.fromisoformat(created_at), instance_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.field("after", "after must be the next_cursor of a previous page") from None


def instance_version(instance_id: str, *, actor: Actor) -> str:
    """What an instance's JSON depends on (every write to the row moves updated_at or
    last_synced_at), if `actor` may see it; NotFound otherwise, as find_instance."""
    status, updated, synced = _version_row(_INSTANCE_VERSION, instance_id, actor)
    return f"instance:{instance_id}:{status}:{updated}:{synced}:{outages.version_key()}"


def live_version(instance_id: str, *, actor: Actor) -> str:
    """What an instance's live fragment depends on: its status and change times and its newest
    timeline entry, in one query (it is polled every few seconds)."""
    status, updated, synced, last = _version_row(_LIVE_VERSION, instance_id, actor)
    return f"{status}:{updated}:{synced}:{last or 0}:{outages.version_key()}"


def _version_statement(*extra: Any) -> Any:
    return select(
        WorkflowInstance.status,
        WorkflowInstance.updated_at,
        WorkflowInstance.last_synced_at,
        *extra,
        WorkflowInstance.created_by,
    ).where(WorkflowInstance.id == bindparam("instance_id"))


# Built once: these reads are what every poll costs, and building a statement and its cache key
# cost more than running it.
_INSTANCE_VERSION = _version_statement()
# The newest entry by time, not by id: ix_activity_target (target_type, target_id, created_at) gives
# it in one index entry, where max(id) read every entry of the instance and its row (a long-lived
# instance has thousands).
_LIVE_VERSION = _version_statement(
    select(func.max(ActivityEvent.created_at))
    .where(ActivityEvent.target_type == "instance", ActivityEvent.target_id == WorkflowInstance.id)
    .scalar_subquery()
)


def _version_row(statement: Any, instance_id: str, actor: Actor) -> tuple[Any, ...]:
    """The columns a version is made of, read without loading the row (an unchanged poll
    decodes no variables), after the visibility check of find_instance."""
    # Not through the ORM: plain columns need none of its machinery, which was half of this read's CPU.
    row = read_first(statement, {"instance_id": instance_id})
    if row is None or not may_see_owned_by(actor, row[-1]):
        raise NotFound(f"no instance {instance_id}")
    return tuple(row[:-1])


def filtered_instances(actor: Actor, filters: InstanceFilter):  # type: ignore[no-untyped-def]
    query = visible_instances(actor)
    if filters.status:
        if filters.status not in INSTANCE_STATUSES:
            raise InvalidInput.field("status", f"status must be one of {', '.join(INSTANCE_STATUSES)}")
        query = query.where(WorkflowInstance.status == filters.status)
    if filters.workflow:
        # Every stored name passed check_name: other text matches none (and a NUL failed the query on PostgreSQL).
        query = query.join(Workflow).where(Workflow.name == check_name(filters.workflow, "workflow"))
    if filters.version is not None:
        if not filters.workflow:
            raise InvalidInput.field("version", "a version filter needs a workflow name")
        query = query.where(Workflow.version == version_number(filters.version))
    if mine_flag(filters.mine):
        query = query.where(WorkflowInstance.created_by == actor.id)
    if filters.variables:
        for condition in variable_filters.conditions(filters.variables):
            query = query.where(variable_filters.where(WorkflowInstance.variables, condition, dialect_name()))
    if filters.activity:
        query = query.where(
            activities.holds(WorkflowInstance.current_activities, _element_id(filters.activity), dialect_name())
        )
    if filters.older_than:
        query = query.where(WorkflowInstance.created_at < utcnow() - parse_age(filters.older_than))
    return query


def mine_flag(value: bool | str | None) -> bool:
    """`mine` as a flag: True or "1" (only the caller's own instances), False, "0" or nothing (all the
    caller may see); InvalidInput naming `mine` for other text, never read as "all"."""
    if isinstance(value, bool):
        return value
    if value in (None, "", "0"):
        return False
    if value != "1":
        raise InvalidInput.field("mine", f"mine must be 1 (only your own instances) or 0; {str(value)[:20]!r} is not")
    return True


MAX_AGE = timedelta(days=100 * 365)


def parse_age(value: str) -> timedelta:
    """An age filter: a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`30m`, `2h`, `3d`), up to
    100 years; InvalidInput naming `older_than` otherwise."""
    # Bounded as a number of seconds before it becomes a timedelta: 999999999w overflows one.
    seconds = duration_seconds(value, unit_required=True) or 0
    if not 0 < seconds <= MAX_AGE.total_seconds():
        raise InvalidInput.field(
            "older_than",
            "older_than is a duration: a whole number and a unit, s, m, h, d or "
            f"w (e.g. 30m, 2h, 3d), at most 100 years; {str(value)[:20]!r} is not",
        )
    return timedelta(seconds=seconds)


def _element_id(value: str) -> str:
    if len(value) > activities.MAX_ELEMENT_ID or any(ord(c) < 32 for c in value):
        raise InvalidInput.field(
            "activity",
            f"activity must be an element id: at most {activities.MAX_ELEMENT_ID} characters, no control characters",
        )
    return value


# What the list shows of an id (its first 8 characters), pasted into a URL: 4 characters at least,
# so a stray word is not taken for one; the full id (36) is the instance's own page.
_SHORT_ID = re.compile(r"[0-9a-f-]{4,35}")
MAX_SHORT_ID_MATCHES = 20


def is_short_id(text: str) -> bool:
    return _SHORT_ID.fullmatch(text.lower()) is not None


def instances_by_short_id(short_id: str, *, actor: Actor) -> list[WorkflowInstance]:
    """The instances `actor` may see whose id starts with `short_id`, newest first, at most
    MAX_SHORT_ID_MATCHES + 1 (more than one: the caller lists them); NotFound naming it when none."""
    prefix = short_id.lower()
    matches = list(
        db.session.scalars(
            visible_instances(actor)
            .where(WorkflowInstance.id.startswith(prefix, autoescape=True))
            .order_by(WorkflowInstance.created_at.desc(), WorkflowInstance.id.desc())
            .limit(MAX_SHORT_ID_MATCHES + 1)
        )
    )
    if not matches:
        raise NotFound(f"no instance has an id starting with {short_id}")
    return matches
