"""The instance page's "Move to another version": choose a version, see the preview (who can move,
why not, the mapping selects for the elements the version lacks), confirm. One service each:
services/version_migrations. The bulk form's "Migrate to version" is routes.py's bulk preview."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from app.core.errors import Conflict, InvalidInput
from app.services import display, version_migrations
from app.web.access import current_actor, login_required
from app.web.form_keys import new_form_key, one_time_form
from app.web.instances.listing import MAP_PREFIX, mapping_from
from app.web.instances.routes import bp
from app.web.partials import is_fragment_request


@bp.get("/<instance_id>/migrate")
@login_required
def migrate_form(instance_id: str) -> Any:
    """The form: the versions it may move to; with ?version=N, the preview of that move."""
    return _page(instance_id, request.args)


@bp.post("/<instance_id>/migrate/preview")
@login_required
def migrate_preview(instance_id: str) -> Any:
    """The preview for the chosen version and mapping: the form's part (htmx), or the page."""
    return _page(instance_id, request.form, fragment=is_fragment_request())


@bp.post("/<instance_id>/migrate")
@login_required
@one_time_form
def migrate(instance_id: str) -> Any:
    """Confirm: the move is queued (a job calls SHAR); a refusal shows the preview again, saying why."""
    try:
        queued = version_migrations.migrate_instance(
            instance_id, request.form.get("version"), mapping_from(request.form), actor=current_actor()
        )
    except (Conflict, InvalidInput) as exc:
        return _page(instance_id, request.form, error=exc.message), exc.status_code
    flash(f"move to version {queued.target_version} queued; the page updates when SHAR has moved it", "success")
    return redirect(url_for(".show", instance_id=instance_id))


def _page(instance_id: str, source: MultiDict[str, str], *, fragment: bool = False, error: str | None = None) -> Any:
    form = version_migrations.migration_form(instance_id, actor=current_actor())
    chosen = (source.get("version") or "").strip()
    preview = None
    if chosen and error is None:
        try:
            preview = version_migrations.preview_migration(
                [instance_id], chosen, mapping_from(source), actor=current_actor()
            )
        except (Conflict, InvalidInput) as exc:
            error = exc.message
    context = {
        "instance": form.instance,
        "versions": display.filter_options([str(v) for v in form.versions], chosen),
        "chosen": chosen,
        "preview": preview,
        "error": error,
        "form_key": new_form_key(),
        "map_prefix": MAP_PREFIX,
    }
    return render_template("instances/_migrate_preview.html" if fragment else "instances/migrate.html", **context)
