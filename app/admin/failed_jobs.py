"""Admin: failed jobs, like Horizon's page, plus groups by error and correct-and-retry for launches."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app import json_input
from app.admin import bp
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.jobs import admin as jobs
from app.jobs.specs import all_specs
from app.models import JobAttempt, JobRecord, WorkflowInstance
from app.services.audit import audit
from app.services.instances import retry_launch_with_variables
from app.web.access import admin_required
from app.web.partials import is_fragment_request


@bp.get("/failed-jobs")
@admin_required
def failed_jobs() -> str:
    queue, job_type = request.args.get("queue") or None, request.args.get("type") or None
    return render_template("admin/failed_jobs.html", jobs=jobs.failed_jobs(queue=queue, job_type=job_type),
                           groups=jobs.failed_groups(), queue=queue or "", job_type=job_type or "",
                           job_types=sorted(all_specs()), queues=sorted({j.queue for j in jobs.failed_jobs()}))


@bp.get("/jobs/<int:job_id>")
@admin_required
def job_detail(job_id: int) -> str:
    job = db.session.get(JobRecord, job_id) or abort(404)
    attempts = list(db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job.id)
                                       .order_by(JobAttempt.number)))
    instance = db.session.get(WorkflowInstance, job.target_id) if job.target_type == "instance" else None
    return render_template("admin/job_detail.html", job=job, attempts=attempts, instance=instance)


@bp.post("/failed-jobs/<int:job_id>/retry")
@admin_required
def retry(job_id: int) -> Any:
    try:
        job = jobs.retry_job(job_id)
    except (NotFound, Conflict) as exc:
        return _answer(exc.message, "error", job_id)
    audit(current_user, "job.retry", "job", job.id, before={"state": "failed"}, after={"state": job.state})
    db.session.commit()
    return _answer(f"job {job_id} queued again", "success", job_id, removed=True)


@bp.post("/failed-jobs/<int:job_id>/delete")
@admin_required
def delete(job_id: int) -> Any:
    try:
        jobs.delete_job(job_id)
    except (NotFound, Conflict) as exc:
        return _answer(exc.message, "error", job_id)
    audit(current_user, "job.delete", "job", job_id)
    db.session.commit()
    return _answer(f"job {job_id} deleted", "success", job_id, removed=True)


@bp.post("/failed-jobs/retry-all")
@admin_required
def retry_all() -> Any:
    queue, job_type = request.form.get("queue") or None, request.form.get("type") or None
    report = jobs.retry_jobs([j.id for j in jobs.failed_jobs(queue=queue, job_type=job_type, limit=10_000)])
    audit(current_user, "job.retry_all", "job", "*", after={"requeued": report.requeued, "skipped": report.skipped})
    db.session.commit()
    return _report(report)


@bp.post("/failed-jobs/flush")
@admin_required
def flush() -> Any:
    count = jobs.flush_failed()
    audit(current_user, "job.flush", "job", "*", after={"deleted": count})
    db.session.commit()
    flash(f"{count} failed jobs deleted", "success")
    return redirect(url_for(".failed_jobs"))


@bp.get("/failed-jobs/groups/preview")
@admin_required
def group_preview() -> str:
    group = _group(request.args.get("job_type", ""), request.args.get("error_shape", ""))
    return render_template("admin/_group_preview.html", group=group)


@bp.post("/failed-jobs/groups/retry")
@admin_required
def group_retry() -> Any:
    group = _group(request.form.get("job_type", ""), request.form.get("error_shape", ""))
    report = jobs.retry_jobs(group["job_ids"] if group else [])
    audit(current_user, "job.retry_group", "job", "*",
          before={"job_type": request.form.get("job_type"), "error_shape": request.form.get("error_shape")},
          after={"requeued": report.requeued, "skipped": report.skipped})
    db.session.commit()
    return _report(report)


@bp.post("/jobs/<int:job_id>/correct-and-retry")
@admin_required
def correct_and_retry(job_id: int) -> Any:
    try:
        variables = json_input.loads(request.form.get("variables") or "{}", what="the variables", field="variables")
    except InvalidInput as exc:  # too large, too deep, not (strict) JSON: the page again, with the reason
        flash(exc.message, "error")
        return job_detail(job_id), 422
    try:
        retry_launch_with_variables(job_id, variables, actor=current_user)
    except (NotFound, Conflict, InvalidInput) as exc:
        flash(exc.message, "error")
    else:
        flash("variables corrected; launch queued again", "success")
    return redirect(url_for(".job_detail", job_id=job_id))


def _group(job_type: str, error_shape: str) -> dict[str, Any] | None:
    return next((g for g in jobs.failed_groups() if g["job_type"] == job_type and g["error_shape"] == error_shape), None)


def _answer(message: str, category: str, job_id: int, *, removed: bool = False) -> Any:
    if is_fragment_request():
        return render_template("admin/_job_action.html", message=message, category=category, job_id=job_id,
                               removed=removed)
    flash(message, category)
    return redirect(url_for(".failed_jobs"))


def _report(report: jobs.RetryReport) -> Any:
    if is_fragment_request():
        return render_template("admin/_retry_report.html", report=report)
    flash(f"{len(report.requeued)} requeued, {len(report.skipped)} skipped", "success")
    return redirect(url_for(".failed_jobs"))
