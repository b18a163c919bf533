"""The Idempotency-Key wrapper for POST endpoints."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, make_response, request

from app.core.json_input import canonical
from app.services import idempotency

F = TypeVar("F", bound=Callable[..., Any])


def idempotent(view: F) -> F:
    """Replay the stored answer for a repeated key and body; store the first answer."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        user_id = g.api_user.id
        # The parsed body: the same JSON with other whitespace or key order is the same request.
        digest = idempotency.request_hash(request.method, request.path, canonical(request.get_data(cache=True)))
        stored = idempotency.claim(user_id, key, digest)
        if stored is not None:
            response = Response(stored.body, status=stored.status_code, mimetype="application/json")
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            response = make_response(view(*args, **kwargs))
        except Exception:
            idempotency.release_after_error(user_id, key)
            raise
        idempotency.remember(user_id, key, response.status_code, response.get_data(as_text=True))
        return response

    return wrapped  # type: ignore[return-value]
