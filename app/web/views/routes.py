"""Saved views: save the instance list as it is filtered, open one (the list again, by its stored
filter), and manage them (rename, delete, publish). The rules are services.saved_views'."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.core.errors import Conflict, InvalidInput
from app.security.redirects import safe_next
from app.services import saved_views as service
from app.services.access import allowed_actions
from app.web.access import current_actor, login_required
from app.web.instances.listing import filters_from, list_context

bp = Blueprint("views", __name__, url_prefix="/views")


@bp.get("")
@login_required
def index() -> str:
    mine, published = service.views_for(actor=current_actor())
    return render_template(
        "views/index.html",
        groups=[("My views", mine), ("Published views", published)],
        actions={v.id: allowed_actions(current_actor(), v) for v in (*mine, *published)},
    )


@bp.post("")
@login_required
def save() -> Any:
    """The list page's "Save view": its filter, columns and order, under a name."""
    try:
        view = service.save_view(
            request.form.get("name"),
            filters_from(request.form),
            actor=current_actor(),
            columns=request.form.get("columns") or "",
            sort=request.form.get("sort") or None,
            published=request.form.get("published") == "1",
        )
    except (Conflict, InvalidInput) as exc:
        flash(exc.message, "error")
        return redirect(safe_next(request.form.get("next"), "instances.index"))
    flash(f"view {view.name!r} saved", "success")
    return redirect(url_for(".show", view_id=view.id))


@bp.get("/<int:view_id>")
@login_required
def show(view_id: int) -> Any:
    """The list as the view keeps it; a stored filter that no longer works is said, not a 500."""
    opened = service.open_view(view_id, actor=current_actor())
    context = list_context(
        opened.filters, columns_text=", ".join(opened.columns), sort=opened.sort, problem=opened.problem
    )
    context["view"] = opened.view
    context["view_actions"] = allowed_actions(current_actor(), opened.view)
    context["share_url"] = url_for("instances.index", _external=True, **service.link_args(opened))
    return render_template("instances/index.html", **context), 422 if opened.problem else 200


@bp.post("/<int:view_id>/rename")
@login_required
def rename(view_id: int) -> Any:
    return _act(lambda: service.rename_view(view_id, request.form.get("name"), actor=current_actor()), "renamed")


@bp.post("/<int:view_id>/publish")
@login_required
def publish(view_id: int) -> Any:
    published = request.form.get("published") == "1"
    return _act(
        lambda: service.publish_view(view_id, published, actor=current_actor()),
        "published" if published else "taken back to its owner",
    )


@bp.post("/<int:view_id>/delete")
@login_required
def delete(view_id: int) -> Any:
    return _act(lambda: service.delete_view(view_id, actor=current_actor()), "deleted")


def _act(action: Any, done: str) -> Any:
    try:
        view = action()
    except (Conflict, InvalidInput) as exc:
        flash(exc.message, "error")
    else:
        flash(f"view {view.name!r} {done}" if view is not None else f"view {done}", "success")
    return redirect(safe_next(request.form.get("next"), "views.index"))
