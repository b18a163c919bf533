"""The correlation variable: every launch tells SHAR which dashboard row it is for.

A launch whose answer was lost (a worker killed mid-request, a timeout) may still have
made an instance in SHAR. The variable lets the retry find that instance and adopt it
instead of launching a second one, and lets the untracked-instances page tell a stray
instance from one still being launched.
"""
from __future__ import annotations

from typing import Any

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
