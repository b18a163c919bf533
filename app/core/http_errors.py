"""What an HTTP error (werkzeug's: no route, wrong method, …) says, for the API's envelope and the
error page alike."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException, MethodNotAllowed


def described(exc: HTTPException, method: str) -> tuple[str, dict[str, str]]:
    """The error's message and the headers its answer must carry. A 405 keeps werkzeug's `Allow`
    (HTTP requires it on every 405; a handler building its own answer had dropped it) and names
    the methods in its message too, for a reader who sees no headers."""
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        allowed = ", ".join(sorted(exc.valid_methods))
        return f"{method} is not allowed here: this URL takes {allowed}", {"Allow": allowed}
    return exc.description or exc.name, {}
