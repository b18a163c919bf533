"""Bounding texts that come from outside (receivers' answers, SHAR errors, variable values).

A megabyte error body must never be copied into a stored error, a notification, an e-mail or
a callback payload. Texts are clipped where they enter: the job runner (every job's error, which
is what failure handlers pass on), the SHAR client (SHAR's error texts), webhook deliveries (a
receiver's answer), and the notification store (its columns).
"""

from __future__ import annotations

import math
import re

ERROR_CHARS = 1000  # a stored error, a notification body, a payload's error
TITLE_CHARS = 300  # a notification title (its column is String(300))
_NON_FINITE = {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}  # as JSON spells them


def clip(text: str | None, limit: int = ERROR_CHARS) -> str:
    """`text` cut to at most `limit` characters, saying how much was left out."""
    if text is None:
        return ""
    if len(text) <= limit:
        return text
    # The note's own length depends on the count it states: settle the count first.
    keep = limit
    for _ in range(3):
        note = f"… [{len(text) - keep:,} more characters cut]"
        keep = max(limit - len(note), 0)
    return (text[:keep] + f"… [{len(text) - keep:,} more characters cut]")[:limit]


def storable(value: object) -> object:
    """`value` (parsed JSON from outside: SHAR's variables) in a form both databases store: every U+0000
    in its strings and keys replaced by U+FFFD (PostgreSQL holds NUL in neither text nor JSONB), and
    every non-finite number (an engine's `1e999` reaches us as `Infinity`, which no JSON column
    takes) as its text, "Infinity", "-Infinity" or "NaN". A value SHAR sends is kept, not refused
    (what users send is refused instead: app.core.json_input); altered_paths names what this changes."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE[str(value)]
    if isinstance(value, dict):
        return {str(storable(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def altered_paths(value: object, path: str = "") -> list[str]:
    """Where storable changes `value` (as it came, before storable), as paths like `order.items[2]`,
    so what was kept in another form can be told (the SHAR client stores only storable's result)."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, float):
        return [] if math.isfinite(value) else [path]
    if isinstance(value, dict):
        found: list[str] = []
        for key, item in value.items():
            name = str(storable(key))  # the path is stored too: named as stored
            here = f"{path}.{name}" if path else name
            found += ([here] if "\x00" in str(key) else []) + altered_paths(item, here)
        return list(dict.fromkeys(found))
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in altered_paths(v, f"{path}[{n}]")]
    return []


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"([0-9]{1,9})\s*([smhdw]?)")


def duration_seconds(text: str, *, unit_required: bool = False) -> int | None:
    """A duration as people write it, a whole number and a unit (`90s`, `30m`, `24h`, `3d`, `2w`; a bare
    number is seconds unless a unit is required), in seconds; None when it is not one. One reading
    for settings (SHARBOARD_OUTAGE_MAX_HOLD) and filters (older_than); each bounds it itself."""
    match = _DURATION.fullmatch(str(text).strip().lower())
    if match is None or (unit_required and not match.group(2)):
        return None
    return int(match.group(1)) * DURATION_UNITS.get(match.group(2) or "s", 1)
