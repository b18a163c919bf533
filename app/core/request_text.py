"""Text a request carries outside a JSON body (the path's parts, the query, form fields) holds no
U+0000 (NUL). PostgreSQL stores NUL in no text column and refuses it even in a comparison, so a
NUL reaching any query failed it (a 500: `/workflows?q=a%00b`, a name in a path). Refused here,
once for every page and API call before any view runs, as app.core.json_input refuses it in JSON."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, request

from app.core.errors import InvalidInput

NUL = "\x00"


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul)


def refuse_nul() -> None:
    for where, name, value in _texts():
        if NUL in name or NUL in value:
            shown = name.replace(NUL, "\\x00")[:100]
            raise InvalidInput.field(
                shown, f"{where} {shown!r} contains the character U+0000 (NUL), which the database cannot hold"
            )


def _texts() -> Iterable[tuple[str, str, str]]:
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            yield "the address part", name, value
    for name, value in request.args.items(multi=True):
        yield "the query parameter", name, value
    # Form fields only where a form was sent: reading request.form parses the body, and a JSON body
    # is app.core.json_input's to check.
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            yield "the form field", name, value
