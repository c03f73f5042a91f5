"""Browser sessions live on the server: logging out ends them for a copied cookie too, they
expire when idle and after a fixed lifetime, a password change or a deactivation ends them and
the user's API tokens, and a user and a superuser can see them and end them."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from office.auth import services
from office.auth.models import ApiToken, CredentialEnd, UserSession
from office.auth.permissions import Role
from office.auth.services import SessionLimits, SessionRefusal
from office.db import utcnow
from tests.api.conftest import API, ApiClient, assert_problem, issue_token
from tests.conftest import log_in
from tests.factories import NOW, PASSWORD, audit_events, make_user

LIMITS = SessionLimits(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
# Pages that show what only some may see: the ledger and the audit trail.
LEDGER, AUDIT = "/ledger/", "/audit/"


def post_login(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def browser(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def with_cookie_of(app, client):
    """Another browser holding a copy of `client`'s session cookie."""
    copy = browser(app)
    copy.set_cookie("office_session", client.get_cookie("office_session").value)
    return copy


def sent_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.fixture
def clock(monkeypatch):
    """Set the time the app checks sessions at: `clock(minutes=31)` is 31 minutes from now."""
    start = utcnow()

    def move(**delta):
        at = start + timedelta(**delta)
        monkeypatch.setattr("office.auth.login.utcnow", lambda: at)
        return at

    return move


# --- logging out ----------------------------------------------------------------------------


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, session):
    """The finding: a copied cookie still opened the ledger and the audit trail after the
    logout, and each use renewed it."""
    make_user(session, Role.REVIEWER, email="kim@test.example")
    client = browser(app)
    assert post_login(client, "kim@test.example").status_code == 302
    copy = with_cookie_of(app, client)
    assert copy.get(LEDGER).status_code == 200  # the copy works while the session lives

    client.post("/logout")

    for path in (LEDGER, AUDIT, "/"):
        assert sent_to_login(copy.get(path)), path
    assert sent_to_login(client.get(LEDGER))
    row = session.scalar(select(UserSession))
    assert row.ended_at is not None and row.end_reason is CredentialEnd.LOGGED_OUT
    assert [e.detail["session_id"] for e in audit_events(session, "session.logged_out")] == [row.id]


def test_a_copied_cookie_after_logout_is_told_its_session_ended(app, session):
    make_user(session, Role.REVIEWER, email="kim@test.example")
    client = browser(app)
    post_login(client, "kim@test.example")
    copy = with_cookie_of(app, client)
    client.post("/logout")
    page = copy.get(LEDGER, follow_redirects=True)
    assert b"Your session has ended. Please log in again." in page.data


