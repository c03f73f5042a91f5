"""Two-factor sign-in pages: the code step of a login, one's own setup, and a superuser's
reset for someone who lost their phone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from office.auth import signin, two_factor
from office.auth.access import login_required, permission_required, public
from office.auth.forms import ActionForm, CodeForm
from office.auth.models import User
from office.auth.permissions import Permission
from office.auth.services import LoginResult, has_two_factor
from office.auth.views import complete_login
from office.db import db, utcnow
from office.errors import DomainError, wants_json
from office.i18n import _
from office.web import form_status, get_or_404, show_domain_error

bp = Blueprint("two_factor", __name__)

# What a user who must set up their second factor may still reach before they have.
_BEFORE_SETUP = frozenset(
    {"two_factor.setup", "two_factor.start", "two_factor.confirm", "auth.logout", "auth.language"}
)


@bp.before_app_request
def require_setup() -> Any:
    """Send a user whose role requires a second factor, and who has none, to set it up."""
    endpoint = request.endpoint or ""
    if endpoint in _BEFORE_SETUP or endpoint == "static" or wants_json():
        return None
    required = signin.required_roles()
    if not required or not current_user.is_authenticated:
        return None
    if not two_factor.requires_two_factor(current_user, required):
        return None
    if has_two_factor(db.session, current_user):
        return None
    if request.method == "GET":
        flash(_("Your role requires two-factor sign-in. Set it up to continue."), "info")
    return redirect(url_for("two_factor.setup"))


@bp.app_context_processor
def two_factor_helpers() -> dict[str, Any]:
    def status(user: User) -> str:
        """ "on", "pending" (set up, not confirmed) or "off"."""
        credential = two_factor.credential_of(db.session, user)
        if credential is None:
            return "off"
        return "on" if credential.is_on else "pending"

    return {"two_factor_status": status, "two_factor_required": _required_for}


def _required_for(user: User) -> bool:
    return two_factor.requires_two_factor(user, signin.required_roles())


def _refusal(result: LoginResult) -> str:
    if result.block is not None:
        return signin.refusal_message(result.block)
    return _("That code is not right, or was already used. Type the code your app shows now.")


# --- the second step of a login -----------------------------------------------------------


@bp.route("/login/code", methods=["GET", "POST"])
@public
def code() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    now = utcnow()
    pending = signin.pending_login(now=now)
    if pending is None:
        signin.forget_pending()
        flash(_("Log in again: the code was not given in time."), "info")
        return redirect(url_for("auth.login"))
    user, next_target = pending
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            result = two_factor.attempt_code(
                db.session,
                user,
                form.code.data,
                box=signin.secret_box(),
                now=now,
                remote_addr=request.remote_addr,
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
            return render_template("auth/login_code.html", form=form), exc.status_code
        db.session.commit()
        if result.succeeded:
            return complete_login(user, next_target)
        if result.block is not None:  # locked out: the code step is over
            signin.forget_pending()
        form.code.errors = [_refusal(result)]
        status = 401
    elif form.errors:
        status = form_status(form)
    return render_template("auth/login_code.html", form=form), status


# --- one's own second factor --------------------------------------------------------------


def _render_setup(
    code_form: Any = None, disable_form: Any = None, codes_form: Any = None, status: int = 200
) -> Any:
    user = current_user._get_current_object()
    credential = two_factor.credential_of(db.session, user)
    secret = uri = qr = None
    if credential is not None and not credential.is_on:
        try:
            secret = two_factor.pending_secret(db.session, user, box=signin.secret_box())
        except DomainError as exc:
            flash(str(exc), "error")
        if secret is not None:
            uri = two_factor.provisioning_uri(user, secret)
            qr = two_factor.qr_code_data_uri(uri)
    return render_template(
        "auth/two_factor.html",
        credential=credential,
        secret=two_factor.grouped(secret) if secret else None,
        otpauth_uri=uri,
        qr_code=qr,
        codes_left=two_factor.recovery_codes_left(db.session, user),
        required=_required_for(user),
        code_form=code_form or CodeForm(formdata=None),
        disable_form=disable_form or CodeForm(formdata=None),
        codes_form=codes_form or CodeForm(formdata=None),
        action_form=ActionForm(),
    ), status


@bp.get("/account/two-factor")
@login_required
def setup() -> Any:
    return _render_setup()


@bp.post("/account/two-factor/start")
@login_required
def start() -> Response:
    if ActionForm().validate_on_submit():
        try:
            two_factor.begin_enrolment(
                db.session, current_user, box=signin.secret_box(), now=utcnow()
            )
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
    return redirect(url_for("two_factor.setup"))


@bp.post("/account/two-factor/confirm")
@login_required
def confirm() -> Any:
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(
                db.session, current_user, form.code.data, box=signin.secret_box(), now=utcnow()
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Two-factor sign-in is on."), "success")
            # Shown in this response only: never stored readable, never put in the session.
            return render_template("auth/recovery_codes.html", codes=codes)
    return _render_setup(code_form=form, status=422)


def _checked(form: Any, run: Any) -> tuple[LoginResult | None, Any, int]:
    """Run a change that needs a current code; commit whatever the outcome (a wrong code is
    a failed login that must be counted)."""
    if not form.validate_on_submit():
        return None, None, 422
    try:
        result, value = run(form.code.data)
    except DomainError as exc:
        db.session.rollback()
        show_domain_error(form, exc)
        return None, None, exc.status_code
    db.session.commit()
    if not result.succeeded:
        form.code.errors = [_refusal(result)]
        return result, None, 401
    return result, value, 200


@bp.post("/account/two-factor/disable")
@login_required
def disable() -> Any:
    form = CodeForm()

    def run(code: str) -> tuple[LoginResult, None]:
        result = two_factor.disable_two_factor(
            db.session,
            current_user,
            code,
            required=signin.required_roles(),
            box=signin.secret_box(),
            now=utcnow(),
            remote_addr=request.remote_addr,
        )
        return result, None

    result, _value, status = _checked(form, run)
    if result is not None and result.succeeded:
        flash(_("Two-factor sign-in is off."), "success")
        return redirect(url_for("two_factor.setup"))
    return _render_setup(disable_form=form, status=status)


@bp.post("/account/two-factor/recovery-codes")
@login_required
def new_recovery_codes() -> Any:
    form = CodeForm()

    def run(code: str) -> tuple[LoginResult, list[str]]:
        return two_factor.regenerate_recovery_codes(
            db.session,
            current_user,
            code,
            box=signin.secret_box(),
            now=utcnow(),
            remote_addr=request.remote_addr,
        )

    result, codes, status = _checked(form, run)
    if result is not None and result.succeeded:
        flash(_("New recovery codes made; the old ones no longer work."), "success")
        return render_template("auth/recovery_codes.html", codes=codes)
    return _render_setup(codes_form=form, status=status)


# --- a superuser's reset ------------------------------------------------------------------


@bp.post("/users/<int:user_id>/two-factor/reset")
@permission_required(Permission.MANAGE_USERS)
def reset(user_id: int) -> Response:
    user = get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        try:
            two_factor.reset_two_factor(db.session, user, actor=current_user, now=utcnow())
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(
                _(
                    "Two-factor sign-in of %(email)s is reset: they log in with their password "
                    "and set it up again.",
                    email=user.email,
                ),
                "success",
            )
    return redirect(url_for("users.detail", user_id=user.id))
