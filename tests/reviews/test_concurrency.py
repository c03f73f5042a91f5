"""Several reviewers acting on one flagged item, and a month signed off while its items are
acted on, all at the same moment and committed for real (`tests.concurrency`): an item only
ever moves as the review's rules allow, its thread notes every action taken and nothing else,
and a signed-off month has every flagged item acknowledged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from itertools import permutations

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth.models import User
from office.auth.permissions import Role
from office.periods.models import SignedOffMonth
from office.reviews import queries
from office.reviews import services as reviews
from office.reviews.models import ItemKind, ReviewAction, ReviewItem, ReviewNote, ReviewState
from tests.concurrency import Office, at_once, held, in_background, post
from tests.factories import NOW, make_resource, make_user
from tests.reviews.arrange import TODAY, act, capped_line, override

OCTOBER = date(2018, 10, 1)
ANSWERS = {302, 409, 422}  # taken (a redirect) or refused plainly; never a 500
A = ReviewAction


# --- arranging ----------------------------------------------------------------------------


def _overrides(office: Office, n: int) -> list[int]:
    """`n` drawdowns recorded beyond their waiver line in October 2018: flagged, never acted
    on yet (no review item)."""
    with office.session() as session:
        diesel = make_resource(session)
        return [
            override(
                session, office.admin, capped_line(session, diesel, "1000"), on=date(2018, 10, 3)
            ).id
            for _ in range(n)
        ]


def _reviewers(office: Office, n: int) -> list[User]:
    """The office's reviewer and `n - 1` more."""
    with office.session() as session:
        more = [make_user(session, Role.REVIEWER, name=f"Reviewer {k}") for k in range(2, n + 1)]
    return [office.reviewer, *more]


def _acted(office: Office, source_id: int, *actions: ReviewAction) -> None:
    with office.session() as session:
        for action in actions:
            act(session, ItemKind.OVERRIDE, source_id, action, office.reviewer, "Done.")


def _action(office: Office, user: User, source_id: int, action: ReviewAction) -> Callable[[], int]:
    body = "" if action is A.ACKNOWLEDGE else f"{action.value} by {user.display_name}"
    return post(
        office,
        user,
        f"/reviews/items/override/{source_id}/{action.value}",
        data={"body": body},
    )


def _sign_off(office: Office, user: User) -> Callable[[], int]:
    return post(office, user, "/reviews/months/2018-10/sign-off", data={"note": ""})


# --- what must hold -----------------------------------------------------------------------


def _after(state: ReviewState, action: ReviewAction) -> ReviewState | None:
    """The state `action` leads to from `state` by the rules, or None where it is refused."""
    starts, to_state, _permission, _words = reviews.RULES[action]
    return (to_state or state) if state in starts else None


def _reachable(start: ReviewState, actions: list[ReviewAction]) -> set[ReviewState]:
    """Every state the rules lead to from `start` taking each of `actions` once, in any order
    in which each is allowed when it is taken."""
    ends = set()
    for order in set(permutations(actions)):
        state: ReviewState | None = start
        for action in order:
            state = _after(state, action)
            if state is None:
                break
        if state is not None:
            ends.add(state)
    return ends


def _assert_thread_follows_the_rules(
    office: Office,
    source_id: int,
    start: ReviewState,
    notes_before: int,
    accepted: list[ReviewAction],
) -> None:
    """The item ends in a state the accepted actions reach by the rules; its thread gained one
    note per accepted action and no other, each a step the rules allow from the one before."""
    with office.session() as session:
        item = session.scalar(
            select(ReviewItem).where(
                ReviewItem.kind == ItemKind.OVERRIDE, ReviewItem.source_id == source_id
            )
        )
        final = item.state if item is not None else ReviewState.OPEN
        assert final in _reachable(start, accepted), (final, accepted)
        notes = (
            session.scalars(
                select(ReviewNote).where(ReviewNote.item_id == item.id).order_by(ReviewNote.id)
            ).all()
            if item is not None
            else []
        )
        new = notes[notes_before:]
        assert Counter(note.action for note in new) == Counter(accepted)
        state = start
        for note in new:
            assert note.from_state is state, [(n.action, n.from_state, n.to_state) for n in new]
            assert note.to_state is _after(state, note.action)
            state = note.to_state
        assert state is final


def _unacknowledged_in_october(session: Session) -> int:
    counts = queries.count_by_kind(session, today=TODAY, month=OCTOBER)
    return sum(
        number
        for states in counts.values()
        for state, number in states.items()
        if state is not ReviewState.ACKNOWLEDGED
    )


# --- one item, several reviewers ----------------------------------------------------------


def test_first_actions_on_an_item_by_several_reviewers_at_once_follow_the_rules(office):
    """Nobody has acted on the item yet: each request finds no review item and the first to
    commit creates it; the others queue behind it (or run again) and act on it as it is."""
    (entry,) = _overrides(office, 1)
    reviewers = _reviewers(office, 3)
    actions = [
        (reviewers[0], A.ACKNOWLEDGE),
        (reviewers[1], A.QUERY),
        (reviewers[2], A.ESCALATE),
        (reviewers[0], A.QUERY),
        (reviewers[1], A.COMMENT),
        (office.admin, A.COMMENT),
    ]

    statuses = at_once([_action(office, user, entry, action) for user, action in actions])

    assert set(statuses) <= ANSWERS, statuses
    accepted = [
        action for (_user, action), status in zip(actions, statuses, strict=True) if status == 302
    ]
    assert A.COMMENT in accepted and accepted.count(A.COMMENT) == 2  # a comment always fits
    _assert_thread_follows_the_rules(office, entry, ReviewState.OPEN, 0, accepted)


