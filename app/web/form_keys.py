"""One-time form keys: a form posted twice (double click, reload, a retried POST) acts once.

The page renders a random key into a hidden field (`form_key`). `@one_time_form` claims the
key for the signed-in user before the view runs, in the same table as the API's
Idempotency-Key answers (`idempotent_responses`, keys prefixed "form:"):

- first post: the view runs; when it answers with a redirect (the action happened), the
  redirect target is kept; any other answer (a form with errors) frees the key so the
  corrected form can be sent with it;
- the same key again: nothing runs; the user is sent where the first post led (for the
  launch form, the instance it launched);
- while the first post is still being answered: 409; a key sent with another form: 422.

The keys themselves are kept by app.services.idempotency, as the API's are.

A post without a key (an old page, a script) runs as before.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import flash, redirect, request
from flask_login import current_user

from app.services import idempotency

F = TypeVar("F", bound=Callable[..., Any])
FIELD = "form_key"
_VALID = re.compile(r"^[A-Za-z0-9_-]{16,100}$")


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


def one_time_form(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.form.get(FIELD) or ""
        if request.method != "POST" or not _VALID.match(key) or not current_user.is_authenticated:
            return view(*args, **kwargs)
        user_id, stored_key = current_user.id, f"form:{key}"
        earlier = idempotency.claim(
            user_id, stored_key, idempotency.request_hash("POST", request.path, b""), what="form key"
        )
        if earlier is not None:
            flash("This form was already sent; nothing new was done. Here is where it led.", "info")
            return redirect(earlier.body)
        try:
            response = view(*args, **kwargs)
        except Exception:
            idempotency.release_after_error(user_id, stored_key)
            raise
        status = getattr(response, "status_code", None)
        if status is not None and 300 <= status < 400 and response.headers.get("Location"):
            idempotency.remember(user_id, stored_key, status, response.headers["Location"])
        else:
            idempotency.release(user_id, stored_key)  # a form sent back with errors may be sent again
        return response

    return wrapped  # type: ignore[return-value]
