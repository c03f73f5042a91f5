"""The jobs' pages: the list of one's jobs, a job's page (which follows it without a reload),
its state as JSON for that page, cancelling, and downloading the file it left.

A job is its owner's and the superusers' (`services.may_see`): to anyone else it does not
exist (404), its file included."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from office.auth.access import login_required
from office.auth.forms import ActionForm
from office.db import db, utcnow
from office.errors import DomainError, page_or_problem
from office.i18n import _, format_datetime
from office.jobs import display, services
from office.jobs.models import Job, JobState
from office.jobs.web import send_job_file

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.app_context_processor
def jobs_vocabulary() -> dict[str, Any]:
    return {
        "job_kind_label": display.kind_label,
        "job_tone": display.STATE_TONES.get,
        "job_file": lambda job: services.downloadable(job, utcnow()),
        "job_rows_line": display.rows_line,
        "job_planner_lines": display.planner_lines,
        "job_result_label": display.result_label,
        "keep_days": lambda: current_app.config["OFFICE_JOBS_KEEP"].days,
    }


@bp.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    """A file's size as people read it: 12 KB, 3.4 MB."""
    size = size or 0
    if size < 1024:
        return _("%(n)d bytes", n=size)
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or not services.may_see(current_user, job):
        abort(404)
    return job


@bp.get("/", endpoint="index")
@login_required
def index() -> str:
    everyone = bool(current_user.is_superuser and request.args.get("all") == "1")
    jobs = services.jobs_of(db.session, None if everyone else current_user, limit=100)
    return render_template("jobs/index.html", jobs=jobs, everyone=everyone)


@bp.get("/<int:job_id>", endpoint="detail")
@login_required
def detail(job_id: int) -> str:
    job = _job_or_404(job_id)
    return render_template("jobs/detail.html", job=job, **_shown(job))


def _shown(job: Job) -> dict[str, Any]:
    return {
        "status_text": display.status_text(job),
        "file": services.downloadable(job, utcnow()),
        "action_form": ActionForm(formdata=None),
        "kind_label": display.kind_label(job),
    }


@bp.get("/<int:job_id>.json", endpoint="status")
@login_required
def status(job_id: int) -> Response:
    """What the job's page needs to follow it: small, read every second or so."""
    job = _job_or_404(job_id)
    shown = _shown(job)
    return jsonify(
        {
            "id": job.id,
            "state": job.state.value,
            "finished": job.is_finished,
            "percent": job.percent,
            "status_text": shown["status_text"],
            "detail_html": render_template("jobs/_detail.html", job=job, **shown),
            "actions_html": render_template("jobs/_actions.html", job=job, **shown),
            "updated_at": format_datetime(job.heartbeat_at or job.finished_at or job.created_at),
        }
    )


@bp.post("/<int:job_id>/cancel", endpoint="cancel")
@login_required
def cancel(job_id: int) -> BaseResponse:
    job = _job_or_404(job_id)
    if ActionForm().validate_on_submit():
        try:
            state = services.cancel_job(db.session, job, actor=current_user, now=utcnow())
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            task_id = job.task_id
            db.session.commit()
            if state is JobState.CANCELLED:
                if task_id:
                    _revoke(task_id)
                flash(_("The job was cancelled before it started."), "success")
            else:
                flash(
                    _("The job will stop at its next step; nothing of it will be applied."),
                    "success",
                )
    return redirect(url_for("jobs.detail", job_id=job_id))


def _revoke(task_id: str) -> None:
    from office.jobs.queue import queue_of

    try:
        queue_of().revoke(task_id)
    except Exception:  # the job is cancelled in our record: a worker that takes it skips it
        from flask import current_app

        current_app.logger.exception("could not revoke task %s", task_id)


@bp.get("/<int:job_id>/download", endpoint="download")
@login_required
def download(job_id: int) -> Any:
    job = _job_or_404(job_id)
    now = utcnow()
    file = services.downloadable(job, now)
    if file is None:
        return page_or_problem(*display.no_file_reason(job, now))
    return send_job_file(file)
