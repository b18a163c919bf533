"""Which of the gateway's optional calls this SHAR offers (gateway contract extensions: "move",
"variables", "migrate"), as the jobs that made them found out.

A job whose call SHAR answered as unknown (app.shar.errors.SharNotOffered: 501, 405, or a 404 that is
not about the instance) records the call as not offered and ends without retries; from then on the
actions that need it are shown as unavailable with the reason (access.unavailable_actions) and
refused with NotOffered (501) instead of queued. An answer to the call clears it, and so does time:
after RECHECK_AFTER the action is offered again and the next call decides (SHAR may have been
upgraded). Kept in SQL (table shar_features) for every process, read through a per-app cache of
CACHE_SECONDS, as the outage breaker is.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.core.errors import NotOffered
from app.core.extensions import db
from app.core.text import clip
from app.models import SharFeature
from app.models._base import utcnow

# What each optional call lets people do, in the words of "this SHAR does not offer …".
CALLS = {
    "move": "moving instances",
    "variables": "changing the variables of instances in SHAR",
    "migrate": "migrating instances to another version",
}
# The action (access.INSTANCE_ACTIONS) each call stands behind.
ACTION_CALLS = {"move": "move", "edit_variables": "variables", "migrate": "migrate"}
RECHECK_AFTER = timedelta(hours=1)
CACHE_SECONDS = 1.0
_CACHE = "sharboard.shar_features"


def not_offered() -> dict[str, str]:
    """{call: why it is unavailable} for the calls this SHAR was last found not to offer (cached)."""
    cache: dict[str, Any] = current_app.extensions.setdefault(_CACHE, {})
    now = time.monotonic()
    if cache.get("until", 0.0) > now:
        return cache["value"]
    since = utcnow() - RECHECK_AFTER
    rows = db.session.execute(
        select(SharFeature.call, SharFeature.detail).where(
            SharFeature.offered.is_(False), SharFeature.checked_at >= since
        )
    ).all()
    value = {call: reason(call, detail) for call, detail in rows}
    cache.update(until=now + CACHE_SECONDS, value=value)
    return value


def reason(call: str, detail: str | None = None) -> str:
    """What a person reads where the action would be: this SHAR does not offer it, and what it answered."""
    said = f"this SHAR does not offer {CALLS.get(call, f'the {call} call')}"
    return f"{said} ({detail})" if detail else said


def offered(call: str) -> bool:
    return call not in not_offered()


def unavailable(actions: Iterable[str]) -> dict[str, str]:
    """{action: why} for those of `actions` whose SHAR call is not offered."""
    missing = not_offered()
    return {a: missing[ACTION_CALLS[a]] for a in actions if ACTION_CALLS.get(a) in missing}


def require_offered(call: str) -> None:
    """NotOffered (501) with the reason when this SHAR was found not to offer `call`."""
    missing = not_offered().get(call)
    if missing is not None:
        raise NotOffered(missing)


def key() -> str:
    """The features' part of a cached answer's version (what is offered changes with them)."""
    return ",".join(sorted(not_offered()))


def record_not_offered(call: str, detail: str | None) -> str:
    """Remember that SHAR answered `call` as unknown (the caller commits); returns the reason."""
    _write(call, offered=False, detail=clip(detail or "", 300) or None)
    return reason(call, detail)


def record_offered(call: str) -> None:
    """SHAR answered `call`: whatever was recorded against it is cleared (the caller commits)."""
    if not offered(call):
        _write(call, offered=True, detail=None)


def _write(call: str, *, offered: bool, detail: str | None) -> None:
    row = db.session.get(SharFeature, call) or SharFeature(call=call)
    row.offered, row.detail, row.checked_at = offered, detail, utcnow()
    db.session.add(row)
    current_app.extensions.pop(_CACHE, None)  # this process sees it at once
