"""Conditional answers: an ETag made from what a response depends on, and 304 before its body
is built when the client already holds it. Polled fragments and API reads share this."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, request


def versioned(version: str, build: Callable[[], Response]) -> Response:
    """`build()`'s response, or 304 when the client holds the one of this `version`.

    `no-cache` makes the client revalidate each time; on 304 it keeps the copy it has.
    """
    etag = hashlib.sha256(version.encode()).hexdigest()[:32]
    response = Response(status=304) if request.if_none_match.contains(etag) else build()
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache, private"
    return response
