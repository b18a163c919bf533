"""Admin: failed jobs, like Horizon's page, plus groups by error and correct-and-retry for launches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from app.admin.blueprint import bp
from app.admin.flashes import refusal_flashed
from app.core import json_input
from app.core.errors import Conflict, InvalidInput, NotFound
from app.services import display
from app.services import failed_jobs as service
from app.services.instances import correct_failed_launch
from app.web.access import current_actor, login_required
from app.web.partials import is_fragment_request


@bp.get("/failed-jobs")
@login_required
def failed_jobs() -> str:
    actor = current_actor()
    return render_template(
        "admin/failed_jobs.html",
        **_lists(request.args),
        job_type_options=display.filter_options(service.job_types(), request.args.get("type")),
        queue_options=display.filter_options(service.failed_queues(actor=actor), request.args.get("queue")),
    )


def _lists(source: Any) -> dict[str, Any]:
    """The groups and the failed jobs of the filter in `source` (the page's URL, or a retry's form)."""
    actor = current_actor()
    queue, job_type = source.get("queue") or None, source.get("type") or None
    return {
        "jobs": service.failed_jobs(actor=actor, queue=queue, job_type=job_type),
        "groups": service.failed_groups(actor=actor),
        "queue": queue or "",
        "job_type": job_type or "",
    }


@bp.get("/jobs/<int:job_id>")
@login_required
def job_detail(job_id: int) -> str:
    detail = service.job_detail(job_id, actor=current_actor())
    return render_template(
        "admin/job_detail.html",
        job=detail.job,
        attempts=detail.attempts,
        instance=detail.instance,
        actions=detail.actions,
        badge=detail.badge,
    )


@bp.post("/failed-jobs/<int:job_id>/retry")
@login_required
def retry(job_id: int) -> Any:
    return _act_on(job_id, service.retry_failed_job, "queued again")


@bp.post("/failed-jobs/<int:job_id>/delete")
@login_required
def delete(job_id: int) -> Any:
    return _act_on(job_id, service.delete_failed_job, "deleted")


@bp.post("/failed-jobs/retry-all")
@login_required
def retry_all() -> Any:
    return _report(
        service.retry_all_failed(
            actor=current_actor(),
            queue=request.form.get("queue") or None,
            job_type=request.form.get("type") or None,
            limit=service.PAGE_RETRY_BATCH,
        )
    )


@bp.post("/failed-jobs/flush")
@login_required
def flush() -> Any:
    count = service.flush_failed_jobs(actor=current_actor())
    flash(f"{count} failed jobs deleted", "success")
    return redirect(url_for(".failed_jobs"))


@bp.get("/failed-jobs/groups/preview")
@login_required
def group_preview() -> str:
    group = service.failed_group(
        request.args.get("job_type", ""), request.args.get("error_shape", ""), actor=current_actor()
    )
    template = "admin/_group_preview.html" if is_fragment_request() else "admin/group_preview.html"
    # The page's filter goes along, so the lists the retry answers with are the ones shown.
    return render_template(
        template, group=group, queue=request.args.get("queue", ""), job_type=request.args.get("type", "")
    )


@bp.post("/failed-jobs/groups/retry")
@login_required
def group_retry() -> Any:
    return _report(
        service.retry_failed_group(
            request.form.get("job_type", ""), request.form.get("error_shape", ""), actor=current_actor()
        )
    )


@bp.post("/jobs/<int:job_id>/correct-and-retry")
@login_required
def correct_and_retry(job_id: int) -> Any:
    with refusal_flashed(InvalidInput) as refused:  # too large, too deep, not (strict) JSON: the page again
        variables = json_input.loads(request.form.get("variables") or "{}", what="the variables", field="variables")
    if refused:
        return job_detail(job_id), 422
    with refusal_flashed(Conflict, InvalidInput):
        correct_failed_launch(job_id, variables, actor=current_actor())
        flash("variables corrected; launch queued again", "success")
    return redirect(url_for(".job_detail", job_id=job_id))


def _act_on(job_id: int, operation: Callable[..., Any], done: str) -> Any:
    """Retry or delete one failed job; a refusal answers in the job's row (htmx) or as a flash."""
    try:
        operation(job_id, actor=current_actor())
    except (NotFound, Conflict) as exc:
        return _answer(exc.message, "error", job_id)
    return _answer(f"job {job_id} {done}", "success", job_id, removed=True)


def _answer(message: str, category: str, job_id: int, *, removed: bool = False) -> Any:
    if is_fragment_request():
        return render_template(
            "admin/_job_action.html", message=message, category=category, job_id=job_id, removed=removed
        )
    flash(message, category)
    return redirect(url_for(".failed_jobs"))


def _report(report: service.RetryReport) -> Any:
    """What a retry of many did; to htmx, with the groups and the list again (swapped in place), so
    the retried rows leave the list and the counts drop, as a single retry's row does."""
    if is_fragment_request():
        said = render_template("admin/_retry_report.html", report=report, batch=service.PAGE_RETRY_BATCH)
        return said + render_template("admin/_failed_lists.html", oob=True, **_lists(request.form))
    left = f"; {report.remaining} still failed: retry again for the next ones" if report.remaining else ""
    flash(f"{len(report.requeued)} requeued, {len(report.skipped)} skipped{left}", "success")
    return redirect(url_for(".failed_jobs"))
