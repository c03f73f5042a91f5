"""A flagged item's thread: the reviewer queries, the office answers in the same thread, the
reviewer acknowledges, escalates or reopens; every step is noted with its author and the states
it moved between. Steps that do not fit the item's state, missing words, the wrong role and
records that are not flagged are refused and change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from office.errors import ConflictError, ForbiddenError, InvalidInput, NotFoundError
from office.reviews import services
from office.reviews.models import ItemKind, ReviewAction, ReviewItem, ReviewNote, ReviewState
from tests.conftest import log_in
from tests.reviews.arrange import act, item_of
from tests.reviews.pages import read

K, A, S = ItemKind, ReviewAction, ReviewState


def notes(session) -> int:
    return session.scalar(select(func.count()).select_from(ReviewNote))


def items(session) -> int:
    return session.scalar(select(func.count()).select_from(ReviewItem))


def history(session, kind: ItemKind, source_id: int) -> list[tuple]:
    item = item_of(session, kind, source_id)
    session.refresh(item, ["notes"])
    return [(n.author.display_name, n.action, n.from_state, n.to_state, n.body) for n in item.notes]


@pytest.fixture
def dip_url(flagged) -> str:
    return f"/reviews/items/dip_variance/{flagged.dip.id}"


# --- the thread through the pages ---------------------------------------------------------


def test_query_answer_acknowledge_in_one_thread(client, session, admin, reviewer, flagged, dip_url):
    log_in(client, reviewer)
    response = client.post(f"{dip_url}/query", data={"body": "300 L short: where did it go?"})
    assert response.status_code == 302 and response.headers["Location"] == dip_url
    page = read(client.get(dip_url))
    assert ("success", "Query sent to the office.") in page.flashes
    assert page.testids["item-state"] == "queried"
    assert "Reviewer Park queried open → queried" in page.testids["thread"]
    assert "300 L short: where did it go?" in page.testids["thread"]

    log_in(client, admin)
    assert "Answer" in read(client.get(dip_url)).button_texts()
    response = client.post(f"{dip_url}/answer", data={"body": "A weeping valve seal, replaced."})
    assert response.status_code == 302
    page = read(client.get(dip_url))
    assert ("success", "Answer sent to the reviewer.") in page.flashes
    assert page.testids["item-state"] == "answered"
    assert "Admin Kim answered queried → answered" in page.testids["thread"]

    log_in(client, reviewer)
    response = client.post(f"{dip_url}/acknowledge", data={"body": ""})
    assert response.status_code == 302
    page = read(client.get(dip_url))
    assert ("success", "Acknowledged.") in page.flashes
    assert page.testids["item-state"] == "acknowledged"
    thread = page.testids["thread"]
    assert (
        thread.index("queried open")
        < thread.index("answered queried")
        < thread.index("acknowledged answered → acknowledged")
    )

    assert history(session, K.DIP_VARIANCE, flagged.dip.id) == [
        ("Reviewer Park", A.QUERY, S.OPEN, S.QUERIED, "300 L short: where did it go?"),
        ("Admin Kim", A.ANSWER, S.QUERIED, S.ANSWERED, "A weeping valve seal, replaced."),
        ("Reviewer Park", A.ACKNOWLEDGE, S.ANSWERED, S.ACKNOWLEDGED, ""),
    ]
    queue = read(client.get("/reviews/queue?state=all&kind=dip_variance"))
    assert queue.table("queue")[0][3] == "acknowledged"


def test_an_item_nobody_took_up_says_so_and_offers_the_reviewers_steps(
    client, reviewer, admin, dip_url
):
    page = read(log_in(client, reviewer).get(dip_url))
    assert page.testids["item-state"] == "open"
    assert page.testids["thread"] == "Nobody has taken this item up yet."
    assert page.button_texts() == ["Query the office", "Escalate", "Acknowledge", "Add comment"]
    # The office may only comment until it is asked something.
    page = read(log_in(client, admin).get(dip_url))
    assert page.button_texts() == ["Add comment"]


def test_escalate_acknowledge_and_reopen(session, reviewer, flagged):
    key = (K.OVERRIDE, flagged.override.id)
    act(session, *key, A.ESCALATE, reviewer, "Referred to the sanctions team.")
    act(session, *key, A.QUERY, reviewer, "Which exemption covers this?")
    act(session, *key, A.ESCALATE, reviewer, "Still no exemption; back to the team.")
    act(session, *key, A.ACKNOWLEDGE, reviewer)
    item = act(session, *key, A.REOPEN, reviewer, "The team wants the invoices.")
    assert item.state is S.OPEN
    assert [(a, f, t) for _who, a, f, t, _body in history(session, *key)] == [
        (A.ESCALATE, S.OPEN, S.ESCALATED),
        (A.QUERY, S.ESCALATED, S.QUERIED),
        (A.ESCALATE, S.QUERIED, S.ESCALATED),
        (A.ACKNOWLEDGE, S.ESCALATED, S.ACKNOWLEDGED),
        (A.REOPEN, S.ACKNOWLEDGED, S.OPEN),
    ]


def test_a_comment_keeps_the_state_and_either_side_may_write_one(
    client, session, admin, reviewer, flagged, dip_url
):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where did it go?")
    log_in(client, admin)
    response = client.post(f"{dip_url}/comment", data={"body": "Checking with the engineer."})
    assert response.status_code == 302
    log_in(client, reviewer)
    client.post(f"{dip_url}/comment", data={"body": "Thank you."})
    page = read(client.get(dip_url))
    assert ("success", "Comment added.") in page.flashes
    assert page.testids["item-state"] == "queried"
    assert history(session, K.DIP_VARIANCE, flagged.dip.id)[1:] == [
        ("Admin Kim", A.COMMENT, S.QUERIED, S.QUERIED, "Checking with the engineer."),
        ("Reviewer Park", A.COMMENT, S.QUERIED, S.QUERIED, "Thank you."),
    ]


# --- refused steps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "action", "message"),
    [
        ([], A.ANSWER, "This item is open; it cannot be answered now."),
        ([], A.REOPEN, "This item is open; it cannot be reopened now."),
        (
            [A.ACKNOWLEDGE],
            A.ACKNOWLEDGE,
            "This item is acknowledged; it cannot be acknowledged now.",
        ),
        ([A.ACKNOWLEDGE], A.QUERY, "This item is acknowledged; it cannot be queried now."),
        ([A.ACKNOWLEDGE], A.ESCALATE, "This item is acknowledged; it cannot be escalated now."),
        ([A.QUERY], A.QUERY, "This item is queried; it cannot be queried now."),
        ([A.ESCALATE], A.ESCALATE, "This item is escalated; it cannot be escalated now."),
        ([A.QUERY, A.ANSWER], A.ANSWER, "This item is answered; it cannot be answered now."),
    ],
)
def test_a_step_that_does_not_fit_the_state_is_refused_and_changes_nothing(
    client, session, admin, reviewer, flagged, dip_url, before, action, message
):
    for step in before:
        actor = admin if step is A.ANSWER else reviewer
        act(session, K.DIP_VARIANCE, flagged.dip.id, step, actor, "Words.")
    counts = (items(session), notes(session))
    state = item.state if (item := item_of(session, K.DIP_VARIANCE, flagged.dip.id)) else S.OPEN

    log_in(client, admin if action is A.ANSWER else reviewer)
    response = client.post(f"{dip_url}/{action.value}", data={"body": "Words."})
    assert response.status_code == 422
    page = read(response)
    assert message in page.errors
    assert page.testids["item-state"] == state.value
    assert (items(session), notes(session)) == counts
    with pytest.raises(ConflictError, match=message):
        act(
            session,
            K.DIP_VARIANCE,
            flagged.dip.id,
            action,
            admin if action is A.ANSWER else reviewer,
            "Words.",
        )


@pytest.mark.parametrize(
    ("before", "action"),
    [
        ([], A.COMMENT),
        ([], A.QUERY),
        ([], A.ESCALATE),
        ([A.QUERY], A.ANSWER),
        ([A.ACKNOWLEDGE], A.REOPEN),
    ],
)
def test_steps_that_need_words_are_refused_without_them(
    client, session, admin, reviewer, flagged, dip_url, before, action
):
    for step in before:
        act(session, K.DIP_VARIANCE, flagged.dip.id, step, reviewer, "Words.")
    counts = (items(session), notes(session))
    log_in(client, admin if action is A.ANSWER else reviewer)
    response = client.post(f"{dip_url}/{action.value}", data={"body": "   "})
    assert response.status_code == 422
    assert read(response).errors == ["Write what you have to say."]
    assert (items(session), notes(session)) == counts


def test_acknowledging_needs_no_words(session, reviewer, flagged):
    item = act(session, K.METER_ANOMALY, flagged.reading.id, A.ACKNOWLEDGE, reviewer)
    assert item.state is S.ACKNOWLEDGED


def test_a_note_longer_than_four_thousand_characters_is_refused(
    client, session, reviewer, flagged, dip_url
):
    with pytest.raises(InvalidInput, match=r"Write at most 4000 characters\."):
        act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "x" * 4001)
    response = log_in(client, reviewer).post(f"{dip_url}/query", data={"body": "x" * 4001})
    assert response.status_code == 422
    assert notes(session) == 0


# --- who may take which step --------------------------------------------------------------


def test_a_reviewer_cannot_answer_for_the_office(client, session, reviewer, flagged, dip_url):
    act(session, K.DIP_VARIANCE, flagged.dip.id, A.QUERY, reviewer, "Where did it go?")
    response = log_in(client, reviewer).post(f"{dip_url}/answer", data={"body": "It leaked."})
    assert response.status_code == 403
    assert "Answer" not in read(client.get(dip_url)).button_texts()
    assert item_of(session, K.DIP_VARIANCE, flagged.dip.id).state is S.QUERIED
    with pytest.raises(ForbiddenError):
        act(session, K.DIP_VARIANCE, flagged.dip.id, A.ANSWER, reviewer, "It leaked.")


@pytest.mark.parametrize("action", [A.ACKNOWLEDGE, A.QUERY, A.ESCALATE, A.REOPEN])
def test_the_office_cannot_close_or_steer_its_own_review(
    client, session, admin, flagged, dip_url, action
):
    response = log_in(client, admin).post(f"{dip_url}/{action.value}", data={"body": "Fine."})
    assert response.status_code == 403
    assert (items(session), notes(session)) == (0, 0)
    with pytest.raises(ForbiddenError):
        act(session, K.DIP_VARIANCE, flagged.dip.id, action, admin, "Fine.")


def test_a_record_that_is_not_flagged_is_not_found(client, session, reviewer, flagged):
    log_in(client, reviewer)
    within = f"/reviews/items/dip_variance/{flagged.dip_within.id}"
    assert client.get(within).status_code == 404
    assert client.post(f"{within}/acknowledge", data={"body": ""}).status_code == 404
    assert client.get("/reviews/items/dip_variance/999999").status_code == 404
    assert client.get(f"/reviews/items/bogus/{flagged.dip.id}").status_code == 404
    assert (
        client.post(f"/reviews/items/bogus/{flagged.dip.id}/query", data={"body": "?"}).status_code
        == 404
    )
    # A covered drawdown is not an override, even with the id of one.
    covered = f"/reviews/items/override/{flagged.covered_entry.id}"
    assert client.get(covered).status_code == 404
    assert (items(session), notes(session)) == (0, 0)
    with pytest.raises(
        NotFoundError, match=f"No flagged item dip variance #{flagged.dip_within.id}."
    ):
        act(session, K.DIP_VARIANCE, flagged.dip_within.id, A.ACKNOWLEDGE, reviewer)


def test_can_take_follows_the_rules(reviewer, admin):
    assert services.can_take(reviewer, A.QUERY, S.OPEN)
    assert not services.can_take(reviewer, A.ANSWER, S.QUERIED)
    assert services.can_take(admin, A.ANSWER, S.QUERIED)
    assert not services.can_take(admin, A.ANSWER, S.OPEN)
    assert not services.can_take(admin, A.ACKNOWLEDGE, S.OPEN)
    assert not services.can_take(reviewer, A.REOPEN, S.OPEN)
    assert services.can_take(reviewer, A.REOPEN, S.ACKNOWLEDGED)
