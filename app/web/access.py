"""Sign-in for the pages, and who acts: the signed-in user. Roles are checked by the services."""
from __future__ import annotations

from flask_login import current_user, login_required

from app.extensions import login_manager
from app.models import User
from app.services.users import load_session_user

__all__ = ["current_actor", "init_app", "login_required"]


def current_actor() -> User:
    """The signed-in user, as the actor of the operation a page calls."""
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def init_app() -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_session_user)
