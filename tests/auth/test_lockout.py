"""The lockout rule at its edges, with time set by the test.

Failures are counted per email and client network (5 in 15 minutes), per network whatever the
email (20 in 15 minutes) and per email from anywhere (100 in 24 hours); the last two spare a
network the account logged in from lately, so nobody can lock a user out from elsewhere."""

from datetime import UTC, datetime, timedelta

import pytest

from office.auth import services
from office.auth.models import LoginAttempt, LoginOutcome
from office.auth.services import Block
from tests.factories import PASSWORD, make_user

T0 = datetime(2018, 9, 14, 1, 0, tzinfo=UTC)
HERE = "10.0.0.1"
ELSEWHERE = "192.0.2.7"
EMAIL = "kim@test.example"


def fail(session, at, email=EMAIL, addr=HERE):
    return services.attempt_login(session, email, "wrong password!", now=at, remote_addr=addr)


def login(session, at, email=EMAIL, addr=HERE):
    return services.attempt_login(session, email, PASSWORD, now=at, remote_addr=addr)


def failures(session, n, *, at, email=EMAIL, addrs=(HERE,), outcome=LoginOutcome.BAD_CREDENTIALS):
    """`n` failed attempts recorded at `at` (one second apart), cycling through `addrs`: what
    `attempt_login` records, without checking a password each time."""
    for k in range(n):
        addr = addrs[k % len(addrs)]
        session.add(
            LoginAttempt(
                email=email,
                attempted_at=at + timedelta(seconds=k),
                outcome=outcome,
                remote_addr=addr,
                client_network=services.client_network(addr),
            )
        )
    session.flush()


# --- one email from one network -----------------------------------------------------------


def test_four_failures_do_not_lock(session):
    make_user(session, email=EMAIL)
    for minute in range(4):
        fail(session, T0 + timedelta(minutes=minute))
    assert login(session, T0 + timedelta(minutes=5)).succeeded


def test_fifth_failure_locks_for_fifteen_minutes_from_it(session):
    make_user(session, email=EMAIL)
    for minute in range(5):
        result = fail(session, T0 + timedelta(minutes=minute))
    fifth = T0 + timedelta(minutes=4)
    assert result.locked_until == fifth + timedelta(minutes=15)
    assert result.block.rule is Block.ACCOUNT_HERE
    just_before = login(session, fifth + timedelta(minutes=15) - timedelta(seconds=1))
    assert just_before.outcome is LoginOutcome.LOCKED_OUT
    assert just_before.user is None
    assert login(session, fifth + timedelta(minutes=15)).succeeded


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(session):
    make_user(session, email=EMAIL)
    for minute in (0, 4, 8, 12, 16):  # the first and fifth are 16 minutes apart
        fail(session, T0 + timedelta(minutes=minute))
    assert login(session, T0 + timedelta(minutes=17)).succeeded


def test_attempts_during_a_lockout_do_not_extend_it(session):
    make_user(session, email=EMAIL)
    for minute in range(5):
        fail(session, T0 + timedelta(minutes=minute))
    for minute in range(5, 18):
        assert fail(session, T0 + timedelta(minutes=minute)).outcome is LoginOutcome.LOCKED_OUT
    assert login(session, T0 + timedelta(minutes=19)).succeeded


def test_a_success_clears_earlier_failures(session):
    make_user(session, email=EMAIL)
    for minute in range(4):
        fail(session, T0 + timedelta(minutes=minute))
    assert login(session, T0 + timedelta(minutes=4)).succeeded
    result = fail(session, T0 + timedelta(minutes=5))
    assert result.locked_until is None
    assert login(session, T0 + timedelta(minutes=6)).succeeded


def test_lockout_of_one_email_leaves_others_alone(session):
    make_user(session, email=EMAIL)
    make_user(session, email="lee@test.example")
    for minute in range(5):
        fail(session, T0 + timedelta(minutes=minute))
    assert login(session, T0 + timedelta(minutes=5), email="lee@test.example").succeeded


# --- finding 8: one address could lock anyone out -----------------------------------------


def test_failures_from_one_network_do_not_lock_the_account_out_elsewhere(session):
    """Five wrong passwords typed from an attacker's address used to lock the email for 15
    minutes wherever its owner was; now only that address is refused."""
    make_user(session, email=EMAIL)
    for minute in range(5):
        fail(session, T0 + timedelta(minutes=minute), addr=ELSEWHERE)
    assert fail(session, T0 + timedelta(minutes=5), addr=ELSEWHERE).outcome is (
        LoginOutcome.LOCKED_OUT
    )
    # The owner, from an address with no failures: the right password still works.
    assert login(session, T0 + timedelta(minutes=6), addr=HERE).succeeded


