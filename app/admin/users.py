"""Admin: users, their roles and their API tokens."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.admin import bp
from app.extensions import db
from app.models import ROLES, ApiToken, User
from app.models._base import utcnow
from app.services.audit import audit
from app.web.access import admin_required


@bp.get("/users")
@admin_required
def users() -> str:
    return render_template("admin/users.html", users=list(db.session.scalars(select(User).order_by(User.email))),
                           roles=ROLES, new_token=None)


@bp.post("/users")
@admin_required
def create_user() -> Any:
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    role = request.form.get("role") or "user"
    if "@" not in email or len(password) < 8 or role not in ROLES:
        flash("give an e-mail address, a password of at least 8 characters and a role", "error")
        return redirect(url_for(".users"))
    if db.session.scalars(select(User).where(User.email == email)).first():
        flash(f"{email} exists already", "error")
        return redirect(url_for(".users"))
    user = User(email=email, name=email.split("@")[0], role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit(current_user, "user.create", "user", user.id, after={"email": email, "role": role})
    db.session.commit()
    flash(f"{email} created", "success")
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>")
@admin_required
def update_user(user_id: int) -> Any:
    user = db.session.get(User, user_id) or abort(404)
    before = {"role": user.role, "active": user.active}
    role = request.form.get("role", user.role)
    if role not in ROLES:
        abort(400)
    if user.id == current_user.id and (role != "admin" or request.form.get("active") == "off"):
        flash("you cannot demote or deactivate yourself", "error")
        return redirect(url_for(".users"))
    user.role = role
    user.active = request.form.get("active", "on") == "on"
    audit(current_user, "user.update", "user", user.id, before=before, after={"role": user.role, "active": user.active})
    db.session.commit()
    flash(f"{user.email} updated", "success")
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>/tokens")
@admin_required
def create_token(user_id: int) -> Any:
    user = db.session.get(User, user_id) or abort(404)
    token, plain = ApiToken.issue(user, request.form.get("name") or "dashboard")
    db.session.add(token)
    db.session.flush()
    audit(current_user, "token.create", "user", user.id, after={"token_id": token.id, "prefix": token.prefix})
    db.session.commit()
    users_list = list(db.session.scalars(select(User).order_by(User.email)))
    # Shown once, on this page only; only its hash is stored.
    return render_template("admin/users.html", users=users_list, roles=ROLES, new_token=(user, plain))


@bp.post("/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(token_id: int) -> Any:
    token = db.session.get(ApiToken, token_id) or abort(404)
    token.revoked_at = token.revoked_at or utcnow()
    audit(current_user, "token.revoke", "user", token.user_id, after={"token_id": token.id})
    db.session.commit()
    flash(f"token {token.prefix}… revoked", "success")
    return redirect(url_for(".users"))
