"""Notices: the header's bell and its list, reading one (opening its record), putting one
away from the home page, and choosing how each kind arrives (in the app only, also by email,
or also in a daily digest)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from office.alerts import services
from office.alerts.labels import CHANNEL_LABELS, KIND_LABELS, notice_message
from office.alerts.models import Channel, Notice
from office.auth.access import login_required
from office.db import db, utcnow
from office.errors import DomainError
from office.i18n import _, current_locale_code

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


def _render_settings(choices: Any, error: str | None = None) -> Any:
    return render_template(
        "notices/settings.html",
        choices=choices,
        error=error,
        kind_labels=KIND_LABELS,
        channels=list(Channel),
        channel_labels=CHANNEL_LABELS,
        mail_off=current_app.config["OFFICE_MAIL_BACKEND"] == "off",
    ), 422 if error else 200


@bp.get("/settings")
@login_required
def settings() -> Any:
    """How each kind of notice of the user's role arrives: the user's own choice."""
    return _render_settings(services.choices_of(db.session, current_user))


@bp.post("/settings")
@login_required
def save_settings() -> Any:
    choices = {
        key.removeprefix("kind-"): value
        for key, value in request.form.items()
        if key.startswith("kind-")
    }
    try:
        changed = services.choose_channels(
            db.session,
            current_user,
            choices,
            language=current_locale_code(),
            now=utcnow(),
        )
    except DomainError as exc:
        db.session.rollback()
        return _render_settings(services.choices_of(db.session, current_user), str(exc))
    db.session.commit()
    flash(_("Your choices are saved.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("notices.settings"))
