"""Admin: users, their roles and their API tokens."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from app.admin.blueprint import bp
from app.admin.flashes import refusal_flashed
from app.core.errors import Conflict, InvalidInput
from app.models import ROLES
from app.services import users as service
from app.web.access import current_actor, login_required


@bp.get("/users")
@login_required
def users() -> str:
    return _page()


@bp.post("/users")
@login_required
def create_user() -> Any:
    with refusal_flashed(InvalidInput, Conflict):
        created = service.create_user(
            request.form.get("email") or "",
            actor=current_actor(),
            password=request.form.get("password") or "",
            role=request.form.get("role") or "user",
        )
        flash(f"{created.user.email} created", "success")
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>")
@login_required
def update_user(user_id: int) -> Any:
    with refusal_flashed(InvalidInput, Conflict):
        user = service.update_user(
            user_id,
            actor=current_actor(),
            role=request.form.get("role") or "",
            active=request.form.get("active", "on") == "on",
        )
        flash(f"{user.email} updated", "success")
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>/tokens")
@login_required
def create_token(user_id: int) -> Any:
    new = service.issue_token(actor=current_actor(), user_id=user_id, name=request.form.get("name") or "dashboard")
    # Shown once, on this page only; only its hash is stored.
    return _page(new_token=(new.token.user, new.plain))


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Any:
    token = service.revoke_token(token_id, actor=current_actor())
    flash(f"token {token.prefix}… revoked", "success")
    return redirect(url_for(".users"))


def _page(new_token: tuple[Any, str] | None = None) -> str:
    users = service.list_users(actor=current_actor())
    return render_template(
        "admin/users.html",
        users=users,
        choices={user.id: service.form_choices(user) for user in users},
        roles=ROLES,
        new_token=new_token,
    )
