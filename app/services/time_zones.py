"""Times as a person reads them: in UTC or in the IANA time zone they chose (stored on their user),
with the zone named beside the time ("2026-12-05 15:05:00 CET"). The one rule for the pages' `when`
filter and the settings form that stores the choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from app.core.errors import InvalidInput, NotFound
from app.core.extensions import db
from app.models import User
from app.services.actors import Actor

DEFAULT_ZONE = "UTC"
MAX_ZONE = 64  # the column's length; IANA names are far shorter


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every zone the system's database knows, sorted, UTC first: what the settings form offers.
    Read once: the scan of the zone files is slow and they do not change while we run."""
    names = sorted(n for n in available_timezones() if n != DEFAULT_ZONE and not n.startswith(("posix/", "right/")))
    return (DEFAULT_ZONE, *names)


def check_zone(name: object) -> str | None:
    """The zone to store for `name`: None for UTC (the default), the IANA name otherwise; anything
    else is refused (only names the zone database lists, never a path ZoneInfo would also open)."""
    if name is None or (isinstance(name, str) and name.strip() in ("", DEFAULT_ZONE)):
        return None
    if not isinstance(name, str) or len(name.strip()) > MAX_ZONE or name.strip() not in zone_names():
        raise InvalidInput.field("time_zone", "choose a time zone from the list, such as Europe/Berlin or UTC")
    return name.strip()


def set_time_zone(*, actor: Actor, name: object) -> str | None:
    """A user's own choice of zone; returns what was stored (None: UTC)."""
    zone = check_zone(name)
    user = db.session.get(User, actor.id) if actor.id is not None else None
    if user is None:
        raise NotFound("no such user")
    user.time_zone = zone
    db.session.commit()
    return zone


def format_when(value: datetime | None, zone: str | None) -> str:
    """`value` (naive UTC, as stored) in `zone`, named: "2026-12-05 15:05:00 CET"; "—" for none. A
    zone the database no longer knows shows UTC rather than failing the page."""
    if value is None:
        return "—"
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    tz = _zone(zone)
    local = aware.astimezone(tz) if tz else aware
    return f"{local:%Y-%m-%d %H:%M:%S} {_abbreviation(local) if tz else DEFAULT_ZONE}"


@lru_cache(maxsize=64)
def _zone(name: str | None) -> ZoneInfo | None:
    if not name or name == DEFAULT_ZONE or name not in zone_names():
        return None
    return ZoneInfo(name)


def _abbreviation(local: datetime) -> str:
    """The zone's short name when it has one in letters (CET, EST); zones whose database gives only
    digits ("-03") are named by their offset from UTC ("UTC-03:00")."""
    name = local.tzname() or ""
    if name.isalpha():
        return name
    offset = local.utcoffset() or timedelta()
    sign = "-" if offset < timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
