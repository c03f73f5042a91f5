"""The lockout rule at its edges, with time set by the test."""

from datetime import UTC, datetime, timedelta

from office.auth import services
from office.auth.models import LoginOutcome
from tests.factories import PASSWORD, make_user

T0 = datetime(2018, 9, 14, 1, 0, tzinfo=UTC)


def fail(session, at, email="kim@test.example"):
    return services.attempt_login(session, email, "wrong password!", now=at, remote_addr=None)


def login(session, at, email="kim@test.example"):
    return services.attempt_login(session, email, PASSWORD, now=at, remote_addr="10.0.0.1")


def test_four_failures_do_not_lock(session):
    make_user(session, email="kim@test.example")
    for minute in range(4):
        fail(session, T0 + timedelta(minutes=minute))
    assert login(session, T0 + timedelta(minutes=5)).succeeded


def test_fifth_failure_locks_for_fifteen_minutes_from_it(session):
    make_user(session, email="kim@test.example")
    for minute in range(5):
        result = fail(session, T0 + timedelta(minutes=minute))
    fifth = T0 + timedelta(minutes=4)
    assert result.locked_until == fifth + timedelta(minutes=15)
    just_before = login(session, fifth + timedelta(minutes=15) - timedelta(seconds=1))
    assert just_before.outcome is LoginOutcome.LOCKED_OUT
    assert just_before.user is None
    assert login(session, fifth + timedelta(minutes=15)).succeeded


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(session):
    make_user(session, email="kim@test.example")
    for minute in (0, 4, 8, 12, 16):  # the first and fifth are 16 minutes apart
        fail(session, T0 + timedelta(minutes=minute))
    assert login(session, T0 + timedelta(minutes=17)).succeeded


def test_attempts_during_a_lockout_do_not_extend_it(session):
    make_user(session, email="kim@test.example")
    for minute in range(5):
        fail(session, T0 + timedelta(minutes=minute))
    for minute in range(5, 18):
        assert fail(session, T0 + timedelta(minutes=minute)).outcome is LoginOutcome.LOCKED_OUT
    assert login(session, T0 + timedelta(minutes=19)).succeeded


def test_a_success_clears_earlier_failures(session):
    make_user(session, email="kim@test.example")
    for minute in range(4):
        fail(session, T0 + timedelta(minutes=minute))
    assert login(session, T0 + timedelta(minutes=4)).succeeded
    result = fail(session, T0 + timedelta(minutes=5))
    assert result.locked_until is None
    assert login(session, T0 + timedelta(minutes=6)).succeeded


def test_lockout_of_one_email_leaves_others_alone(session):
    make_user(session, email="kim@test.example")
    make_user(session, email="lee@test.example")
    for minute in range(5):
        fail(session, T0 + timedelta(minutes=minute))
    assert login(session, T0 + timedelta(minutes=5), email="lee@test.example").succeeded
