"""A logged-in user's language is kept on the user (#16, point 19): chosen once, it holds in
every browser and after logging in again; an anonymous visitor's choice stays with the
browser, and without one the browser's Accept-Language decides."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from office.auth.models import User
from tests.conftest import log_in
from tests.factories import PASSWORD, make_user

KOREAN, ENGLISH = "로그아웃", "Log out"


def browser(app: Flask, accept: str = "en") -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    return client


def home(client: FlaskClient) -> str:
    return client.get("/").get_data(as_text=True)


def test_a_switch_while_logged_in_holds_in_the_users_other_browsers(app, session):
    user = make_user(session, name="Kim")
    desk, laptop = log_in(browser(app), user), log_in(browser(app), user)

    desk.post("/language", data={"lang": "ko", "next": "/"})

    assert KOREAN in home(laptop)  # an English browser, already logged in
    assert session.scalar(select(User.language).where(User.id == user.id)) == "ko"


def test_the_kept_language_applies_from_the_login_on(app, session):
    user = make_user(session, email="kim@test.example")
    user.language = "ko"
    session.commit()
    client = browser(app)

    client.post("/login", data={"email": "kim@test.example", "password": PASSWORD, "next": "/"})

    assert KOREAN in home(client)


def test_switching_back_is_kept_too(app, session):
    user = make_user(session)
    client = log_in(browser(app, "ko"), user)
    client.post("/language", data={"lang": "en", "next": "/"})
    assert ENGLISH in home(log_in(browser(app, "ko"), user))

    client.post("/language", data={"lang": "ko", "next": "/"})
    assert KOREAN in home(log_in(browser(app, "en"), user))


def test_a_user_who_never_chose_follows_the_browser(app, session):
    user = make_user(session)

    assert KOREAN in home(log_in(browser(app, "ko-KR,ko;q=0.9"), user))
    assert ENGLISH in home(log_in(browser(app, "en-US"), user))
    assert session.scalar(select(User.language).where(User.id == user.id)) is None


def test_an_anonymous_switch_stays_with_the_browser(app, session):
    make_user(session)
    client = browser(app)

    client.post("/language", data={"lang": "ko", "next": "/login"})

    assert "로그인" in client.get("/login").get_data(as_text=True)
    assert "로그인" not in browser(app).get("/login").get_data(as_text=True)
    assert session.scalars(select(User.language)).all() == [None]
