"""Who may see and do what: sign-in, admin-only pages, and read-only viewers."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from app.extensions import login_manager
from app.models import User
from app.security import sessions

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["admin_required", "init_app", "login_required", "writer_required"]


def admin_required(view: F) -> F:
    """Signed-in admins only; others get 403."""
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def writer_required(view: F) -> F:
    """Users and admins; viewers are read-only everywhere, so they get 403."""
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.can_write:
            abort(403)
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def init_app() -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return sessions.load_user(user_id)  # "<id>:<session key>"; a replaced key signs the session out
