from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from office.auth import services, signin
from office.auth.access import login_required, permission_required, public
from office.auth.forms import (
    ActionForm,
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    PasswordSetForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
)
from office.auth.login import current_session, session_limits, sign_in, sign_out
from office.auth.models import ApiToken, CredentialEnd, LoginOutcome, User, UserSession
from office.auth.permissions import Permission, Role
from office.db import db, utcnow
from office.errors import DomainError
from office.i18n import _
from office.web import form_status, get_or_404, safe_next, show_domain_error

bp = Blueprint("auth", __name__)
users_bp = Blueprint("users", __name__, url_prefix="/users")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    failed = False
    if form.validate_on_submit():
        now = utcnow()
        result = services.attempt_login(
            db.session,
            form.email.data,
            form.password.data,
            now=now,
            remote_addr=request.remote_addr,
        )
        db.session.commit()
        user = result.user  # set when the password was right and the user may log in
        if user is not None and result.succeeded:
            return complete_login(user, form.next.data)
        if user is not None and result.outcome is LoginOutcome.PASSWORD_ACCEPTED:
            signin.await_code(user, form.next.data, now=now)
            return redirect(url_for("two_factor.code"))
        failed = True
        if result.block is not None:
            message = signin.refusal_message(result.block)
        else:
            message = _("The email or password is not right.")
        form.form_errors.append(message)
    status = 401 if failed else form_status(form)
    return render_template("auth/login.html", form=form), status


def complete_login(user: User, next_target: str | None) -> Response:
    """Log `user` in with a new server-side session, commit, and send them where they were
    going."""
    sign_in(user, now=utcnow())
    db.session.commit()
    return redirect(safe_next(next_target) or url_for("home.index"))


