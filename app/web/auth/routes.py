"""Signing in and out."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from app.services.users import authenticate
from app.web.auth.forms import LoginForm
from app.web.partials import safe_next

bp = Blueprint("auth", __name__)
GENERIC_ERROR = "That e-mail and password do not match an active account."


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("overview.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        # One message for every failure, so the form does not reveal which accounts exist.
        if user is None:
            form.password.errors = [GENERIC_ERROR]
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        return redirect(safe_next(request.args.get("next"), url_for("overview.index")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for(".login"))
