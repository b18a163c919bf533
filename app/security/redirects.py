"""`next=`: where to go after an action, only ever a path on this site.

Refused (the default page instead): anything with a scheme or host (`https://evil.example`),
protocol-relative `//evil.example`, backslashes (`/\\evil.example`, which browsers read as
`//`), and control characters or spaces (browsers drop tabs and newlines, so `/\\t/evil`
would become `//evil`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


def is_safe_path(target: str | None) -> bool:
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str = "overview.index", **values: object) -> str:
    """`target` when it is a same-site path, else `default`: a URL path ("/...") or an endpoint name."""
    if is_safe_path(target):
        return target  # type: ignore[return-value]
    return default if default.startswith("/") else url_for(default, **values)
