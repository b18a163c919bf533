"""Notifications: the bell's live count, the list, mark read, and the email preference."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from app.config import current_settings
from app.extensions import db
from app.models import Notification
from app.models._base import utcnow
from app.security.redirects import safe_next
from app.web.partials import cached_fragment, is_fragment_request

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("")
@login_required
def index() -> str:
    notes = list(db.session.scalars(select(Notification).where(Notification.user_id == current_user.id)
                                    .order_by(Notification.created_at.desc()).limit(200)))
    return render_template("notifications/index.html", notes=notes)


@bp.get("/_bell")
@login_required
def bell() -> Response:
    unread, newest = db.session.execute(
        select(func.count(), func.max(Notification.id)).where(Notification.user_id == current_user.id,
                                                              Notification.read_at.is_(None))).one()
    return cached_fragment("notifications/_bell.html", version=f"{unread}:{newest}", unread=unread,
                           poll_interval=current_settings().poll_interval)


@bp.post("/<int:note_id>/read")
@login_required
def mark_read(note_id: int) -> Any:
    note = db.session.get(Notification, note_id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    note.read_at = note.read_at or utcnow()
    db.session.commit()
    if is_fragment_request():
        return render_template("notifications/_note.html", note=note)
    return redirect(safe_next(request.form.get("next") or request.args.get("next"), "notifications.index"))


@bp.post("/read-all")
@login_required
def mark_all_read() -> Any:
    db.session.execute(update(Notification).where(Notification.user_id == current_user.id,
                                                  Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    flash("all notifications marked read", "success")
    return redirect(url_for(".index"))


@bp.post("/preferences")
@login_required
def preferences() -> Any:
    current_user.email_notifications = request.form.get("email_notifications") == "on"
    db.session.commit()
    flash("emails are " + ("on" if current_user.email_notifications else "off"), "success")
    return redirect(url_for(".index"))
