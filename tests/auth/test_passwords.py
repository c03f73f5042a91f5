"""Passwords as NIST SP 800-63B asks: long enough, not common nor easy to guess, and no rules
about capitals, digits or symbols; refused with the same message wherever a password is set."""

import pytest
from sqlalchemy import select

from office.auth import services
from office.auth.models import User
from office.auth.passwords import WeakPassword, check_password
from office.auth.permissions import Role
from office.demo import DEMO_LOGINS
from office.errors import InvalidInput
from tests.conftest import log_in
from tests.factories import NOW, PASSWORD, make_user

COMMON = "This password is on the list of common passwords that attackers try first."
PATTERN = "it repeats characters or follows a sequence or a row of the keyboard"
OWN_WORDS = "it is built from your email, your name or the office's name"
GUESSABLE = "This password is too easy to guess"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaa", PATTERN),  # finding 8: accepted before, ten characters long
        ("password12", COMMON),  # finding 8
        ("1234567890", COMMON),
        ("qwertyuiop", COMMON),
        ("abcdefghijk", PATTERN),
        ("passwordpassword", GUESSABLE),
        ("Password123!", GUESSABLE),  # capitals and a symbol do not save a common password
        ("summer2018!", GUESSABLE),
        ("kaesong2018", OWN_WORDS),  # the office's own name
        ("kimjihoon1990", OWN_WORDS),  # the user's email
    ],
)
def test_common_and_guessable_passwords_are_refused_with_the_reason(password, why):
    with pytest.raises(WeakPassword) as refused:
        check_password(password, email="kimjihoon@liaison.example", names=["김지훈"])
    assert why in str(refused.value.message)
    assert "A few unrelated words make a good password" in str(refused.value.message)


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,  # the tests' own
        "a long enough password",
        "another long password",
        "brand new password",
        "the new long password",
        "a third long password",
        *[login.password for login in DEMO_LOGINS],  # `make run`'s
        "tr0ub4dor&3x",
        "개성 공단의 아침 안개",  # Korean, no Latin letter at all
        "lowercase words only here",  # no capital, digit or symbol is ever required
        "x7#Lq9!vR2",
    ],
)
def test_long_unguessable_passwords_pass_whatever_their_characters(password):
    check_password(password, email="kim@test.example", names=["김지훈"])


def test_length_limits_stay_as_they_were():
    with pytest.raises(WeakPassword, match="at least 10 characters"):
        check_password("x7#Lq9!vR")
    with pytest.raises(WeakPassword, match="at most 128 characters"):
        check_password("x7#Lq9!vR2" * 13)
    check_password(("x7#Lq9!vR2 kaesong mountain " * 5)[:128])


def test_the_email_itself_is_refused():
    with pytest.raises(WeakPassword, match="must not be the email address"):
        check_password("Kim.Jihoon@Test.Example", email="kim.jihoon@test.example")


@pytest.mark.parametrize("change", ["create", "set", "change"])
def test_every_service_that_sets_a_password_refuses_a_common_one(session, change):
    user = make_user(session, email="kim@test.example")
    with pytest.raises(InvalidInput) as refused:
        if change == "create":
            services.create_user(
                session,
                email="lee@test.example",
                display_name="Lee",
                role=Role.ADMIN,
                password="password12",
                actor=None,
                now=NOW,
            )
        elif change == "set":
            services.set_password(session, user, "password12", actor=None, now=NOW)
        else:
            services.change_own_password(session, user, PASSWORD, "password12", now=NOW)
    assert refused.value.field == "new_password"
    assert COMMON in str(refused.value)
    session.refresh(user)
    assert user.check_password(PASSWORD)


def _field_error(response) -> str:
    html = response.get_data(as_text=True)
    start = html.index('id="new_password-error"')
    return html[start : html.index("</small>", start)]


def test_a_superuser_creating_a_user_sees_why_the_password_is_refused(client, session):
    log_in(client, make_user(session, Role.ADMIN, superuser=True))
    response = client.post(
        "/users/new",
        data={
            "email": "park@test.example",
            "display_name": "Park",
            "role": "reviewer",
            "new_password": "aaaaaaaaaa",
            "confirm": "aaaaaaaaaa",
        },
    )
    assert response.status_code == 422
    assert PATTERN in _field_error(response)
    assert session.scalar(select(User).where(User.email == "park@test.example")) is None


def test_a_superuser_resetting_a_password_sees_why_it_is_refused(client, session):
    log_in(client, make_user(session, Role.ADMIN, superuser=True))
    user = make_user(session, Role.SCHEDULER)
    response = client.post(
        f"/users/{user.id}/password", data={"new_password": "password12", "confirm": "password12"}
    )
    assert response.status_code == 422
    assert COMMON in _field_error(response)
    session.refresh(user)
    assert user.check_password(PASSWORD)


def test_changing_ones_own_password_to_a_common_one_is_refused_beside_the_field(client, session):
    user = make_user(session, Role.REVIEWER)
    log_in(client, user)
    response = client.post(
        "/account",
        data={
            "current_password": PASSWORD,
            "new_password": "password12",
            "confirm": "password12",
        },
    )
    assert response.status_code == 422
    assert COMMON in _field_error(response)
    session.refresh(user)
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize("command", ["create", "set-password"])
def test_the_command_line_refuses_a_common_password(app, session, tmp_path, command):
    make_user(session, email="kim@test.example")
    password_file = tmp_path / "pw"
    password_file.write_text("password12\n")
    if command == "create":
        args = ["users", "create", "lee@test.example", "--role", "admin"]
    else:
        args = ["users", "set-password", "kim@test.example"]
    result = app.test_cli_runner().invoke(args=[*args, "--password-file", str(password_file)])
    assert result.exit_code == 1
    assert COMMON in result.output
    assert session.scalar(select(User).where(User.email == "lee@test.example")) is None
