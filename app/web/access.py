"""Sign-in for the pages, and who acts: the signed-in user. Roles are checked by the services."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, flash, redirect, request
from flask_login import current_user, login_required, login_url

from app.core.extensions import login_manager
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
    login_manager.unauthorized_handler(_sign_in_first)


def _sign_in_first() -> Response:
    """A page asks to sign in first. A polled fragment (htmx) would otherwise follow the redirect and
    swap the whole sign-in page into a badge or the bell once a session ends: htmx is told to
    take the browser there instead (HX-Redirect), coming back to the page it was on."""
    flash(login_manager.login_message, login_manager.login_message_category)
    if request.headers.get("HX-Request") == "true":
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = (page.path or "/") + (f"?{page.query}" if page.query else "")
        return Response(status=401, headers={"HX-Redirect": login_url(login_manager.login_view, back)})
    return redirect(login_url(login_manager.login_view, request.url))
