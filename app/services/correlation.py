"""The correlation variable: every launch tells SHAR which dashboard row it is for.

A launch whose answer was lost (a worker killed mid-request, a timeout) may still have
made an instance in SHAR. The variable lets the retry find that instance and adopt it
instead of launching a second one, and lets the untracked-instances page tell a stray
instance from one still being launched.

The variable alone proves nothing: before the doors refused `_sharboard` names, anyone could set it
on their own instance by a message or a completion, and anyone with access to SHAR can launch with
it. So a retry adopts only an instance that `adoptable` finds was plausibly made by that row's
launch (docs/security.md lists what is checked).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.lifecycle.durations import parse_shar_time
from app.shar import SharInstance

CORRELATION_VARIABLE = "_sharboard_instance_id"
# Variable names sharboard keeps for itself: no caller may send one (services.instances.check_variable_name),
# or a message could plant another row's id and have that row's retried launch adopt the sender's instance.
RESERVED_PREFIX = "_sharboard"


def is_reserved(name: str) -> bool:
    """Whether a variable name is sharboard's own (any case: `_SharBoard_x` is refused too)."""
    return name.lower().startswith(RESERVED_PREFIX)


def tagged(variables: dict[str, Any] | None, instance_id: str) -> dict[str, Any]:
    """The variables to send to SHAR for the row `instance_id`."""
    return {**(variables or {}), CORRELATION_VARIABLE: instance_id}


def untagged(variables: dict[str, Any] | None) -> dict[str, Any]:
    """SHAR's variables as the dashboard shows and stores them: without the correlation variable."""
    return {k: v for k, v in (variables or {}).items() if k != CORRELATION_VARIABLE}


def correlation_of(variables: dict[str, Any] | None) -> str | None:
    """The dashboard row a SHAR instance says it belongs to, if any."""
    value = (variables or {}).get(CORRELATION_VARIABLE)
    return value if isinstance(value, str) and value else None


# SHAR's clock and ours may differ a little: an instance made this much before its row still counts.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class LaunchOf:
    """What an instance made by a row's launch must match."""

    row_id: str
    workflow_name: str
    shar_version: int | None  # the version SHAR gave the row's workflow, if it said
    process_id: str | None  # the process the row launches, if chosen
    not_before: datetime  # the row's creation (naive UTC): no launch of it was sent earlier


def adoptable(
    found: Iterable[SharInstance], launch: LaunchOf, tracked: Collection[str] = ()
) -> tuple[list[SharInstance], dict[str, str]]:
    """Of the SHAR instances carrying the row's id, those its launch may have made, earliest first,
    and why each other one is passed over. `tracked`: SHAR ids other rows already track."""
    fitting: list[SharInstance] = []
    passed: dict[str, str] = {}
    for candidate in found:
        reason = _mismatch(candidate, launch, tracked)
        if reason:
            passed[candidate.id] = reason
        else:
            fitting.append(candidate)
    fitting.sort(key=lambda i: (parse_shar_time(i.created_at) or datetime.max, i.id))
    return fitting, passed


def _mismatch(candidate: SharInstance, launch: LaunchOf, tracked: Collection[str]) -> str | None:
    if correlation_of(candidate.variables) != launch.row_id:
        return "its correlation variable names another row"
    if candidate.id in tracked:
        return "another row tracks it"
    if candidate.workflow_name != launch.workflow_name:
        return f"it is an instance of workflow {candidate.workflow_name!r}, not {launch.workflow_name!r}"
    version = candidate.raw.get("workflow_version")
    if launch.shar_version is not None and version is not None and version != launch.shar_version:
        return f"it is of version {version} in SHAR, not {launch.shar_version}"
    process = candidate.raw.get("process_id")
    if launch.process_id and process and process != launch.process_id:
        return f"it runs process {process!r}, not {launch.process_id!r}"
    created = parse_shar_time(candidate.created_at)
    if created is not None and created < launch.not_before - CLOCK_SKEW:
        return f"SHAR made it at {candidate.created_at}, before the row existed"
    return None
