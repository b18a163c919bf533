"""The query parameters an API call takes are those its OpenAPI operation documents: any other is
refused with 422 naming it, before the view runs. Before, a misspelt filter was ignored
(`?stauts=failed` listed every instance) and paging on an export was silently dropped."""

from __future__ import annotations

import re
from difflib import get_close_matches
from functools import cache

from flask import request

from app.api.blueprints import bp
from app.api.openapi.document import PATHS
from app.core.errors import InvalidInput
from app.services.instance_listing import MISNAMED_CURSORS

_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")  # Flask's <int:id> is OpenAPI's {id}


@cache
def _taken() -> dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]]:
    """(OpenAPI path, method) -> the query parameters its operation documents, and the prefixes of
    those with a key form (`x-key-form`: `var.` for `var.NAME=VALUE`)."""
    taken = {}
    for path, item in PATHS.items():
        for method, operation in item.items():
            if isinstance(operation, dict):
                query = [p for p in operation.get("parameters", ()) if p.get("in") == "query"]
                prefixes = tuple(p["x-key-form"] for p in query if "x-key-form" in p)
                taken[(path, method.upper())] = (tuple(p["name"] for p in query), prefixes)
    return taken


@bp.before_request
def refuse_unknown_query_parameters() -> None:
    if request.url_rule is None or not request.args:
        return
    path = _CONVERTER.sub(r"{\1}", request.url_rule.rule)
    method = "GET" if request.method == "HEAD" else request.method
    documented = _taken().get((path, method))
    if documented is None:  # an undocumented method (OPTIONS): Flask answers it
        return
    taken, prefixes = documented
    # A cursor under another name is refused by the listing itself, with how to pass it.
    unknown = [
        name
        for name in request.args
        if name not in taken and name not in MISNAMED_CURSORS and not name.startswith(prefixes)
    ]
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        near = get_close_matches(unknown[0], taken, n=1)
        takes = (f"did you mean '{near[0]}'? " if near else "") + (
            f"it takes {', '.join(taken)}" if taken else "it takes none"
        )
        message = f"unknown query parameter{'s' if len(unknown) > 1 else ''} {names} for {method} {path}: {takes}"
        raise InvalidInput(message, {name: [message] for name in unknown})