def test_a_login_opens_a_session_kept_on_the_server_and_the_cookie_holds_only_its_key(app, session):
    user = make_user(session, Role.ADMIN, email="kim@test.example")
    client = browser(app)
    response = client.post(
        "/login",
        data={"email": "kim@test.example", "password": PASSWORD},
        headers={"User-Agent": "Firefox/140"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert response.status_code == 302
    row = session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert (row.remote_addr, row.user_agent) == ("10.1.2.3", "Firefox/140")
    assert row.generation == user.session_token
    with client.session_transaction() as cookie:
        key = cookie["_user_id"]
    assert str(user.id) not in key.split(":")
    assert row.key_hash == services._digest(key) != key  # only the digest is kept


@pytest.mark.parametrize("forged", ["1", "1:abc", "", "x" * 5000])
def test_a_cookie_naming_no_session_is_anonymous(client, session, forged):
    make_user(session)
    with client.session_transaction() as cookie:
        cookie["_user_id"] = forged
    assert sent_to_login(client.get("/"))


def test_logging_in_again_does_not_keep_the_session_of_before(app, session):
    """No session fixation: a login gets a new key, whatever the cookie held."""
    make_user(session, email="kim@test.example")
    client = browser(app)
    post_login(client, "kim@test.example")
    before = with_cookie_of(app, client)
    client.post("/logout")
    post_login(client, "kim@test.example")
    assert client.get("/").status_code == 200
    assert sent_to_login(before.get("/"))


# --- idle and absolute lifetimes -------------------------------------------------------------


def test_a_session_idle_for_30_minutes_ends(client, session, clock):
    log_in(client, make_user(session, Role.REVIEWER))
    clock(minutes=29)
    assert client.get(LEDGER).status_code == 200
    clock(minutes=29 + 29)  # 29 minutes after the last request: still alive
    assert client.get(LEDGER).status_code == 200
    clock(minutes=29 + 29 + 30)
    response = client.get(LEDGER)
    assert sent_to_login(response)
    page = client.get(response.headers["Location"])
    assert b"You were logged out after 30 minutes without activity." in page.data


def test_a_session_ends_12_hours_after_its_login_however_busy(client, session, clock):
    log_in(client, make_user(session, Role.REVIEWER))
    for minutes in range(20, 12 * 60, 20):
        clock(minutes=minutes)
        assert client.get(LEDGER).status_code == 200, minutes
    clock(hours=12, seconds=1)
    response = client.get(LEDGER, follow_redirects=True)
    assert b"Your session reached its limit of 12 hours." in response.data
    assert response.request.path == "/login"


def test_the_lifetimes_are_settings(app, connection, database_url, session, clock):
    from tests.conftest import build_app

    short = build_app(
        connection,
        database_url,
        OFFICE_SESSION_IDLE=timedelta(minutes=5),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=1),
    )
    client = log_in(browser(short), make_user(session))
    clock(minutes=4)
    assert client.get("/").status_code == 200
    clock(minutes=10)
    assert sent_to_login(client.get("/"))


def test_reading_pages_moves_the_idle_clock_at_most_once_a_minute(client, session, clock):
    user = make_user(session, Role.REVIEWER)
    log_in(client, user)
    row = session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    started = row.last_seen_at
    clock(seconds=50)
    client.get(LEDGER)
    session.refresh(row)
    assert row.last_seen_at == started  # nothing written
    at = clock(seconds=70)
    client.get(LEDGER)
    session.refresh(row)
    assert row.last_seen_at == at


@pytest.mark.parametrize(
    ("minutes", "refusal"),
    [(29, None), (30, SessionRefusal.IDLE), (12 * 60, SessionRefusal.EXPIRED)],
)
def test_check_session_at_a_given_time(session, minutes, refusal):
    user = make_user(session)
    row, key = services.start_session(session, user, now=NOW, remote_addr=None, user_agent=None)
    if minutes == 12 * 60:  # busy all along: seen a minute before
        services.touch_session(session, row, now=NOW + timedelta(minutes=minutes - 1))
    found = services.check_session(
        session, key, now=NOW + timedelta(minutes=minutes), limits=LIMITS
    )
    assert found.refusal is refusal
    assert (found.row is row) is (refusal is None)


def test_check_session_refuses_an_ended_or_unknown_one(session):
    user = make_user(session)
    row, key = services.start_session(session, user, now=NOW, remote_addr=None, user_agent=None)
    services.end_session(session, row, reason=CredentialEnd.LOGGED_OUT, actor=user, now=NOW)
    later = NOW + timedelta(minutes=1)
    assert services.check_session(session, key, now=later, limits=LIMITS).refusal is (
        SessionRefusal.ENDED
    )
    assert services.check_session(session, "other", now=later, limits=LIMITS).refusal is (
        SessionRefusal.UNKNOWN
    )
    assert services.touch_session(session, row, now=later + timedelta(minutes=5)) is False


# --- password changes and deactivation end sessions and tokens -------------------------------


def _sessions_and_token(app, session, user):
    """Two browsers of `user` and an API client with a token of theirs, all working."""
    first, second = log_in(browser(app), user), log_in(browser(app), user)
    api = ApiClient(browser(app), issue_token(session, user), user)
    assert first.get("/").status_code == second.get("/").status_code == 200
    assert api.get("/resources").status_code == 200
    return first, second, api


def test_changing_ones_password_ends_every_other_session_and_every_token(app, session):
    user = make_user(session, Role.ADMIN)
    here, elsewhere, api = _sessions_and_token(app, session, user)
    response = here.post(
        "/account",
        data={
            "current_password": PASSWORD,
            "new_password": "brand new password",
            "confirm": "brand new password",
        },
        follow_redirects=True,
    )
    assert b"Your other sessions and your API tokens have ended." in response.data
    assert here.get("/").status_code == 200  # this browser has a new session
    assert sent_to_login(elsewhere.get("/"))
    assert_problem(api.get("/resources"), 401)
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.revoked_reason is CredentialEnd.PASSWORD_CHANGED
    event = audit_events(session, "user.password_changed")[-1]
    assert event.detail == {"sessions_ended": 2, "tokens_revoked": 1}


def test_a_password_set_by_a_superuser_ends_the_users_sessions_and_tokens(app, client, session):
    log_in(client, make_user(session, Role.ADMIN, superuser=True))
    user = make_user(session, Role.ADMIN)
    first, second, api = _sessions_and_token(app, session, user)
    response = client.post(
        f"/users/{user.id}/password",
        data={"new_password": "another long password", "confirm": "another long password"},
    )
    assert response.status_code == 302
    assert sent_to_login(first.get("/")) and sent_to_login(second.get("/"))
    assert_problem(api.get("/resources"), 401)
    assert client.get("/users/").status_code == 200  # the superuser's own session stays


def test_setting_ones_own_password_as_superuser_keeps_this_browser(client, session):
    superuser = make_user(session, Role.ADMIN, superuser=True)
    log_in(client, superuser)
    response = client.post(
        f"/users/{superuser.id}/password",
        data={"new_password": "another long password", "confirm": "another long password"},
    )
    assert response.status_code == 302
    assert client.get("/users/").status_code == 200


def test_deactivation_ends_sessions_and_tokens_and_reactivation_brings_none_back(
    app, client, session
):
    log_in(client, make_user(session, Role.ADMIN, superuser=True))
    user = make_user(session, Role.ADMIN, email="lee@test.example")
    first, _second, api = _sessions_and_token(app, session, user)

    client.post(f"/users/{user.id}/deactivate")
    assert sent_to_login(first.get("/"))
    assert_problem(api.get("/resources"), 401)

    client.post(f"/users/{user.id}/reactivate")
    assert sent_to_login(first.get("/"))
    assert_problem(api.get("/resources"), 401)  # the old token stays dead
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    session.refresh(token)
    assert token.revoked_reason is CredentialEnd.DEACTIVATED
    # A new login and a new token work.
    assert post_login(browser(app), "lee@test.example").status_code == 302
    session.refresh(user)  # a token is issued on the generation its user was read with
    assert ApiClient(browser(app), issue_token(session, user)).get("/resources").status_code == 200


def test_a_token_left_live_by_a_deactivation_does_not_come_back_with_reactivation(session):
    """Tokens of users deactivated before tokens were revoked with them (or issued in the
    instant of the deactivation) stay dead: reactivation starts a new generation."""
    user = make_user(session)
    _row, token = services.create_api_token(session, user, name="old", actor=None, now=NOW)
    user.is_active = False  # as the deactivations of before left it: the token not revoked
    session.commit()
    services.reactivate_user(session, user, actor=None, now=NOW)
    session.commit()
    assert services.find_live_token(session, token) is None


def test_a_session_or_token_issued_on_an_old_generation_is_dead(session):
    """What a request issued after reading the user, while a password change committed,
    does not outlive the change."""
    user = make_user(session)
    old = user.session_token
    services.set_password(session, user, "another long password", actor=None, now=NOW)
    row, key = services.start_session(session, user, now=NOW, remote_addr=None, user_agent=None)
    token_row, token = services.create_api_token(session, user, name="x", actor=None, now=NOW)
    # As a request that read the user before the change committed leaves them.
    row.generation = token_row.generation = old
    session.commit()
    found = services.check_session(session, key, now=NOW, limits=LIMITS)
    assert found.refusal is SessionRefusal.ENDED
    assert services.find_live_token(session, token) is None


# --- seeing and ending sessions --------------------------------------------------------------


def test_a_user_sees_their_sessions_and_ends_another_one(app, client, session):
    user = make_user(session, Role.SCHEDULER)
    log_in(client, user)
    other = log_in(browser(app), user)
    page = client.get("/account")
    assert page.data.count(b"<tr>") >= 3  # header and two sessions
    assert b"This browser" in page.data
    mine = session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    ).all()
    other_row = mine[-1]
    response = client.post(f"/account/sessions/{other_row.id}/end", follow_redirects=True)
    assert b"That session has ended." in response.data
    assert sent_to_login(other.get("/"))
    assert client.get("/").status_code == 200
    [event] = audit_events(session, "session.ended")
    assert event.actor_id == user.id and event.detail == {"session_id": other_row.id}


