"""Bounding texts that come from outside (receivers' answers, SHAR errors, variable values).

A megabyte error body must never be copied into a stored error, a notification, an e-mail or
a callback payload: every such text goes through `clip` first.
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
    note = f"… [{len(text) - limit:,} more characters cut]"
    keep = max(limit - len(note), 0)
    return (text[:keep] + note)[:limit]
