"""A plug-in whose listener raises on every completion: sharboard must log it, count it, and go on."""

from __future__ import annotations

from typing import Any


def register(registry: Any) -> None:
    registry.listen("instance_completed", explode)


def explode(event: Any) -> None:
    raise RuntimeError(f"the broken plug-in fails on {event.instance.id}")
