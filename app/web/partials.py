"""Fragments for htmx: ETag'd polled responses, and telling fragment requests apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, render_template
from htmx_flask import request as htmx_request

from app.core.conditional import versioned
from app.web.context import display_zone


def cached_fragment(
    template: str, *, version: str, context: Callable[[], dict[str, Any]] | None = None, **values: Any
) -> Response:
    """Render `template` unless the client already holds the fragment of this `version`.

    `version` is what the fragment depends on (e.g. status and update time), so an
    unchanged fragment costs one indexed read and no rendering; `context`, when given,
    is called for the template's values only when the fragment is rendered. The reader's time
    zone is part of it: a fragment shows times in it, and a new choice must not get a 304.
    """
    return versioned(
        f"{template}|{version}|{display_zone() or ''}",
        lambda: Response(render_template(template, **(context() if context else {}), **values), mimetype="text/html"),
    )


def is_fragment_request() -> bool:
    """An htmx request that wants a fragment rather than a full page (not a boosted navigation)."""
    return bool(htmx_request.htmx) and not htmx_request.htmx.boosted
