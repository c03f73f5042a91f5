"""How a request is tied to its user: checked against the database on every request.

A browser's session cookie (signed by Flask) holds, of the login, only the key of a session
kept in the database (`UserSession`); a program sends an API bearer token. Each is looked up
on every request, so logging out, ending a session from elsewhere, revoking a token, changing
a password or deactivating a user takes effect at once, on every worker and machine. Nothing
about who is logged in is kept in a process.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from office.auth import services
from office.auth.access import login_manager
from office.auth.models import ApiToken, CredentialEnd, User, UserSession
from office.auth.services import SessionLimits, SessionRefusal
from office.concurrency import is_conflict
from office.db import db, utcnow
from office.errors import ConflictError, problem, wants_json
from office.i18n import _

# Where Flask-Login keeps what it hands the user loader: here the session's key, not the
# user's id, so that a login cannot be forged or revived without a live row behind it.
_KEY = "_user_id"


def init_login(app: Flask) -> None:
    """Check every request's session or token, keep sessions alive, and never let an answer
    be cached."""
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_browser_user)
    login_manager.request_loader(_load_token_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_keep_alive)
    app.after_request(_no_store)


def session_limits() -> SessionLimits:
    return SessionLimits(
        idle=current_app.config["OFFICE_SESSION_IDLE"],
        absolute=current_app.config["PERMANENT_SESSION_LIFETIME"],
    )


def current_session() -> UserSession | None:
    """The server-side session this request came with, if it came with a live one."""
    row: UserSession | None = g.get("user_session")
    return row


def _fresh_cookie() -> None:
    """Drop everything kept in the session cookie but the chosen language."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def sign_in(user: User, *, now: datetime) -> UserSession:
    """Log `user` in in this browser with a new server-side session, whose key replaces
    everything in the cookie but the language (no session fixation). The caller commits."""
    _fresh_cookie()
    if user.language:  # the user's own choice, from any browser, over this one's
        session["lang"] = user.language
    row, key = services.start_session(
        db.session,
        user,
        now=now,
        remote_addr=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    login_user(user)  # Flask-Login's own bookkeeping: freshness, its session id, its signal
    session[_KEY] = key
    session.permanent = True  # the cookie lasts as long as the session's absolute lifetime
    g.user_session = row
    return row


def sign_out(*, now: datetime) -> None:
    """End this browser's session on the server and forget it in the cookie. The caller
    commits."""
    row = current_session()
    if row is not None:
        # Ended from elsewhere a moment ago: logged out all the same.
        with suppress(ConflictError):
            services.end_session(
                db.session,
                row,
                reason=CredentialEnd.LOGGED_OUT,
                actor=current_user._get_current_object(),
                now=now,
            )
    logout_user()
    _fresh_cookie()
    g.pop("user_session", None)


def _load_browser_user(key: str) -> User | None:
    if wants_json():
        return None  # the API authenticates by bearer token only, never by cookie
    found = services.check_session(db.session, key, now=utcnow(), limits=session_limits())
    if found.row is None:
        g.session_refusal = found.refusal
        session.pop(_KEY, None)  # said once; the next page is simply anonymous
        return None
    g.user_session = found.row
    return found.row.user


def _load_token_user(req: Any) -> User | None:
    if not wants_json():
        return None
    scheme, _sep, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = services.find_live_token(db.session, token.strip())
    if row is None:
        return None
    g.api_token = row
    return row.user


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def _keep_alive() -> None:
    """Restart the idle clock of this request's session (record its token's use), in a
    transaction of its own before the view runs, at most once a minute."""
    if request.endpoint is None or _is_static() or not current_user.is_authenticated:
        return
    row = current_session()
    token: ApiToken | None = g.get("api_token")
    now = utcnow()
    due = (row is not None and now - row.last_seen_at >= services.TOUCH_INTERVAL) or (
        token is not None
        and (token.last_used_at is None or now - token.last_used_at >= services.TOUCH_INTERVAL)
    )
    if not due:
        return
    # End the transaction that read the session, so that the write below starts one of its
    # own (on SQLite a read that turns into a write may fail instead of waiting its turn)
    # and commits nothing but itself.
    db.session.commit()
    try:
        alive = True
        if row is not None:
            alive = services.touch_session(db.session, row, now=now)
        if token is not None:
            alive = services.touch_token(db.session, token, now=now)
        db.session.commit()
    except DBAPIError as exc:
        if not is_conflict(exc):
            raise
        db.session.rollback()  # the clock moves on the next request instead
        return
    if not alive:  # logged out or revoked since this request was checked: it waited for that
        g.session_refusal = SessionRefusal.ENDED
        g.pop("api_token", None)
        logout_user()


def _refusal_message() -> str | None:
    refusal: SessionRefusal | None = g.get("session_refusal")
    if refusal is SessionRefusal.IDLE:
        minutes = int(session_limits().idle.total_seconds() // 60)
        return _(
            "You were logged out after %(minutes)d minutes without activity. Please log in again.",
            minutes=minutes,
        )
    if refusal is SessionRefusal.EXPIRED:
        hours = int(session_limits().absolute.total_seconds() // 3600)
        return _(
            "Your session reached its limit of %(hours)d hours. Please log in again.",
            hours=hours,
        )
    if refusal is not None:
        return _("Your session has ended. Please log in again.")
    return None


def _unauthorized() -> Any:
    if wants_json():
        response = problem(401, _("Send a valid API token: Authorization: Bearer TOKEN."))
        response.headers["WWW-Authenticate"] = 'Bearer realm="office"'
        return response
    message = _refusal_message()
    if request.method == "GET":
        flash(message or _("Please log in to see this page."), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if message:
        flash(message, "info")
    return redirect(url_for("auth.login"))


def _no_store(response: Response) -> Response:
    # Pages, exports and API answers show what only their reader may see: no browser or proxy
    # keeps a copy (a shared computer's back button, a cache on the way). Static files stay
    # cacheable; a view that sets its own rule (the public calendar feed) keeps it.
    if not _is_static():
        response.headers.setdefault("Cache-Control", "no-store")
    return response
