"""Notices: the header's bell and its list, reading one (opening its record) and putting
one away from the home page."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from office.alerts import services
from office.alerts.labels import notice_message
from office.alerts.models import Notice
from office.auth.access import login_required
from office.db import db, utcnow

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.app_context_processor
def bell() -> dict[str, object]:
    def unread_notices() -> int:
        if not current_user.is_authenticated:
            return 0
        return services.unread_count(db.session, current_user)

    return {"unread_notices": unread_notices, "notice_message": notice_message}


def _notice(notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None or not services.visible_to(notice, current_user):
        abort(404)
    return notice


@bp.get("/")
@login_required
def index() -> str:
    """The notices of the user's role, newest first, unread ones marked."""
    return render_template(
        "notices/index.html", notices=services.all_notices(db.session, current_user)
    )


@bp.post("/<int:notice_id>/open")
@login_required
def open_notice(notice_id: int) -> Response:
    """Read a notice: mark it read and go to its record (a button, as it writes)."""
    notice = _notice(notice_id)
    services.dismiss(db.session, notice, current_user, now=utcnow())
    db.session.commit()
    return redirect(url_for(notice.endpoint, **notice.endpoint_args))


@bp.post("/<int:notice_id>/dismiss")
@login_required
def dismiss(notice_id: int) -> Response:
    """Put a notice of the user's role away (mark it read); it stays away for them alone."""
    notice = _notice(notice_id)
    services.dismiss(db.session, notice, current_user, now=utcnow())
    db.session.commit()
    return redirect(url_for("home.index"))
