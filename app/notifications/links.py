"""Absolute links to dashboard pages, for emails and notifications."""

from __future__ import annotations

from app.core.config import current_settings


def absolute(path: str) -> str:
    settings = current_settings()
    base = settings.base_url.rstrip("/") or f"http://localhost:{settings.port}"
    return base + path


def instance_path(instance_id: str) -> str:
    return f"/instances/{instance_id}"


def workflow_path(name: str) -> str:
    from urllib.parse import quote

    return f"/workflows/{quote(name, safe='')}"