@bp.post("/logout")
@login_required
def logout() -> Response:
    form = ActionForm()
    if form.validate_on_submit():
        sign_out(now=utcnow())
        db.session.commit()
        flash(_("You have logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.post("/language")
@public
def language() -> Response:
    """Switch this browser to a language, and keep it as a logged-in user's own choice."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            services.set_language(db.session, current_user, form.lang.data)
            db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("home.index"))


def _render_account(form: Any = None, token_form: Any = None, new_token: str | None = None) -> Any:
    form = form or PasswordChangeForm(formdata=None)
    token_form = token_form or TokenForm(formdata=None)
    now = utcnow()
    return render_template(
        "auth/account.html",
        form=form,
        token_form=token_form,
        tokens=services.tokens_of(db.session, current_user),
        token_is_live=services.token_is_live,
        sessions=services.live_sessions(db.session, current_user, now=now, limits=session_limits()),
        this_session=current_session(),
        new_token=new_token,
        action_form=ActionForm(),
        jobs=_recent_jobs(),
    ), form_status(form, token_form)


def _recent_jobs() -> list[Any]:
    """The user's newest jobs and the files they left (the jobs feature sits above auth)."""
    from office.jobs.services import jobs_of

    return jobs_of(db.session, current_user, limit=10)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Any:
    form = PasswordChangeForm() if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        now = utcnow()
        user = current_user._get_current_object()
        try:
            services.change_own_password(
                db.session, user, form.current_password.data, form.new_password.data, now=now
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            # Every session and token of the user has ended; this browser gets a new session.
            sign_in(user, now=now)
            db.session.commit()
            flash(
                _(
                    "Your password has been changed. Your other sessions and your API tokens "
                    "have ended."
                ),
                "success",
            )
            return redirect(url_for("auth.account"))
    return _render_account(form=form)


@bp.post("/account/tokens")
@login_required
def create_token() -> Any:
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _row, token = services.create_api_token(
                db.session, current_user, name=form.name.data, actor=current_user, now=utcnow()
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            db.session.commit()
            # Shown in this response only: never stored, never put in the session cookie.
            return _render_account(new_token=token)
    return _render_account(token_form=form)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    return _end_credential(
        ApiToken,
        token_id,
        owner_id=current_user.id,
        end=services.revoke_api_token,
        done=lambda row: _("Token %(prefix)s… revoked.", prefix=row.prefix),
        back=url_for("auth.account"),
    )


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int) -> Response:
    return _end_credential(
        UserSession,
        session_id,
        owner_id=current_user.id,
        end=_end_session,
        done=lambda row: _("That session has ended."),
        back=url_for("auth.account"),
    )


def _end_session(session: Any, row: UserSession, *, actor: User, now: Any) -> None:
    services.end_session(session, row, reason=CredentialEnd.REVOKED, actor=actor, now=now)


def _end_credential(
    model: Any,
    row_id: int,
    *,
    owner_id: int,
    end: Callable[..., None],
    done: Callable[[Any], str],
    back: str,
) -> Response:
    """End one of a user's credentials (an API token, a session). Another user's row is a 404,
    whoever asks, so that ids of other people's credentials tell nothing."""
    row = get_or_404(model, row_id)
    if row.user_id != owner_id:
        abort(404)
    if ActionForm().validate_on_submit():
        try:
            end(db.session, row, actor=current_user, now=utcnow())
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(done(row), "success")
    return redirect(back)


# --- user management (superusers) ---------------------------------------------------------


@users_bp.get("/")
@permission_required(Permission.MANAGE_USERS)
def index() -> str:
    users = db.session.scalars(
        select(User).order_by(User.is_active.desc(), User.display_name, User.id)
    ).all()
    return render_template("users/index.html", users=users)


@users_bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def new() -> Any:
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                db.session,
                email=form.email.data,
                display_name=form.display_name.data,
                role=Role(form.role.data),
                password=form.new_password.data,
                is_superuser=form.is_superuser.data,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("users.detail", user_id=user.id))
    return render_template("users/new.html", form=form), form_status(form)


def _render_detail(user: User, edit_form: Any = None, password_form: Any = None) -> Any:
    edit_form = edit_form or UserEditForm(obj=user, formdata=None)
    password_form = password_form or PasswordSetForm(formdata=None)
    return render_template(
        "users/detail.html",
        user=user,
        form=edit_form,
        password_form=password_form,
        action_form=ActionForm(),
        sessions=services.live_sessions(db.session, user, now=utcnow(), limits=session_limits()),
        this_session=current_session(),
        tokens=services.tokens_of(db.session, user),
        token_is_live=services.token_is_live,
    ), form_status(edit_form, password_form)


@users_bp.route("/<int:user_id>", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_USERS)
def detail(user_id: int) -> Any:
    user = get_or_404(User, user_id)
    form = UserEditForm(obj=user) if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        try:
            services.update_user(
                db.session,
                user,
                display_name=form.display_name.data,
                role=Role(form.role.data),
                is_superuser=form.is_superuser.data,
                actor=current_user,
                now=utcnow(),
            )
        except DomainError as exc:
            db.session.rollback()
            show_domain_error(form, exc)
        else:
            db.session.commit()
            flash(_("Changes to %(email)s saved.", email=user.email), "success")
            return redirect(url_for("users.detail", user_id=user.id))
    return _render_detail(user, edit_form=form)


@users_bp.post("/<int:user_id>/password")
@permission_required(Permission.MANAGE_USERS)
def set_password(user_id: int) -> Any:
    user = get_or_404(User, user_id)
    form = PasswordSetForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            services.set_password(
                db.session, user, form.new_password.data, actor=current_user, now=now
            )
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            if user.id == current_user.id:
                sign_in(user, now=now)  # their own: this browser stays logged in
            db.session.commit()
            flash(_("New password set for %(email)s.", email=user.email), "success")
            return redirect(url_for("users.detail", user_id=user.id))
    return _render_detail(user, password_form=form)


def _activation(user_id: int, change: Any, done: Callable[[User], str]) -> Response:
    user = get_or_404(User, user_id)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            change(db.session, user, actor=current_user, now=utcnow())
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(done(user), "success")
    return redirect(url_for("users.detail", user_id=user.id))


@users_bp.post("/<int:user_id>/deactivate")
@permission_required(Permission.MANAGE_USERS)
def deactivate(user_id: int) -> Response:
    return _activation(
        user_id,
        services.deactivate_user,
        lambda user: _("%(email)s can no longer log in.", email=user.email),
    )


@users_bp.post("/<int:user_id>/reactivate")
@permission_required(Permission.MANAGE_USERS)
def reactivate(user_id: int) -> Response:
    return _activation(
        user_id,
        services.reactivate_user,
        lambda user: _("%(email)s can log in again.", email=user.email),
    )


@users_bp.post("/<int:user_id>/sessions/<int:session_id>/end", endpoint="end_session")
@permission_required(Permission.MANAGE_USERS)
def end_users_session(user_id: int, session_id: int) -> Response:
    return _end_credential(
        UserSession,
        session_id,
        owner_id=user_id,
        end=_end_session,
        done=lambda row: _("A session of %(email)s has ended.", email=row.user.email),
        back=url_for("users.detail", user_id=user_id),
    )


@users_bp.post("/<int:user_id>/tokens/<int:token_id>/revoke", endpoint="revoke_token")
@permission_required(Permission.MANAGE_USERS)
def revoke_users_token(user_id: int, token_id: int) -> Response:
    return _end_credential(
        ApiToken,
        token_id,
        owner_id=user_id,
        end=services.revoke_api_token,
        done=lambda row: _(
            "Token %(prefix)s… of %(email)s revoked.", prefix=row.prefix, email=row.user.email
        ),
        back=url_for("users.detail", user_id=user_id),
    )