def test_an_acknowledged_item_reopened_and_acted_on_at_once_follows_the_rules(office):
    """Three reviewers reopen an acknowledged item while others acknowledge, query and answer
    it: a reopen is only accepted from acknowledged, so the thread shows each step in turn."""
    (entry,) = _overrides(office, 1)
    _acted(office, entry, A.ACKNOWLEDGE)
    reviewers = _reviewers(office, 3)
    actions = [
        (reviewers[0], A.REOPEN),
        (reviewers[1], A.REOPEN),
        (reviewers[2], A.REOPEN),
        (reviewers[0], A.ACKNOWLEDGE),
        (reviewers[1], A.QUERY),
        (office.admin, A.ANSWER),
    ]

    statuses = at_once([_action(office, user, entry, action) for user, action in actions])

    assert set(statuses) <= ANSWERS, statuses
    accepted = [
        action for (_user, action), status in zip(actions, statuses, strict=True) if status == 302
    ]
    assert A.REOPEN in accepted
    _assert_thread_follows_the_rules(office, entry, ReviewState.ACKNOWLEDGED, 1, accepted)


# --- a month's sign-off and its items -----------------------------------------------------


def test_a_sign_off_while_items_of_the_month_are_reopened_and_acknowledged_never_leaves_one_open(
    office,
):
    """Of three flagged items of October, one is reopened, one acknowledged and one left
    acknowledged while the month is signed off: if the sign-off lands, every item of the
    month is acknowledged, and the reopen was refused."""
    reopened, acknowledged, quiet = _overrides(office, 3)
    _acted(office, reopened, A.ACKNOWLEDGE)
    _acted(office, quiet, A.ACKNOWLEDGE)
    reviewers = _reviewers(office, 3)

    statuses = at_once(
        [
            _sign_off(office, reviewers[0]),
            _action(office, reviewers[1], reopened, A.REOPEN),
            _action(office, reviewers[2], acknowledged, A.ACKNOWLEDGE),
        ]
    )

    assert set(statuses) <= ANSWERS, statuses
    with office.session() as session:
        signed = session.get(SignedOffMonth, OCTOBER) is not None
        assert signed == (statuses[0] == 302), statuses
        if signed:
            assert _unacknowledged_in_october(session) == 0
            assert statuses[1:] == [422, 302]  # the reopen came too late; the other in time


def test_a_sign_off_and_reopens_sent_at_once_never_leave_an_open_item_in_a_signed_month(office):
    """Five acknowledged items of October, each reopened by a reviewer while another signs
    the month off: either the sign-off lands first and refuses every reopen, or a reopen
    lands first and the sign-off is refused (an item is under review again)."""
    entries = _overrides(office, 5)
    for entry in entries:
        _acted(office, entry, A.ACKNOWLEDGE)
    signer, *reopeners = _reviewers(office, 1 + len(entries))

    statuses = at_once(
        [_sign_off(office, signer)]
        + [
            _action(office, reopener, entry, A.REOPEN)
            for reopener, entry in zip(reopeners, entries, strict=True)
        ]
    )

    assert set(statuses) <= ANSWERS, statuses
    reopened = statuses[1:].count(302)
    with office.session() as session:
        signed = session.get(SignedOffMonth, OCTOBER) is not None
        assert signed == (statuses[0] == 302), statuses
        assert signed == (reopened == 0), statuses
        assert _unacknowledged_in_october(session) == reopened


def test_a_sign_off_waits_for_a_reopen_in_flight_and_is_then_refused(office):
    (entry,) = _overrides(office, 1)
    _acted(office, entry, A.ACKNOWLEDGE)

    def reopen(session: Session) -> None:
        reviews.take_action(
            session,
            ItemKind.OVERRIDE,
            entry,
            A.REOPEN,
            body="Look again.",
            actor=office.reviewer,
            now=NOW,
            today=TODAY,
        )

    with held(office, reopen):
        thread, answered = in_background(_sign_off(office, office.reviewer))
        thread.join(timeout=1)
        assert answered == [], "the sign-off did not wait for the reopen in flight"
    thread.join(timeout=30)

    assert answered == [409]  # the month has an item under review again
    with office.session() as session:
        assert session.get(SignedOffMonth, OCTOBER) is None
        assert _unacknowledged_in_october(session) == 1


def test_a_reopen_waits_for_the_months_sign_off_in_flight_and_is_then_refused(office):
    (entry,) = _overrides(office, 1)
    _acted(office, entry, A.ACKNOWLEDGE)
    reopener = _reviewers(office, 2)[1]

    def sign(session: Session) -> None:
        reviews.sign_off_month(
            session, OCTOBER, note="", actor=office.reviewer, now=NOW, today=TODAY
        )

    with held(office, sign):
        thread, answered = in_background(_action(office, reopener, entry, A.REOPEN))
        thread.join(timeout=1)
        assert answered == [], "the reopen did not wait for the sign-off in flight"
    thread.join(timeout=30)

    assert answered == [422]  # refused: the month is signed off
    with office.session() as session:
        assert session.get(SignedOffMonth, OCTOBER) is not None
        assert _unacknowledged_in_october(session) == 0
