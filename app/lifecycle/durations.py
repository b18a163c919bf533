"""One clock for durations: how long an instance ran, decided once, when it ends.

SHAR's `created_at` and `completed_at` come from one clock (SHAR's), so their difference is
the duration whenever both are known. Otherwise ours: `launched_at` (when SHAR's answer
reached us) to `completed_at` (when we learned the instance ended). Never negative: a
negative difference (clock skew, or times taken at the two ends of one request) is raised to
0 and the clock says so. app.lifecycle.changes.change_status stores it whenever an instance
ends. Statistics, pages, API answers, notifications and e-mails all read
the stored `duration_seconds`, so they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

SHAR_CLOCK = "shar"
OUR_CLOCK = "sharboard"
CLAMPED = "-clamped"


def measure(
    *,
    shar_created_at: datetime | None,
    shar_completed_at: datetime | None,
    launched_at: datetime | None,
    completed_at: datetime | None,
) -> tuple[float | None, str | None]:
    """(seconds, clock) from the times known; (None, None) when neither clock has both ends."""
    if shar_created_at is not None and shar_completed_at is not None:
        seconds, clock = (shar_completed_at - shar_created_at).total_seconds(), SHAR_CLOCK
    elif launched_at is not None and completed_at is not None:
        seconds, clock = (completed_at - launched_at).total_seconds(), OUR_CLOCK
    else:
        return None, None
    if seconds < 0:
        return 0.0, clock + CLAMPED
    return seconds, clock


def with_duration(instance: Any, values: dict[str, Any]) -> dict[str, Any]:
    """`values` of a change to an ended status, with the duration added (app.lifecycle.changes calls this).

    `values` wins over the row's own fields (the times being written with the change).
    """

    def pick(name: str) -> Any:
        return values[name] if name in values else getattr(instance, name)

    seconds, clock = measure(
        shar_created_at=pick("shar_created_at"),
        shar_completed_at=pick("shar_completed_at"),
        launched_at=pick("launched_at"),
        completed_at=pick("completed_at"),
    )
    return {**values, "duration_seconds": seconds, "duration_clock": clock}


def parse_shar_time(value: Any) -> datetime | None:
    """An RFC 3339 time from SHAR as naive UTC (how the database keeps times); None when absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
