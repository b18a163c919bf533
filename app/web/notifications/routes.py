"""Notifications: the bell's live count, the list, mark read, and the email preference."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.core.errors import InvalidInput
from app.security.redirects import safe_next
from app.services import notifications as service
from app.services import outages, time_zones
from app.services.users import set_email_notifications
from app.web.access import current_actor, login_required
from app.web.partials import cached_fragment, is_fragment_request

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("")
@login_required
def index() -> str:
    notes = service.list_notifications(actor=current_actor())
    return render_template(
        "notifications/index.html",
        notes=notes,
        email_lines=service.email_lines(notes),
        mail_enabled=service.mail_enabled(),
        mail_off=service.MAIL_OFF,
        zone_names=time_zones.zone_names(),
        zone=current_user.time_zone or time_zones.DEFAULT_ZONE,
    )


@bp.get("/_bell")
@login_required
def bell() -> Response:
    unread, newest = service.unread_state(actor=current_actor())
    shown = f"{service.BELL_CAP}+" if unread > service.BELL_CAP else str(unread)
    # Every page polls the bell: it also brings the outage banner (services.outages), so its version holds it.
    return cached_fragment(
        "notifications/_bell.html", version=f"{unread}:{newest}:{outages.version_key()}", unread=unread, shown=shown
    )


@bp.post("/<int:note_id>/read")
@login_required
def mark_read(note_id: int) -> Any:
    note = service.mark_read(note_id, actor=current_actor())
    if is_fragment_request():
        return render_template("notifications/_note.html", note=note, email_lines=service.email_lines([note]))
    return redirect(safe_next(request.form.get("next") or request.args.get("next"), "notifications.index"))


@bp.post("/read-all")
@login_required
def mark_all_read() -> Any:
    service.mark_all_read(actor=current_actor())
    flash("all notifications marked read", "success")
    return redirect(url_for(".index"))


@bp.post("/preferences")
@login_required
def preferences() -> Any:
    enabled = request.form.get("email_notifications") == "on"
    set_email_notifications(actor=current_actor(), enabled=enabled)
    flash(service.preference_saved(enabled), "success")
    return redirect(url_for(".index"))


@bp.post("/time-zone")
@login_required
def time_zone() -> Any:
    """The signed-in person's zone for the times the pages show."""
    try:
        zone = time_zones.set_time_zone(actor=current_actor(), name=request.form.get("time_zone"))
    except InvalidInput as exc:
        flash(exc.message, "error")
    else:
        flash(f"Times are now shown in {zone or time_zones.DEFAULT_ZONE}.", "success")
    return redirect(url_for(".index"))
