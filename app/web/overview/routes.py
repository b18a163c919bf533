"""The overview: counts by status, recent activity, SHAR's health, the queue backlog, stuck instances."""
from __future__ import annotations

from dataclasses import fields

from flask import Blueprint, render_template, request, url_for

from app.services.monitoring import overview
from app.services.trends import trends
from app.web.access import current_actor, login_required
from app.web.charts import trend_charts

bp = Blueprint("overview", __name__)


@bp.get("/")
@login_required
def index() -> str:
    data = overview(actor=current_actor())
    window = request.args.get("window", "24h")
    shown = None if window == "off" else trends(window, actor=current_actor())
    return render_template("overview/index.html", **{f.name: getattr(data, f.name) for f in fields(data)},
                           trends=shown, charts=trend_charts(shown) if shown else [],
                           url_for_window=lambda w: url_for("overview.index", window=w) + "#trends")
