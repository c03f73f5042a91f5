"""Notices on the home pages: putting one away."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from office.alerts import services
from office.alerts.models import Notice
from office.auth.access import login_required
from office.db import db, utcnow

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.post("/<int:notice_id>/dismiss")
@login_required
def dismiss(notice_id: int) -> Response:
    """Put a notice of the user's role away; it stays away for them alone."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or f",{current_user.role.value}," not in notice.audience:
        abort(404)
    services.dismiss(db.session, notice, current_user, now=utcnow())
    db.session.commit()
    return redirect(url_for("home.index"))
