"""The sign-in page: the password form and the single sign-on button, as the services offer them."""

from __future__ import annotations

from typing import Any

from flask import render_template

from app.services.single_sign_on import sign_in_options
from app.web.auth.forms import LoginForm


def login_page(form: LoginForm | None = None, *, error: str | None = None, status: int = 200) -> Any:
    return render_template("auth/login.html", form=form or LoginForm(), options=sign_in_options(), error=error), status
