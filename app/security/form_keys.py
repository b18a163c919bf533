"""One-time form keys: a form posted twice (double click, reload, a retried POST) acts once.

The page renders a random key into a hidden field (`form_key`). `@one_time_form` claims the
key for the signed-in user before the view runs, in the same table as the API's
Idempotency-Key answers (`idempotent_responses`, keys prefixed "form:"):

- first post: the view runs; when it answers with a redirect (the action happened), the
  redirect target is kept; any other answer (a form with errors) frees the key so the
  corrected form can be sent with it;
- the same key again: nothing runs; the user is sent where the first post led (for the
  launch form, the instance it launched);
- while the first post is still being answered: 409.

A post without a key (an old page, a script) runs as before.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, flash, redirect, request
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import IdempotentResponse

F = TypeVar("F", bound=Callable[..., Any])
FIELD = "form_key"
IN_PROGRESS = 0
_VALID = re.compile(r"^[A-Za-z0-9_-]{16,100}$")


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


def one_time_form(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.form.get(FIELD) or ""
        if request.method != "POST" or not _VALID.match(key) or not current_user.is_authenticated:
            return view(*args, **kwargs)
        stored_key, scope = f"form:{key}", hashlib.sha256(request.path.encode()).hexdigest()
        earlier = _claim(current_user.id, stored_key, scope)
        if earlier is not None:
            if earlier.status_code == IN_PROGRESS:
                abort(409, "this form is still being sent; reload the page in a moment")
            flash("This form was already sent; nothing new was done. Here is where it led.", "info")
            return redirect(earlier.body)
        try:
            response = view(*args, **kwargs)
        except Exception:
            db.session.rollback()
            _release(current_user.id, stored_key)
            raise
        _finish(current_user.id, stored_key, response)
        return response
    return wrapped  # type: ignore[return-value]


def _claim(user_id: int, key: str, scope: str) -> IdempotentResponse | None:
    """None when this request now owns the key; else the row of the earlier post."""
    db.session.add(IdempotentResponse(user_id=user_id, key=key, request_hash=scope, status_code=IN_PROGRESS, body=""))
    try:
        db.session.commit()
        return None
    except IntegrityError:
        db.session.rollback()
    row = db.session.query(IdempotentResponse).filter_by(user_id=user_id, key=key).one()
    if row.request_hash != scope:
        abort(409, "this form key belongs to another form; reload the page")
    return row


def _finish(user_id: int, key: str, response: Any) -> None:
    status = getattr(response, "status_code", None)
    location = response.headers.get("Location") if status is not None and 300 <= status < 400 else None
    if location is None:
        _release(user_id, key)
        return
    row = db.session.query(IdempotentResponse).filter_by(user_id=user_id, key=key).one_or_none()
    if row is not None:
        row.status_code, row.body = status, location
        db.session.commit()


def _release(user_id: int, key: str) -> None:
    db.session.query(IdempotentResponse).filter_by(user_id=user_id, key=key).delete()
    db.session.commit()
