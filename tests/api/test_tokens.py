"""Bearer tokens: how they are issued, what they open, and what does not stand in for them;
and the problem details that every refusal comes as."""

import hashlib
import re

import pytest
from sqlalchemy import select

from office.auth import services as auth_services
from office.auth.models import ApiToken
from office.auth.permissions import Role
from tests.api.conftest import API, ApiClient, assert_problem, diesel_line, drawdown_body
from tests.conftest import log_in
from tests.factories import NOW, make_user


def test_a_request_without_a_token_is_refused_with_401_problem(anonymous_api):
    body = assert_problem(anonymous_api.get("/resources"), 401)
    assert body["title"] == "Unauthorized"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer off_not-a-token-that-was-ever-issued",
        "Bearer nonsense",
        "Bearer ",
        "Bearer off_" + "x" * 300,
        "Basic dXNlcjpwYXNz",
        "off_just-the-token-without-a-scheme",
    ],
)
def test_a_bad_or_malformed_token_is_refused_with_401(client, admin_api, authorization):
    response = client.get(API + "/resources", headers={"Authorization": authorization})
    assert_problem(response, 401)


def test_the_right_token_under_another_scheme_is_refused(client, admin_api):
    response = client.get(API + "/resources", headers={"Authorization": f"Token {admin_api.token}"})
    assert_problem(response, 401)


def test_the_bearer_scheme_is_case_insensitive(client, admin_api):
    response = client.get(
        API + "/resources", headers={"Authorization": f"bearer {admin_api.token}"}
    )
    assert response.status_code == 200


def test_a_valid_token_opens_the_api_with_its_users_permissions(admin_api):
    response = admin_api.get("/resources")
    assert response.status_code == 200
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        (Role.SCHEDULER, "get", "/resources"),
        (Role.SCHEDULER, "get", "/drawdowns"),
        (Role.ADMIN, "post", "/resources"),
        (Role.ADMIN, "post", "/waivers"),
        (Role.REVIEWER, "post", "/drawdowns"),
    ],
)
def test_a_token_whose_user_lacks_the_permission_gets_403_problem(api_as, role, method, path):
    api = api_as(role)
    response = api.get(path) if method == "get" else api.post(path, {})
    assert_problem(response, 403)


def test_a_revoked_token_is_refused(session, admin_api):
    assert admin_api.get("/resources").status_code == 200
    row = session.scalar(select(ApiToken).where(ApiToken.user_id == admin_api.user.id))
    auth_services.revoke_api_token(session, row, actor=admin_api.user, now=NOW)
    session.commit()
    assert_problem(admin_api.get("/resources"), 401)


def test_the_token_of_a_deactivated_user_is_refused(session, admin_api):
    assert admin_api.get("/resources").status_code == 200
    auth_services.deactivate_user(session, admin_api.user, actor=None, now=NOW)
    session.commit()
    assert_problem(admin_api.get("/resources"), 401)


def test_revoking_one_token_leaves_the_users_other_tokens_working(client, session, admin_api):
    _row, second = auth_services.create_api_token(
        session, admin_api.user, name="second", actor=None, now=NOW
    )
    first = session.scalar(
        select(ApiToken).where(ApiToken.user_id == admin_api.user.id, ApiToken.name == "test")
    )
    auth_services.revoke_api_token(session, first, actor=admin_api.user, now=NOW)
    session.commit()
    assert_problem(admin_api.get("/resources"), 401)
    assert ApiClient(client, second).get("/resources").status_code == 200


def test_a_browser_session_cookie_alone_does_not_open_the_api(client, session):
    log_in(client, make_user(session, Role.REVIEWER))
    assert client.get("/waivers/").status_code == 200  # the cookie does work on pages
    assert_problem(client.get(API + "/resources"), 401)
    response = client.post(API + "/resources", json={"code": "x", "name": "X"})
    assert_problem(response, 401)


def test_a_logged_in_browser_with_a_bad_token_is_still_refused(client, session):
    log_in(client, make_user(session, Role.ADMIN))
    response = client.get(API + "/drawdowns", headers={"Authorization": "Bearer off_bad"})
    assert_problem(response, 401)


def test_users_token_command_prints_a_token_that_works(app, client, session):
    user = make_user(session, Role.REVIEWER, email="kim@test.example")
    result = app.test_cli_runner().invoke(args=["users", "token", "Kim@Test.example"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert re.fullmatch(r"off_[A-Za-z0-9_-]{40,}", token)
    assert ApiClient(client, token).get("/resources").status_code == 200
    # Only the SHA-256 is kept, never the token itself.
    row = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.prefix)


def test_users_token_command_prints_a_new_token_each_time(app, client, session):
    make_user(session, Role.ADMIN, email="lee@test.example")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["users", "token", "lee@test.example"]).output.strip()
    second = runner.invoke(args=["users", "token", "lee@test.example"]).output.strip()
    assert first != second
    for token in (first, second):
        assert ApiClient(client, token).get("/drawdowns").status_code == 200


def test_users_token_command_refuses_an_unknown_email(app):
    result = app.test_cli_runner().invoke(args=["users", "token", "nobody@test.example"])
    assert result.exit_code == 1
    assert "No user has the email nobody@test.example." in result.output


def test_users_token_command_refuses_an_inactive_user(app, session):
    make_user(session, Role.ADMIN, email="gone@test.example", active=False)
    result = app.test_cli_runner().invoke(args=["users", "token", "gone@test.example"])
    assert result.exit_code == 1
    assert "inactive" in result.output


def test_a_token_from_the_account_page_works_on_the_api(app, client, session):
    log_in(client, make_user(session, Role.ADMIN))
    page = client.post("/account/tokens", data={"name": "spreadsheet"})
    assert page.status_code == 200
    token = re.search(r'data-testid="new-token"><code>(off_[^<]+)</code>', page.text).group(1)
    api = ApiClient(app.test_client(), token)  # a client without the browser's cookie
    assert api.get("/resources").status_code == 200
    _waiver, line = diesel_line(session)
    assert api.post("/drawdowns", drawdown_body(line)).status_code == 201


def test_the_openapi_document_needs_no_token(anonymous_api):
    response = anonymous_api.get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")


# --- problems everywhere ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nothing-here", 404),
        ("GET", "/waivers/not-a-number", 404),
        ("DELETE", "/resources", 405),
        ("PUT", "/drawdowns", 405),
        ("GET", "/drawdowns/1/reversal", 405),
    ],
)
def test_unknown_addresses_and_methods_answer_with_problems(
    client, admin_api, method, path, status
):
    response = client.open(API + path, method=method, headers=admin_api.headers)
    assert_problem(response, status)


def test_problems_speak_the_language_the_client_asks_for(client, admin_api):
    headers = {**admin_api.headers, "Accept-Language": "ko"}
    response = client.post(API + "/drawdowns", data="{", headers=headers)
    body = assert_problem(response, 400)
    assert re.search("[가-힣]", body["detail"]), body["detail"]
