"""Bounding texts that come from outside (receivers' answers, SHAR errors, variable values).

A megabyte error body must never be copied into a stored error, a notification, an e-mail or
a callback payload. Texts are clipped where they enter: the job runner (every job's error, which
is what failure handlers pass on), the SHAR client (SHAR's error texts), webhook deliveries (a
receiver's answer), and the notification store (its columns).
"""
from __future__ import annotations

ERROR_CHARS = 1000  # a stored error, a notification body, a payload's error
TITLE_CHARS = 300  # a notification title (its column is String(300))


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
    """`value` (parsed JSON from outside: SHAR's variables) with every U+0000 in its strings and keys
    replaced by U+FFFD: PostgreSQL holds NUL in neither text nor JSONB, and a value SHAR sends is
    kept, not refused (what users send is refused instead: app.json_input)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {str(storable(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value