def test_a_user_cannot_end_someone_elses_session(client, session):
    log_in(client, make_user(session))
    other = make_user(session)
    row, _key = services.start_session(
        session, other, now=utcnow(), remote_addr=None, user_agent=None
    )
    session.commit()
    assert client.post(f"/account/sessions/{row.id}/end").status_code == 404
    session.refresh(row)
    assert row.ended_at is None


def test_a_superuser_sees_a_users_sessions_and_tokens_and_ends_them(app, client, session):
    superuser = make_user(session, Role.ADMIN, superuser=True)
    log_in(client, superuser)
    user = make_user(session, Role.ADMIN, email="lee@test.example")
    users_browser, _second, api = _sessions_and_token(app, session, user)
    page = client.get(f"/users/{user.id}")
    assert page.status_code == 200
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.prefix.encode() in page.data
    assert page.data.count(b"End session") == 2

    response = client.post(f"/users/{user.id}/tokens/{token.id}/revoke", follow_redirects=True)
    assert f"Token {token.prefix}… of lee@test.example revoked.".encode() in response.data
    assert_problem(api.get("/resources"), 401)
    [revoked] = audit_events(session, "api_token.revoked")
    assert revoked.actor_id == superuser.id and revoked.object_id == str(user.id)

    rows = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    for row in rows:
        client.post(f"/users/{user.id}/sessions/{row.id}/end")
    assert sent_to_login(users_browser.get("/"))
    assert len(audit_events(session, "session.ended")) == 2
    assert client.get(f"/users/{user.id}").data.count(b"End session") == 0


