"""Two-factor sign-in: setting it up, the code step of a login, recovery codes, turning it off,
a superuser's reset, the setting that requires it, and its secrets' encryption."""

import re
from datetime import timedelta

import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from office.auth import services, signin, two_factor
from office.auth.models import LoginAttempt, LoginOutcome, RecoveryCode, TwoFactorCredential
from office.auth.permissions import Role
from office.db import utcnow
from tests.auth.arrange import box_of, code_for, enable_two_factor
from tests.conftest import build_app, log_in
from tests.factories import NOW, PASSWORD, audit_events, make_user

EMAIL = "kim@test.example"
REQUIRED = frozenset({"reviewer", "superuser"})


def post_login(client, email=EMAIL, password=PASSWORD, next_url=""):
    return client.post("/login", data={"email": email, "password": password, "next": next_url})


def send_code(client, code):
    return client.post("/login/code", data={"code": code})


def outcomes(session, email=EMAIL):
    return session.scalars(
        select(LoginAttempt.outcome).where(LoginAttempt.email == email).order_by(LoginAttempt.id)
    ).all()


@pytest.fixture
def strict_app(connection, database_url):
    """The app as production configures it: reviewers and superusers need a second factor."""
    return build_app(connection, database_url, OFFICE_TWO_FACTOR_REQUIRED_ROLES=REQUIRED)


def client_of(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


# --- setting it up ------------------------------------------------------------------------


def test_a_user_sets_it_up_from_their_account_page(client, session, app):
    user = make_user(session, Role.SCHEDULER, email=EMAIL)
    log_in(client, user)
    account = client.get("/account").get_data(as_text=True)
    assert "Set up two-factor sign-in" in account

    assert client.post("/account/two-factor/start").status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn by the app itself
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    secret = secret.replace(" ", "")
    assert f"secret={secret}" in page  # the otpauth:// link holds the same key

    wrong = client.post("/account/two-factor/confirm", data={"code": "000000"})
    assert wrong.status_code == 422
    assert b"That is not the code your app shows now." in wrong.data
    assert not services.has_two_factor(session, user)

    shown = client.post("/account/two-factor/confirm", data={"code": code_for(secret)})
    assert shown.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{4}(?:-[a-z2-9]{4}){3})</code>", shown.get_data(True))
    assert len(set(codes)) == 10
    assert services.has_two_factor(session, user)
    credential = session.scalar(select(TwoFactorCredential))
    assert secret not in credential.secret_encrypted  # encrypted with the key...
    assert box_of(app).open(credential.secret_encrypted) == secret  # ...from the settings
    stored = session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only digests are kept
    assert [e.actor_id for e in audit_events(session, "user.two_factor_enabled")] == [user.id]
    assert "Unused recovery codes: 10 of 10." in client.get("/account/two-factor").get_data(True)


def test_starting_again_replaces_a_key_that_was_never_confirmed(client, session, app):
    user = make_user(session, email=EMAIL)
    first = two_factor.begin_enrolment(session, user, box=box_of(app), now=NOW)
    second = two_factor.begin_enrolment(session, user, box=box_of(app), now=NOW)
    assert first != second
    assert two_factor.pending_secret(session, user, box=box_of(app)) == second
    assert session.scalar(
        select(TwoFactorCredential.id).where(TwoFactorCredential.user_id == user.id)
    )


# --- the code step of a login -------------------------------------------------------------


