from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, send_from_directory
from flask_login import current_user

from office.alerts import services as alerts
from office.auth.access import login_required, public
from office.auth.permissions import Role
from office.db import db, utcnow
from office.home import queries
from office.i18n import current_locale_code, office_date

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index() -> str:
    """Each role's first page: what awaits this person today, each entry linking to its work."""
    today = office_date(utcnow())
    role = current_user.role
    summary: queries.AdminHome | queries.ReviewerHome | queries.SchedulerHome
    if role is Role.ADMIN:
        summary = queries.admin_home(db.session, today)
    elif role is Role.REVIEWER:
        summary = queries.reviewer_home(db.session, today)
    else:
        summary = queries.scheduler_home(db.session, today, locale=current_locale_code())
    return render_template(
        f"home/{role.value}.html",
        home=summary,
        today=today,
        notices=alerts.notices_for(db.session, current_user),
    )


@bp.get("/healthz")
@public
def healthz() -> Response:
    """Tell a load balancer the process is up; touches nothing else."""
    return Response("ok\n", mimetype="text/plain")


@bp.get("/favicon.ico")
@public
def favicon() -> Response:
    """Answer the browser's own request for the site's icon with the SVG the pages link to."""
    return send_from_directory(
        current_app.static_folder or "static", "favicon.svg", mimetype="image/svg+xml"
    )