def test_a_network_trying_many_accounts_is_stopped_after_twenty_failures(session):
    """Nothing limited one address trying many accounts: one failure each on a hundred emails
    went unnoticed. Now the twentieth failure from a network blocks it for 15 minutes, for
    every account, existing or not."""
    victim = make_user(session, email="victim@test.example")
    for k in range(services.NETWORK_MAX_FAILURES - 1):
        result = fail(session, T0 + timedelta(seconds=k), email=f"guess{k}@test.example")
        assert result.outcome is LoginOutcome.BAD_CREDENTIALS
    twentieth = fail(session, T0 + timedelta(minutes=1), email="another@test.example")
    assert twentieth.outcome is LoginOutcome.BAD_CREDENTIALS
    assert twentieth.block.rule is Block.NETWORK
    assert twentieth.locked_until == T0 + timedelta(minutes=16)

    owner = login(session, T0 + timedelta(minutes=2), email=victim.email, addr=ELSEWHERE)
    assert owner.succeeded  # the victim, from elsewhere
    blocked = login(session, T0 + timedelta(minutes=2), email="new@test.example")
    assert blocked.outcome is LoginOutcome.LOCKED_OUT
    assert blocked.block.rule is Block.NETWORK
    # Unblocked once the 15 minutes after the twentieth failure are over.
    assert fail(session, T0 + timedelta(minutes=16)).outcome is LoginOutcome.BAD_CREDENTIALS


def test_a_blocked_network_still_reaches_the_accounts_that_logged_in_from_it(session):
    """Colleagues behind one office address: a stranger's twenty failures block that address
    for strangers, not for the people who work there."""
    colleague = make_user(session, email="colleague@test.example")
    assert login(session, T0 - timedelta(days=3), email=colleague.email).succeeded
    failures(session, services.NETWORK_MAX_FAILURES, at=T0, email="nobody@test.example")
    assert login(session, T0 + timedelta(minutes=1), email=colleague.email).succeeded
    other = make_user(session, email="other@test.example")
    refused = login(session, T0 + timedelta(minutes=1), email=other.email)
    assert refused.block.rule is Block.NETWORK


def test_many_networks_failing_on_one_account_lock_it_except_where_it_is_known(session):
    """A hundred failures from many addresses (a botnet, or a whole IPv6 range) lock the
    account for an hour; where its owner logged in lately, the right password still works."""
    user = make_user(session, email=EMAIL)
    assert login(session, T0 - timedelta(days=10), addr=HERE).succeeded
    botnet = [f"198.51.100.{k}" for k in range(1, 51)]  # 2 failures each: under every other rule
    failures(session, services.ACCOUNT_MAX_FAILURES, at=T0, addrs=botnet)
    latest = T0 + timedelta(seconds=services.ACCOUNT_MAX_FAILURES - 1)

    stranger = login(session, T0 + timedelta(minutes=5), addr="203.0.113.9")
    assert stranger.outcome is LoginOutcome.LOCKED_OUT
    assert stranger.block.rule is Block.ACCOUNT
    assert stranger.locked_until == latest + timedelta(hours=1)
    owner = login(session, T0 + timedelta(minutes=6), addr=HERE)
    assert owner.succeeded and owner.user.id == user.id


def test_ninety_nine_failures_from_many_networks_do_not_lock_the_account(session):
    make_user(session, email=EMAIL)
    botnet = [f"198.51.100.{k}" for k in range(1, 51)]
    failures(session, services.ACCOUNT_MAX_FAILURES - 1, at=T0, addrs=botnet)
    assert login(session, T0 + timedelta(minutes=5), addr="203.0.113.9").succeeded


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        (None, "unknown"),
        ("not an address", "not an address"),
    ],
)
def test_failures_are_counted_by_ipv4_address_or_ipv6_64(address, network):
    assert services.client_network(address) == network


def test_addresses_of_one_ipv6_64_share_their_failures(session):
    make_user(session, email=EMAIL)
    for k in range(5):
        fail(session, T0 + timedelta(minutes=k), addr=f"2001:db8:1:2::{k + 1:x}")
    refused = login(session, T0 + timedelta(minutes=6), addr="2001:db8:1:2:ffff::1")
    assert refused.outcome is LoginOutcome.LOCKED_OUT
    assert login(session, T0 + timedelta(minutes=6), addr="2001:db8:1:3::1").succeeded