def test_the_password_alone_does_not_log_in_a_user_with_a_second_factor(client, session, app):
    user = make_user(session, email=EMAIL, superuser=True)
    secret, _codes = enable_two_factor(session, user, box_of(app))

    response = post_login(client, next_url="/users/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/code"
    assert client.get("/").status_code == 302  # not logged in yet
    assert outcomes(session)[-1] is LoginOutcome.PASSWORD_ACCEPTED
    assert b"authenticator app" in client.get("/login/code").data

    wrong = send_code(client, "123456" if code_for(secret) != "123456" else "654321")
    assert wrong.status_code == 401
    assert b"That code is not right, or was already used." in wrong.data

    right = send_code(client, code_for(secret))
    assert right.status_code == 302
    assert right.headers["Location"] == "/users/"
    assert client.get("/").status_code == 200
    assert outcomes(session)[-2:] == [LoginOutcome.BAD_CODE, LoginOutcome.SUCCEEDED]
    session.refresh(user)
    assert user.last_login_at is not None


def test_a_code_is_accepted_once(app, session):
    user = make_user(session, email=EMAIL)
    secret, _codes = enable_two_factor(session, user, box_of(app))
    code = code_for(secret)
    first, second = client_of(app), client_of(app)
    post_login(first)
    post_login(second)  # someone who saw the code typed, and knows the password
    assert send_code(first, code).status_code == 302
    replay = send_code(second, code)
    assert replay.status_code == 401
    assert second.get("/").status_code == 302
    # And a code older than the one used is refused as well.
    assert send_code(second, code_for(secret, steps_back=1)).status_code == 401


def test_a_recovery_code_logs_in_once(app, session):
    user = make_user(session, email=EMAIL)
    _secret, codes = enable_two_factor(session, user, box_of(app))
    browser = client_of(app)
    post_login(browser)
    typed = codes[3].upper().replace("-", " ")  # typed as people type it
    assert send_code(browser, typed).status_code == 302
    [event] = audit_events(session, "user.recovery_code_used")
    assert event.detail == {"left": 9}

    again = client_of(app)
    post_login(again)
    assert send_code(again, codes[3]).status_code == 401
    assert two_factor.recovery_codes_left(session, user) == 9


def test_wrong_codes_count_towards_the_lockout(app, session):
    user = make_user(session, email=EMAIL)
    secret, _codes = enable_two_factor(session, user, box_of(app))
    browser = client_of(app)
    post_login(browser)
    for _ in range(services.MAX_FAILURES):
        response = send_code(browser, "000000")
    assert b"Too many failed attempts" in response.data
    # Locked out now: the code step is over, and the right password is refused from here.
    assert send_code(browser, code_for(secret)).headers["Location"] == "/login"
    again = post_login(browser)
    assert again.status_code == 401
    assert b"Too many failed attempts" in again.data
    assert outcomes(session)[-1] is LoginOutcome.LOCKED_OUT


def test_the_right_password_does_not_clear_the_failures_before_it(session, app):
    """Otherwise a thief with the password could try four codes, type the password, and try
    four more, for ever."""
    user = make_user(session, email=EMAIL)
    enable_two_factor(session, user, box_of(app))
    now = utcnow()
    for _ in range(services.MAX_FAILURES - 1):
        services.attempt_login(session, EMAIL, "wrong password!", now=now, remote_addr="10.0.0.1")
    accepted = services.attempt_login(session, EMAIL, PASSWORD, now=now, remote_addr="10.0.0.1")
    assert accepted.outcome is LoginOutcome.PASSWORD_ACCEPTED
    wrong = two_factor.attempt_code(
        session, user, "000000", box=box_of(app), now=now, remote_addr="10.0.0.1"
    )
    assert wrong.outcome is LoginOutcome.BAD_CODE
    assert wrong.locked_until is not None


def test_the_code_step_lasts_five_minutes(app, session):
    user = make_user(session, email=EMAIL)
    secret, _codes = enable_two_factor(session, user, box_of(app))
    browser = client_of(app)
    post_login(browser)
    with browser.session_transaction() as flask_session:
        pending = flask_session[signin.PENDING_KEY]
        pending["at"] = (utcnow() - signin.PENDING_FOR - timedelta(seconds=1)).isoformat()
        flask_session[signin.PENDING_KEY] = pending
    response = send_code(browser, code_for(secret))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert browser.get("/").status_code == 302


def test_the_code_step_without_a_password_goes_back_to_login(client):
    response = client.post("/login/code", data={"code": "123456"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_api_tokens_work_as_before_for_a_user_with_a_second_factor(strict_app, session):
    user = make_user(session, Role.REVIEWER, email=EMAIL)
    enable_two_factor(session, user, box_of(strict_app))
    _row, token = services.create_api_token(session, user, name="t", actor=None, now=NOW)
    session.commit()
    response = client_of(strict_app).get(
        "/api/v1/resources", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


# --- the setting that requires it ---------------------------------------------------------


@pytest.mark.parametrize("viewer", ["reviewer", "superuser"])
def test_a_required_role_is_sent_to_set_it_up_before_anything_else(strict_app, session, viewer):
    user = (
        make_user(session, Role.ADMIN, superuser=True)
        if viewer == "superuser"
        else make_user(session, Role.REVIEWER)
    )
    _row, token = services.create_api_token(session, user, name="t", actor=None, now=NOW)
    session.commit()
    browser = log_in(client_of(strict_app), user)
    for page in ("/", "/audit/", "/account"):
        response = browser.get(page)
        assert response.status_code == 302, page
        assert response.headers["Location"] == "/account/two-factor"
    assert browser.post("/account/two-factor/start").status_code == 302
    page = browser.get("/account/two-factor")
    assert page.status_code == 200
    assert b"Your role requires two-factor sign-in." in page.data
    # The API, authenticated by its token, is not concerned.
    api = client_of(strict_app).get(
        "/api/v1/resources", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code in (200, 403)

    secret = two_factor.pending_secret(session, user, box=box_of(strict_app))
    browser.post("/account/two-factor/confirm", data={"code": code_for(secret)})
    assert browser.get("/").status_code == 200


def test_roles_not_required_are_not_sent_to_set_it_up(strict_app, session):
    browser = log_in(client_of(strict_app), make_user(session, Role.SCHEDULER))
    assert browser.get("/").status_code == 200


def test_a_required_role_cannot_turn_it_off(strict_app, session):
    user = make_user(session, Role.REVIEWER)
    secret, _codes = enable_two_factor(session, user, box_of(strict_app))
    browser = log_in(client_of(strict_app), user)
    assert b"cannot be turned off" in browser.get("/account/two-factor").data
    response = browser.post("/account/two-factor/disable", data={"code": code_for(secret)})
    assert response.status_code == 409
    assert b"Your role requires two-factor sign-in" in response.data
    assert services.has_two_factor(session, user)


# --- turning it off, new recovery codes, the superuser's reset ----------------------------


def test_turning_it_off_takes_a_current_code(client, app, session):
    user = make_user(session, Role.SCHEDULER, email=EMAIL)
    secret, _codes = enable_two_factor(session, user, box_of(app))
    log_in(client, user)
    wrong = client.post("/account/two-factor/disable", data={"code": "000000"})
    assert wrong.status_code == 401
    assert services.has_two_factor(session, user)
    assert outcomes(session)[-1] is LoginOutcome.BAD_CODE  # counted like a failed login

    right = client.post("/account/two-factor/disable", data={"code": code_for(secret)})
    assert right.status_code == 302
    assert not services.has_two_factor(session, user)
    assert session.scalars(select(RecoveryCode)).all() == []
    assert len(audit_events(session, "user.two_factor_disabled")) == 1
    # Back to the password alone.
    assert post_login(client_of(app)).headers["Location"] == "/"


def test_new_recovery_codes_replace_the_old_ones(client, app, session):
    user = make_user(session, email=EMAIL)
    secret, old = enable_two_factor(session, user, box_of(app))
    log_in(client, user)
    response = client.post("/account/two-factor/recovery-codes", data={"code": code_for(secret)})
    assert response.status_code == 200
    new = re.findall(r"<code>([a-z2-9-]{19})</code>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    browser = client_of(app)
    post_login(browser)
    assert send_code(browser, old[0]).status_code == 401
    assert send_code(browser, new[0]).status_code == 302


def test_a_superuser_resets_it_for_someone_who_lost_their_phone(client, app, session):
    superuser = make_user(session, Role.ADMIN, superuser=True)
    user = make_user(session, Role.SCHEDULER, email=EMAIL)
    enable_two_factor(session, user, box_of(app))
    log_in(client, superuser)
    page = client.get(f"/users/{user.id}").get_data(as_text=True)
    assert "Reset two-factor sign-in" in page

    response = client.post(f"/users/{user.id}/two-factor/reset", follow_redirects=True)
    assert b"is reset" in response.data
    assert not services.has_two_factor(session, user)
    [event] = audit_events(session, "user.two_factor_reset")
    assert (event.actor_id, event.object_id) == (superuser.id, str(user.id))
    assert post_login(client_of(app)).headers["Location"] == "/"

    again = client.post(f"/users/{user.id}/two-factor/reset", follow_redirects=True)
    assert b"Two-factor sign-in is not on for this account." in again.data


def test_the_command_line_resets_it(app, session):
    user = make_user(session, email=EMAIL)
    enable_two_factor(session, user, box_of(app))
    result = app.test_cli_runner().invoke(args=["users", "reset-two-factor", EMAIL])
    assert result.exit_code == 0, result.output
    assert "is reset" in result.output
    assert not services.has_two_factor(session, user)
    [event] = audit_events(session, "user.two_factor_reset")
    assert event.actor_id is None
    again = app.test_cli_runner().invoke(args=["users", "reset-two-factor", EMAIL])
    assert again.exit_code == 1
    assert "not on" in again.output


# --- the key ------------------------------------------------------------------------------


def test_the_secrets_need_the_key_from_the_environment(connection, database_url, session):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = build_app(connection, database_url, OFFICE_TWO_FACTOR_KEYS=[old_key])
    user = make_user(session, email=EMAIL)
    secret, _codes = enable_two_factor(session, user, box_of(first))

    # Without the key it was sealed with, the code step says so, and nothing breaks.
    wrong_key = client_of(build_app(connection, database_url, OFFICE_TWO_FACTOR_KEYS=[new_key]))
    post_login(wrong_key)
    refused = send_code(wrong_key, code_for(secret))
    assert refused.status_code == 409
    assert b"cannot be read with the server&#39;s key" in refused.data

    # A new key put first, the old one kept after it: the secret still opens.
    rotated = client_of(
        build_app(connection, database_url, OFFICE_TWO_FACTOR_KEYS=[new_key, old_key])
    )
    post_login(rotated)
    assert send_code(rotated, code_for(secret)).status_code == 302


def test_a_secret_is_a_fernet_token_not_the_secret(app, session):
    user = make_user(session, email=EMAIL)
    secret, _codes = enable_two_factor(session, user, box_of(app))
    stored = session.scalar(select(TwoFactorCredential.secret_encrypted))
    assert stored.startswith("gAAAAA")  # Fernet's version byte, base64
    assert pyotp.TOTP(secret).now() != stored


def test_secrets_are_encrypted_afresh_with_a_new_key_so_the_old_one_can_go(
    connection, database_url, session
):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    lost_key = Fernet.generate_key().decode()
    kim = make_user(session, email=EMAIL)
    lee = make_user(session, email="lee@test.example")
    secret, _codes = enable_two_factor(
        session, kim, box_of(build_app(connection, database_url, OFFICE_TWO_FACTOR_KEYS=[old_key]))
    )
    enable_two_factor(
        session, lee, box_of(build_app(connection, database_url, OFFICE_TWO_FACTOR_KEYS=[lost_key]))
    )

    both = build_app(connection, database_url, OFFICE_TWO_FACTOR_KEYS=[new_key, old_key])
    result = both.test_cli_runner().invoke(args=["users", "reseal-two-factor"])
    assert result.exit_code == 1
    assert "1 two-factor secrets encrypted with the first key." in result.output
    assert "reset their two-factor sign-in: lee@test.example" in result.output

    only_new = build_app(connection, database_url, OFFICE_TWO_FACTOR_KEYS=[new_key])
    stored = session.scalar(
        select(TwoFactorCredential.secret_encrypted).where(TwoFactorCredential.user_id == kim.id)
    )
    assert box_of(only_new).open(stored) == secret
    browser = client_of(only_new)
    post_login(browser)
    assert send_code(browser, code_for(secret)).status_code == 302
