"""Logins and account changes sent at the same moment, committed for real
(`tests.concurrency`): failed logins of one email are each recorded and lock it after the
fifth, and failed logins from one network lock it after the twentieth, however many workers
they reach at once; a two-factor code or a recovery code is spent once; the office always
keeps an active superuser; a user is deactivated once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from office.audit.models import AuditEvent
from office.auth import two_factor
from office.auth.models import (
    LoginAttempt,
    LoginOutcome,
    RecoveryCode,
    TwoFactorCredential,
    User,
)
from office.auth.permissions import Role
from office.auth.services import MAX_FAILURES, NETWORK_MAX_FAILURES, has_two_factor
from office.auth.two_factor import RECOVERY_CODES
from office.db import utcnow
from tests.auth.arrange import box_of, code_for, enable_two_factor
from tests.concurrency import Office, at_once, held, in_background, post
from tests.factories import PASSWORD, make_user

EMAIL = "kim@test.example"


# --- arranging ----------------------------------------------------------------------------


def _login(office: Office, email: str, password: str) -> Callable[[], int]:
    """A login from a browser of its own (no session cookie), as on any worker."""
    client = office.client()

    def call() -> int:
        return client.post("/login", data={"email": email, "password": password}).status_code

    return call


def _superusers(office: Office, n: int) -> list[User]:
    """`n` active superusers, the only ones in the office."""
    with office.session() as session:
        return [
            make_user(session, Role.ADMIN, superuser=True, name=f"Superuser {k}")
            for k in range(1, n + 1)
        ]


def _deactivate(office: Office, actor: User, user: User) -> Callable[[], int]:
    return post(office, actor, f"/users/{user.id}/deactivate")


def _demote(office: Office, actor: User, user: User) -> Callable[[], int]:
    return post(
        office,
        actor,
        f"/users/{user.id}",
        data={"display_name": user.display_name, "role": user.role.value},
    )


def _outcomes(session: Session, email: str) -> list[LoginOutcome]:
    return list(
        session.scalars(
            select(LoginAttempt.outcome)
            .where(LoginAttempt.email == email)
            .order_by(LoginAttempt.id)
        )
    )


def _active_superusers(session: Session) -> list[int]:
    return list(session.scalars(select(User.id).where(User.is_superuser, User.is_active)))


# --- the login lockout --------------------------------------------------------------------


def test_ten_wrong_passwords_for_one_email_at_once_are_all_recorded_and_only_five_checked(
    office,
):
    """Sent at once, as from ten browsers reaching different workers, and typed as people
    type (capitals, spaces): each counts the failures committed before it, so the sixth and
    later are refused as locked out without their password being checked."""
    with office.session() as session:
        make_user(session, email=EMAIL)
    typed = [EMAIL, EMAIL.upper(), f" {EMAIL} ", "Kim@Test.Example", EMAIL] * 2

    statuses = at_once([_login(office, email, "not the password") for email in typed])

    assert statuses == [401] * len(typed)
    with office.session() as session:
        outcomes = _outcomes(session, EMAIL)
    assert len(outcomes) == len(typed)  # none lost
    checked, refused = MAX_FAILURES, len(typed) - MAX_FAILURES
    assert Counter(outcomes) == {
        LoginOutcome.BAD_CREDENTIALS: checked,
        LoginOutcome.LOCKED_OUT: refused,
    }
    # In the order they were recorded: five failures, then the lockout for every other.
    assert (
        outcomes == [LoginOutcome.BAD_CREDENTIALS] * checked + [LoginOutcome.LOCKED_OUT] * refused
    )

    assert _login(office, EMAIL, PASSWORD)() == 401  # the right password, while locked
    with office.session() as session:
        assert _outcomes(session, EMAIL)[-1] is LoginOutcome.LOCKED_OUT
        last_login = session.scalar(select(User.last_login_at).where(User.email == EMAIL))
        assert last_login is None


def test_wrong_passwords_from_one_network_for_many_emails_at_once_stop_at_the_twentieth(
    office,
):
    """Thirty guesses on thirty accounts from one address, at once: each counts the failures
    of that network committed before it, so exactly twenty passwords are checked and the
    others refused, in the order they were recorded."""
    emails = [f"guess{k}@test.example" for k in range(30)]
    with office.session() as session:
        for email in emails[:5]:
            make_user(session, email=email)

    statuses = at_once([_login(office, email, "not the password") for email in emails])

    assert statuses == [401] * len(emails)
    with office.session() as session:
        outcomes = list(
            session.scalars(
                select(LoginAttempt.outcome)
                .where(LoginAttempt.client_network == "127.0.0.1")
                .order_by(LoginAttempt.id)
            )
        )
    refused = len(emails) - NETWORK_MAX_FAILURES
    assert outcomes == (
        [LoginOutcome.BAD_CREDENTIALS] * NETWORK_MAX_FAILURES + [LoginOutcome.LOCKED_OUT] * refused
    )
    # Another network is not concerned.
    other = office.client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    response = other.post("/login", data={"email": emails[0], "password": PASSWORD})
    assert response.status_code == 302


# --- two-factor codes ---------------------------------------------------------------------


def _awaiting_code(office: Office, n: int) -> list:
    """`n` browsers that each gave the right password of EMAIL and await its code."""
    browsers = [office.client() for _ in range(n)]
    for browser in browsers:
        assert browser.post("/login", data={"email": EMAIL, "password": PASSWORD}).status_code
    return browsers


def _send(browser, code: str) -> Callable[[], int]:
    return lambda: browser.post("/login/code", data={"code": code}).status_code


@pytest.mark.parametrize("kind", ["totp", "recovery"])
def test_one_code_sent_by_five_browsers_at_once_logs_in_one(office, kind):
    with office.session() as session:
        user = make_user(session, email=EMAIL)
        secret, recovery = enable_two_factor(session, user, box_of(office.app))
    browsers = _awaiting_code(office, 5)
    code = code_for(secret) if kind == "totp" else recovery[0]

    statuses = at_once([_send(browser, code) for browser in browsers])

    assert sorted(statuses) == [302] + [401] * 4, statuses
    logged_in = [b for b in browsers if b.get("/").status_code == 200]
    assert len(logged_in) == 1
    with office.session() as session:
        outcomes = Counter(_outcomes(session, EMAIL))
        assert outcomes[LoginOutcome.SUCCEEDED] == 1
        assert outcomes[LoginOutcome.BAD_CODE] == 4
        if kind == "recovery":
            used = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "user.recovery_code_used")
            )
            assert used == 1


def _recovery_codes(office: Office, user: User) -> int:
    with office.session() as session:
        return session.scalar(
            select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id)
        )


def _events(office: Office, action: str) -> int:
    with office.session() as session:
        return session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )


def test_setting_up_twice_at_once_leaves_one_key(office):
    """Two tabs press "Set up" at once: one key is kept (the other request, meeting the first
    one's row, runs again and replaces it), never a server error."""
    with office.session() as session:
        user = make_user(session, email=EMAIL)

    statuses = at_once([post(office, user, "/account/two-factor/start") for _ in range(2)])

    assert statuses == [302, 302]
    with office.session() as session:
        credentials = session.scalars(
            select(TwoFactorCredential).where(TwoFactorCredential.user_id == user.id)
        ).all()
        assert len(credentials) == 1 and not credentials[0].is_on


def test_confirming_twice_at_once_turns_it_on_once(office):
    with office.session() as session:
        user = make_user(session, email=EMAIL)
        secret = two_factor.begin_enrolment(session, user, box=box_of(office.app), now=utcnow())
        session.commit()
    code = code_for(secret)

    statuses = at_once(
        [post(office, user, "/account/two-factor/confirm", data={"code": code}) for _ in range(2)]
    )

    # One shows the recovery codes; the other reads that it is already on.
    assert sorted(statuses) == [200, 422], statuses
    assert _events(office, "user.two_factor_enabled") == 1
    assert _recovery_codes(office, user) == RECOVERY_CODES


def test_new_recovery_codes_asked_twice_at_once_with_one_code_are_made_once(office):
    with office.session() as session:
        user = make_user(session, email=EMAIL)
        secret, _codes = enable_two_factor(session, user, box_of(office.app))
    code = code_for(secret)

    statuses = at_once(
        [
            post(office, user, "/account/two-factor/recovery-codes", data={"code": code})
            for _ in range(2)
        ]
    )

    assert sorted(statuses) == [200, 401], statuses  # the code is spent by the first
    assert _events(office, "user.recovery_codes_replaced") == 1
    assert _recovery_codes(office, user) == RECOVERY_CODES


@pytest.mark.parametrize("change", ["disable", "reset"])
def test_turning_it_off_twice_at_once_turns_it_off_once(office, change):
    superusers = _superusers(office, 2)
    with office.session() as session:
        user = make_user(session, Role.SCHEDULER, email=EMAIL)
        secret, codes = enable_two_factor(session, user, box_of(office.app))
    if change == "disable":
        calls = [
            post(office, user, "/account/two-factor/disable", data={"code": c})
            for c in (code_for(secret), codes[0])
        ]
        action = "user.two_factor_disabled"
    else:
        calls = [post(office, s, f"/users/{user.id}/two-factor/reset") for s in superusers]
        action = "user.two_factor_reset"

    statuses = at_once(calls)

    assert set(statuses) <= {302, 401, 409}, statuses
    assert _events(office, action) == 1
    with office.session() as session:
        assert not has_two_factor(session, user)
    assert _recovery_codes(office, user) == 0


# --- the last superuser -------------------------------------------------------------------


@pytest.mark.parametrize("change", [_deactivate, _demote], ids=["deactivate", "demote"])
def test_two_superusers_taking_each_other_away_at_once_never_leave_the_office_without_one(
    office, change
):
    one, two = _superusers(office, 2)

    statuses = at_once([change(office, one, two), change(office, two, one)])

    # Each is saved, refused (flashed or shown on the page), or, when the other came first,
    # turned away because its sender is no longer a superuser (403; a deactivated sender's
    # session has ended: a redirect to the login page). Never a 500.
    assert set(statuses) <= {302, 403, 409, 422}, statuses
    with office.session() as session:
        assert len(_active_superusers(session)) == 1


def test_three_superusers_deactivating_each_other_in_a_ring_at_once_keep_one_active(office):
    one, two, three = _superusers(office, 3)

    statuses = at_once(
        [
            _deactivate(office, one, two),
            _deactivate(office, two, three),
            _deactivate(office, three, one),
        ]
    )

    assert set(statuses) == {302}, statuses
    with office.session() as session:
        assert len(_active_superusers(session)) >= 1


def test_a_user_deactivated_while_another_superuser_deactivates_them_is_deactivated_once(
    office,
):
    """The request reads the user (active) before the other deactivation commits, then waits
    for the active superusers. Once it has them it must find the user inactive and say so,
    not deactivate them a second time and record it."""
    _one, two = _superusers(office, 2)
    with office.session() as session:
        user = make_user(session, Role.SCHEDULER, name="Leaving")

    def deactivated_by_one(session: Session) -> None:
        # What a deactivation holds until it commits: the active superusers, in id order.
        session.scalars(
            select(User.id)
            .where(User.is_superuser, User.is_active)
            .order_by(User.id)
            .with_for_update()
        ).all()
        session.get(User, user.id).is_active = False

    with held(office, deactivated_by_one):
        thread, answered = in_background(_deactivate(office, two, user))
        thread.join(timeout=1)
        assert answered == [], "the deactivation did not wait for the one in flight"
    thread.join(timeout=30)

    assert answered == [302]  # back to the user's page, with "already inactive" flashed
    with office.session() as session:
        recorded = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "user.deactivated", AuditEvent.object_id == str(user.id))
        )
        assert recorded == 0  # the deactivation in flight recorded its own; this one none


def test_a_user_reactivated_while_another_superuser_reactivates_them_is_reactivated_once(
    office,
):
    _one, two = _superusers(office, 2)
    with office.session() as session:
        user = make_user(session, Role.SCHEDULER, name="Returning", active=False)

    def reactivated_by_one(session: Session) -> None:
        session.get(User, user.id, with_for_update=True).is_active = True

    with held(office, reactivated_by_one):
        thread, answered = in_background(post(office, two, f"/users/{user.id}/reactivate"))
        thread.join(timeout=1)
        assert answered == [], "the reactivation did not wait for the one in flight"
    thread.join(timeout=30)

    assert answered == [302]  # back to the user's page, with "already active" flashed
    with office.session() as session:
        assert session.get(User, user.id).is_active
        recorded = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "user.reactivated", AuditEvent.object_id == str(user.id))
        )
        assert recorded == 0  # the reactivation in flight recorded its own; this one none
