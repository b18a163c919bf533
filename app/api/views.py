"""API: saved views — yours and the published ones, save, open, rename or publish, delete."""

from __future__ import annotations

from flask import Response

from app.api.auth import api_user, token_required
from app.api.blueprints import bp
from app.api.openapi import bodies
from app.api.openapi.view_paths import VIEW, VIEW_CHANGE
from app.api.responses import json_body, ok
from app.services import bulk
from app.services import saved_views as service


@bp.get("/views")
@token_required
def list_views() -> Response:
    mine, published = service.views_for(actor=api_user())
    return ok(
        "Saved views",
        {"mine": [service.view_dict(v) for v in mine], "published": [service.view_dict(v) for v in published]},
    )


@bp.post("/views")
@token_required
def save_view() -> Response:
    data = json_body(VIEW)
    view = service.save_view(
        data.get("name"),
        bulk.instance_filter(data.get("filter")),
        actor=api_user(),
        columns=data.get("columns") or (),
        sort=data.get("sort"),
        published=data.get("published", False),
    )
    return ok("View saved", service.view_dict(view, service.open_view(view.id, actor=api_user())), 201)


@bp.get("/views/<int:view_id>")
@token_required
def show_view(view_id: int) -> Response:
    """The view with its list's query string (for GET /instances or /instances.csv) and, when its
    stored filter no longer works, why."""
    opened = service.open_view(view_id, actor=api_user())
    return ok("Saved view", service.view_dict(opened.view, opened))


@bp.patch("/views/<int:view_id>")
@token_required
def update_view(view_id: int) -> Response:
    data = json_body(VIEW_CHANGE)
    view = service.update_view(view_id, actor=api_user(), name=data.get("name"), published=data.get("published"))
    return ok("View updated", service.view_dict(view))


@bp.delete("/views/<int:view_id>")
@token_required
def delete_view(view_id: int) -> Response:
    json_body(bodies.NOTHING)
    service.delete_view(view_id, actor=api_user())
    return ok("View deleted", {"id": view_id})
