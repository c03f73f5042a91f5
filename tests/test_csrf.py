"""Every form carries a CSRF token; a request without a valid one changes nothing."""

import pytest
from sqlalchemy import func, select

from office.audit.models import AuditEvent
from office.auth.models import LoginAttempt, User
from office.auth.permissions import Role
from tests.conftest import build_app, log_in
from tests.factories import PASSWORD, make_user


@pytest.fixture
def csrf_client(connection, database_url):
    client = build_app(connection, database_url, WTF_CSRF_ENABLED=True).test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_login_without_a_valid_token_is_400_and_records_nothing(csrf_client, session, token):
    make_user(session, email="kim@test.example")
    data = {"email": "kim@test.example", "password": PASSWORD}
    if token:
        data["csrf_token"] = token
    response = csrf_client.post("/login", data=data)
    assert response.status_code == 400
    assert b"The form had expired or was not sent from this site." in response.data
    assert count(session, LoginAttempt) == 0


def test_login_with_the_pages_token_works(csrf_client, session):
    make_user(session, email="kim@test.example")
    page = csrf_client.get("/login").data.decode()
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = csrf_client.post(
        "/login", data={"email": "kim@test.example", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_every_post_route_refuses_a_missing_token(csrf_client, session):
    superuser = make_user(session, Role.ADMIN, superuser=True)
    target = make_user(session, Role.SCHEDULER)
    log_in(csrf_client, superuser)
    app = csrf_client.application
    before = (count(session, User), count(session, AuditEvent))
    checked = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        args = {name: "csv" if name == "fmt" else target.id for name in rule.arguments}
        url = rule.build(args, append_unknown=False)[1]
        response = csrf_client.post(url, data={"display_name": "x", "role": "reviewer"})
        if url.startswith("/api/"):
            # The API takes no CSRF token because it never accepts the session cookie.
            assert response.status_code == 401, url
        else:
            assert response.status_code == 400, url
        checked.append(rule.endpoint)
    assert "users.deactivate" in checked and "auth.logout" in checked
    assert (count(session, User), count(session, AuditEvent)) == before
    session.refresh(target)
    assert target.is_active and target.role is Role.SCHEDULER
    assert csrf_client.get("/").status_code == 200  # the failed logout did not log out
