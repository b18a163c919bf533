"""Signing in and out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from app.security.redirects import safe_next
from app.services.users import authenticate, sign_out
from app.web.auth.forms import LoginForm

bp = Blueprint("auth", __name__)
GENERIC_ERROR = "That e-mail and password do not match an active account."


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("overview.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # One message and the same hashing work for every failure: the form does not reveal which accounts exist.
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors = [GENERIC_ERROR]
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Any:
    sign_out()  # ends this user's every session, so a copied cookie stops working too
    flash("Signed out.", "info")
    return redirect(url_for(".login"))
