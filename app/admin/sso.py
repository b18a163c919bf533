"""Admin: single sign-on's role mapping (which claim, which value gives which role, and the default)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from app.admin.blueprint import bp
from app.admin.flashes import refusal_flashed
from app.core.errors import InvalidInput
from app.services import single_sign_on as service
from app.web.access import current_actor, login_required

BLANK_ROWS = 3  # empty rows offered for new values (empty ones are dropped on save)


@bp.get("/sso")
@login_required
def sso() -> str:
    mapping = service.mapping_for_admin(actor=current_actor())
    rows = [(value, service.role_choices(role)) for value, role in mapping.rules]
    rows += [("", service.role_choices("user"))] * BLANK_ROWS
    return render_template(
        "admin/sso.html",
        mapping=mapping,
        rows=rows,
        defaults=service.role_choices(mapping.default_role, refuse=True),
        options=service.sign_in_options(),
    )


@bp.post("/sso")
@login_required
def save_sso() -> Any:
    with refusal_flashed(InvalidInput):
        saved = service.save_mapping(
            actor=current_actor(),
            claim=request.form.get("claim") or "",
            default_role=request.form.get("default_role") or "",
            rules=list(zip(request.form.getlist("value"), request.form.getlist("role"), strict=False)),
        )
        if saved.changed:
            flash(f"Mapping saved; {saved.sessions_ended} single sign-on account(s) signed out", "success")
        else:
            flash("Nothing changed", "info")
    return redirect(url_for(".sso"))
