"""What every template may use: what the pages offer the signed-in user (`nav`), the poll interval,
element names, and time filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, has_request_context, request
from flask_login import current_user
from markupsafe import Markup

from app.core.config import current_settings
from app.services import bulk, display, element_names, outages, saved_views, time_zones
from app.services.access import nav_actions
from app.web.access import current_actor


def init_app(app: Flask) -> None:
    app.context_processor(_globals)
    app.add_template_filter(_when, "when")
    app.add_template_filter(_duration, "duration")
    app.add_template_filter(display.status_label, "status_label")
    app.add_template_filter(display.delivery_badge, "delivery_badge")
    app.add_template_filter(bulk.action_label, "action_label")


def _globals() -> dict[str, Any]:
    return {
        "nav": _nav(),
        "poll_interval": current_settings().poll_interval,
        "shar_outage": _outage,
        "saved_views": _saved_views,
        # A workflow version's element names (services.element_names), for the lists naming elements.
        "element_names": element_names.names_of,
        "current_page": _current_page,
    }


def _current_page(section: str) -> Markup:
    """`aria-current="page"` on the menu entry of the page shown: `section` is a blueprint's name, or an
    endpoint ("overview.index") for an entry that is one page of its blueprint."""
    here = request.endpoint if "." in section else request.blueprint
    return Markup('aria-current="page"') if here == section else Markup("")


def _nav() -> frozenset[str]:
    """What the pages offer the signed-in user whatever the row (the admin menu, the upload form...);
    nothing to nobody, and outside a request (an e-mail rendered by a job)."""
    if not has_request_context() or not current_user.is_authenticated:
        return frozenset()
    return nav_actions(current_actor())


def _saved_views() -> dict[str, list[tuple[int, str]]]:
    """The navigation's saved views (a callable: read only by the pages that show the menu, not the polled parts)."""
    if not has_request_context() or not current_user.is_authenticated:
        return {"mine": [], "published": []}
    return saved_views.nav_views(current_actor())


def _outage() -> Any:
    """The banner's facts, read only by templates that show it (a callable: other pages pay nothing)."""
    return outages.current_outage()


def _when(value: datetime | None) -> str:
    """A stored time in the signed-in person's zone (UTC for no one: an e-mail rendered by a job)."""
    return time_zones.format_when(value, display_zone())


def display_zone() -> str | None:
    """The zone the pages of this request show times in: the signed-in person's choice, else None (UTC)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return current_user.time_zone


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
