"""Signing in with a password, and out."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, session, url_for
from flask_login import current_user, login_user

from app.core.errors import PermissionDenied
from app.security.redirects import safe_next
from app.services.users import authenticate, sign_out
from app.web.auth import sso
from app.web.auth.blueprint import bp
from app.web.auth.forms import LoginForm
from app.web.auth.pages import login_page

__all__ = ["bp"]
GENERIC_ERROR = "That e-mail and password do not match an active account."


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("overview.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # One message and the same hashing work for every failure: the form does not reveal which accounts exist.
        try:
            user = authenticate(form.email.data, form.password.data)
        except PermissionDenied as exc:  # password sign-in is turned off
            return login_page(error=exc.message, status=403)
        if user is None:
            form.password.errors = [GENERIC_ERROR]
            return login_page(form, status=401)
        login_user(user)
        return redirect(safe_next(request.args.get("next")))
    return login_page(form)


@bp.post("/logout")
def logout() -> Any:
    id_token = session.pop(sso.ID_TOKEN, None)
    sign_out()  # ends this user's every session, so a copied cookie stops working too
    flash("Signed out.", "info")
    if id_token:  # signed in through the identity provider: sign out there too
        return sso.provider_logout(id_token)
    return redirect(url_for(".login"))
