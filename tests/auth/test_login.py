import pytest
from sqlalchemy import func, select

from office.auth.models import LoginAttempt, LoginOutcome
from office.auth.permissions import Role
from tests.conftest import build_app, log_in
from tests.factories import NOW, PASSWORD, make_user


def attempts(session) -> int:
    return session.scalar(select(func.count()).select_from(LoginAttempt))


def post_login(client, email, password, next_url=""):
    return client.post("/login", data={"email": email, "password": password, "next": next_url})


def test_login_page_is_public(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="email"' in response.data


def test_every_other_page_sends_an_anonymous_visitor_to_login_with_next(client):
    response = client.get("/users/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/users/"


def test_correct_password_logs_in_and_records_the_attempt(client, session):
    user = make_user(session, Role.SCHEDULER, email="kim@test.example")
    response = post_login(client, "  KIM@test.example ", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert user.display_name.encode() in home.data
    attempt = session.scalar(select(LoginAttempt))
    assert attempt.outcome is LoginOutcome.SUCCEEDED
    assert attempt.user_id == user.id


@pytest.mark.parametrize(
    ("email", "password"),
    [("kim@test.example", "wrong password!"), ("nobody@test.example", PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
def test_failed_login_gets_one_generic_message(client, session, email, password):
    make_user(session, email="kim@test.example")
    response = post_login(client, email, password)
    assert response.status_code == 401
    assert b"The email or password is not right." in response.data
    assert client.get("/").status_code == 302  # still anonymous


def test_deactivated_user_gets_the_same_generic_message(client, session):
    make_user(session, email="gone@test.example", active=False)
    response = post_login(client, "gone@test.example", PASSWORD)
    assert response.status_code == 401
    assert b"The email or password is not right." in response.data


def test_empty_fields_are_named_and_nothing_is_recorded(client, session):
    response = post_login(client, "", "")
    assert response.status_code == 422
    assert response.data.count(b"This field is required.") == 2
    assert attempts(session) == 0


def test_ten_kilobyte_email_is_refused_with_a_field_error(client, session):
    response = post_login(client, "a" * 10_000 + "@test.example", PASSWORD)
    assert response.status_code == 422
    assert b"Field cannot be longer than 254 characters." in response.data
    assert attempts(session) == 0


def test_typed_email_is_kept_after_a_failure(client, session):
    response = post_login(client, "kim@test.example", "wrong password!")
    assert b'value="kim@test.example"' in response.data
    assert b"wrong password!" not in response.data


@pytest.mark.parametrize(
    "next_url",
    [
        "https://elsewhere.example/",
        "//elsewhere.example/",
        "/\\elsewhere.example",
        "javascript:alert(1)",
        "http:/elsewhere.example",
        "users",
    ],
)
def test_login_never_redirects_off_site(client, session, next_url):
    make_user(session, email="kim@test.example")
    response = post_login(client, "kim@test.example", PASSWORD, next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client, session):
    make_user(session, email="kim@test.example", superuser=True)
    response = post_login(client, "kim@test.example", PASSWORD, "/users/?active=1")
    assert response.headers["Location"] == "/users/?active=1"


def test_logged_in_user_visiting_login_goes_home(client, session):
    log_in(client, make_user(session))
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_ends_the_session(client, session):
    log_in(client, make_user(session))
    assert client.get("/").status_code == 200
    response = client.post("/logout")
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_logout_by_get_is_not_allowed(client, session):
    log_in(client, make_user(session))
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_tampered_session_cookie_is_treated_as_anonymous(client, session):
    user = make_user(session)
    log_in(client, user)
    cookie = client.get_cookie("office_session")
    client.set_cookie("office_session", cookie.value[:-4] + "AAAA")
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_forged_user_id_without_the_session_token_is_refused(client, session):
    user = make_user(session)
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = str(user.id)
    assert client.get("/").status_code == 302


def test_deactivated_users_live_session_ends(client, session):
    from office.auth import services

    admin = make_user(session, superuser=True)
    user = make_user(session)
    log_in(client, user)
    assert client.get("/").status_code == 200
    services.deactivate_user(session, user, actor=admin, now=NOW)
    session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_lockout_after_five_failures_refuses_even_the_right_password(client, session):
    make_user(session, email="kim@test.example")
    for _ in range(4):
        assert (
            b"The email or password is not right."
            in post_login(client, "kim@test.example", "wrong password!").data
        )
    fifth = post_login(client, "kim@test.example", "wrong password!")
    assert b"Too many failed attempts" in fifth.data
    refused = post_login(client, "kim@test.example", PASSWORD)
    assert refused.status_code == 401
    assert b"Too many failed attempts" in refused.data
    assert client.get("/").status_code == 302
    outcomes = session.scalars(select(LoginAttempt.outcome).order_by(LoginAttempt.id)).all()
    assert outcomes[-1] is LoginOutcome.LOCKED_OUT


def test_lockout_holds_for_another_worker(client, session, connection, database_url):
    make_user(session, email="kim@test.example")
    for _ in range(5):
        post_login(client, "kim@test.example", "wrong password!")
    # A second app instance shares nothing with the first but the database, like a second
    # gunicorn worker.
    other_worker = build_app(connection, database_url).test_client()
    other_worker.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = post_login(other_worker, "kim@test.example", PASSWORD)
    assert b"Too many failed attempts" in response.data


def test_unknown_email_locks_out_the_same_way(client, session):
    for _ in range(5):
        post_login(client, "nobody@test.example", "wrong password!")
    response = post_login(client, "nobody@test.example", "wrong password!")
    assert b"Too many failed attempts" in response.data


def test_someone_elses_failures_do_not_lock_the_owner_out(client, session, app):
    """Finding 8: five wrong passwords typed anywhere locked the email everywhere for 15
    minutes. Now they lock it only for the network they came from."""
    make_user(session, email="kim@test.example")
    attacker = app.test_client()
    attacker.environ_base.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="198.51.100.66")
    for _ in range(6):
        response = post_login(attacker, "kim@test.example", "wrong password!")
    assert b"Logging in with this email from your network is blocked" in response.data
    owner = post_login(client, "kim@test.example", PASSWORD)  # from 127.0.0.1
    assert owner.status_code == 302
    assert client.get("/").status_code == 200


def test_behind_a_proxy_the_forwarded_address_is_the_one_counted(connection, database_url, session):
    """With OFFICE_PROXY_COUNT=1 (one reverse proxy), werkzeug's ProxyFix takes the client's
    address from the proxy's X-Forwarded-For: the proxy's own address is not what is locked."""
    app = build_app(connection, database_url, OFFICE_PROXY_COUNT=1)
    make_user(session, email="kim@test.example")
    attacker = app.test_client()
    attacker.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    via_proxy = {"X-Forwarded-For": "198.51.100.66"}
    for _ in range(5):
        attacker.post(
            "/login",
            data={"email": "kim@test.example", "password": "wrong password!"},
            headers=via_proxy,
        )
    attempt = session.scalars(select(LoginAttempt).order_by(LoginAttempt.id.desc())).first()
    assert (attempt.remote_addr, attempt.client_network) == ("198.51.100.66", "198.51.100.66")
    owner = app.test_client().post(
        "/login",
        data={"email": "kim@test.example", "password": PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.10"},
    )
    assert owner.status_code == 302