def test_a_superuser_cannot_reach_a_token_through_another_users_address(client, session):
    log_in(client, make_user(session, Role.ADMIN, superuser=True))
    one, two = make_user(session), make_user(session)
    row, _secret = services.create_api_token(session, one, name="t", actor=None, now=NOW)
    session.commit()
    assert client.post(f"/users/{two.id}/tokens/{row.id}/revoke").status_code == 404
    session.refresh(row)
    assert row.revoked_at is None


def test_revoking_a_revoked_token_says_so(client, session):
    log_in(client, make_user(session, Role.ADMIN, superuser=True))
    user = make_user(session)
    row, _secret = services.create_api_token(session, user, name="t", actor=None, now=NOW)
    services.revoke_api_token(session, row, actor=None, now=NOW)
    session.commit()
    response = client.post(f"/users/{user.id}/tokens/{row.id}/revoke", follow_redirects=True)
    assert b"This token was already revoked." in response.data


def test_a_superusers_page_shows_why_a_token_ended(client, session):
    log_in(client, make_user(session, Role.ADMIN, superuser=True))
    user = make_user(session)
    services.create_api_token(session, user, name="spreadsheet", actor=None, now=NOW)
    services.set_password(session, user, "another long password", actor=None, now=NOW)
    session.commit()
    page = client.get(f"/users/{user.id}")
    assert b"ended by a password change" in page.data


# --- never cached ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", LEDGER, "/ledger/export.csv", AUDIT, "/audit/export.csv", "/account", "/users/"],
)
def test_authenticated_pages_and_exports_are_never_stored(client, session, path):
    log_in(client, make_user(session, Role.REVIEWER, superuser=True))
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "no-store"


def test_api_answers_are_never_stored(session, client):
    api = ApiClient(client, issue_token(session, make_user(session, Role.ADMIN)))
    assert api.get("/resources").headers["Cache-Control"] == "no-store"
    assert client.get(API + "/resources").headers["Cache-Control"] == "no-store"  # the 401


def test_the_login_page_is_not_stored_but_static_files_may_be(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/office.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
