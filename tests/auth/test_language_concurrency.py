"""The language switch when several requests write the same user at once, committed for real
(`tests.concurrency`): two switches at once keep one of the two languages and leave both
browsers logged in; a switch during a password change lands without undoing the change."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth import services
from office.auth.models import User, UserSession
from office.db import utcnow
from tests.concurrency import Office, at_once, held, in_background, logged_in, open_session

SAYS = {"ko": "로그아웃", "en": "Log out"}


def _browser(office: Office, user: User) -> FlaskClient:
    """A browser of `user`'s own, with a session of its own (unlike `office.client`)."""
    client = office.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return logged_in(client, user, open_session(office.app, user))


def _switch(client: FlaskClient, language: str):
    def call() -> int:
        return client.post("/language", data={"lang": language, "next": "/"}).status_code

    return call


def _kept(office: Office, user: User) -> str | None:
    with office.session() as session:
        return session.scalar(select(User.language).where(User.id == user.id))


def test_two_switches_at_once_keep_one_language_and_both_browsers(office):
    user = office.admin
    desk, laptop = _browser(office, user), _browser(office, user)

    answers = at_once([_switch(desk, "ko"), _switch(laptop, "en")])

    assert answers == [302, 302]
    kept = _kept(office, user)
    assert kept in ("ko", "en")
    for client in (desk, laptop):  # still logged in, each page in the language kept
        page = client.get("/")
        assert page.status_code == 200
        assert SAYS[kept] in page.get_data(as_text=True)


def test_many_switches_at_once_never_fail_and_keep_a_language_that_was_chosen(office):
    user = office.scheduler
    browsers = [_browser(office, user) for _ in range(6)]
    languages = ["ko", "en"] * 3

    answers = at_once([_switch(b, lang) for b, lang in zip(browsers, languages, strict=True)])

    assert answers == [302] * 6
    assert _kept(office, user) in ("ko", "en")


def test_a_switch_during_a_password_change_lands_and_the_change_stands(office):
    user = office.reviewer
    client = _browser(office, user)

    def change_password(session: Session) -> None:
        target = session.get(User, user.id)
        services.set_password(session, target, "a brand new password", actor=None, now=utcnow())

    with held(office, change_password):
        thread, answered = in_background(_switch(client, "ko"))
        thread.join(timeout=1)
    thread.join(timeout=30)

    # The switch waited for the change or went past it: either way no server error, the
    # password changed, and every session of the old password ended.
    assert answered == [302]
    assert _kept(office, user) in (None, "ko")  # kept if the switch came first
    with office.session() as session:
        changed = session.get(User, user.id)
        assert changed.check_password("a brand new password")
        live = session.scalars(
            select(UserSession).where(
                UserSession.user_id == user.id, UserSession.ended_at.is_(None)
            )
        ).all()
        assert live == []
    assert client.get("/").status_code == 302  # logged out by the change
