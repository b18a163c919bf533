"""The overview: counts by status, recent activity, SHAR's health, the queue backlog, stuck instances."""

from __future__ import annotations

from dataclasses import fields

from flask import Blueprint, render_template

from app.services.monitoring import overview
from app.web.access import current_actor, login_required
from app.web.charts import trends_context

bp = Blueprint("overview", __name__)


@bp.get("/")
@login_required
def index() -> str:
    data = overview(actor=current_actor())
    return render_template(
        "overview/index.html",
        **{f.name: getattr(data, f.name) for f in fields(data)},
        **trends_context("overview.index"),
    )
