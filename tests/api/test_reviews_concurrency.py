"""Reviewers acting on one flagged item through the API at the same moment, committed for real
(`tests.concurrency`): one step wins, the other is refused plainly (409, never a 500), and the
thread notes the step taken once; a month's sign-off and a reopening of one of its items never
both pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from werkzeug.test import TestResponse

from office.auth import services as auth_services
from office.auth.models import User
from office.auth.permissions import Role
from office.jobs.models import Job
from office.periods.models import SignedOffMonth
from office.reviews.models import ItemKind, ReviewAction, ReviewItem, ReviewNote, ReviewState
from tests.api.conftest import API
from tests.concurrency import Office, at_once
from tests.factories import NOW, make_resource, make_user
from tests.reviews.arrange import act, capped_line, override


def _token(office: Office, user: User) -> str:
    with office.session() as session:
        _row, secret = auth_services.create_api_token(
            session, user, name="race", actor=None, now=NOW
        )
        session.commit()
    return secret


def _flagged_override(office: Office, *before: ReviewAction) -> int:
    """A drawdown recorded beyond its line in October 2018, after `before` was taken on it."""
    with office.session() as session:
        line = capped_line(session, make_resource(session), "1000")
        entry = override(session, office.admin, line, on=date(2018, 10, 3))
        for action in before:
            act(session, ItemKind.OVERRIDE, entry.id, action, office.reviewer, "Done.")
        return entry.id


def _reviewers(office: Office, n: int) -> list[str]:
    """Tokens of `n` reviewers."""
    with office.session() as session:
        users = [make_user(session, Role.REVIEWER, name=f"Reviewer {k}") for k in range(n)]
    return [_token(office, user) for user in users]


def _send(
    office: Office, token: str, path: str, body: dict[str, str], key: str | None = None
) -> Callable[[], TestResponse]:
    client = office.app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    if key is not None:
        headers["Idempotency-Key"] = key

    def call() -> TestResponse:
        return client.post(
            API + path, data=json.dumps(body), headers=headers, content_type="application/json"
        )

    return call


def _thread(office: Office, source_id: int) -> tuple[ReviewState, list[ReviewAction]]:
    with office.session() as session:
        item = session.scalar(
            select(ReviewItem).where(
                ReviewItem.kind == ItemKind.OVERRIDE, ReviewItem.source_id == source_id
            )
        )
        assert item is not None
        notes = session.scalars(
            select(ReviewNote.action).where(ReviewNote.item_id == item.id).order_by(ReviewNote.id)
        ).all()
        return item.state, list(notes)


def test_two_reviewers_acknowledging_one_item_at_once_note_it_once(office):
    source_id = _flagged_override(office)
    path = f"/reviews/items/override/{source_id}/acknowledge"

    answers = at_once([_send(office, token, path, {}) for token in _reviewers(office, 2)])

    assert sorted(a.status_code for a in answers) == [200, 409]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.mimetype == "application/problem+json"
    assert "acknowledged" in refused.get_json()["detail"]
    assert _thread(office, source_id) == (ReviewState.ACKNOWLEDGED, [ReviewAction.ACKNOWLEDGE])


def test_two_reviewers_reopening_one_item_at_once_note_it_once(office):
    source_id = _flagged_override(office, ReviewAction.ACKNOWLEDGE)
    path = f"/reviews/items/override/{source_id}/reopen"

    answers = at_once(
        [
            _send(office, token, path, {"body": f"Reopened by {n}."})
            for n, token in enumerate(_reviewers(office, 2))
        ]
    )

    assert sorted(a.status_code for a in answers) == [200, 409]
    assert _thread(office, source_id) == (
        ReviewState.OPEN,
        [ReviewAction.ACKNOWLEDGE, ReviewAction.REOPEN],
    )


def test_one_action_sent_twice_at_once_with_its_key_is_taken_once(office):
    source_id = _flagged_override(office)
    path = f"/reviews/items/override/{source_id}/query"
    (token,) = _reviewers(office, 1)
    key = '"query-race-1"'

    answers = at_once(
        [_send(office, token, path, {"body": "Why beyond the cap?"}, key) for _ in range(2)]
    )

    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].get_json() == answers[1].get_json()
    assert sum("Idempotent-Replayed" in a.headers for a in answers) == 1
    assert _thread(office, source_id) == (ReviewState.QUERIED, [ReviewAction.QUERY])


def test_a_sign_off_and_a_reopen_at_once_never_leave_an_open_item_in_a_signed_month(office):
    source_id = _flagged_override(office, ReviewAction.ACKNOWLEDGE)
    signer, reopener = _reviewers(office, 2)

    signed, reopened = at_once(
        [
            _send(office, signer, "/reviews/months/2018-10/sign-off", {"note": ""}),
            _send(office, reopener, f"/reviews/items/override/{source_id}/reopen", {"body": "?"}),
        ]
    )

    assert sorted([signed.status_code, reopened.status_code]) in ([201, 409], [200, 409])
    state, actions = _thread(office, source_id)
    with office.session() as session:
        is_signed = session.get(SignedOffMonth, date(2018, 10, 1)) is not None
    assert is_signed == (signed.status_code == 201)
    if is_signed:
        assert (state, actions) == (ReviewState.ACKNOWLEDGED, [ReviewAction.ACKNOWLEDGE])
        assert "signed off" in reopened.get_json()["detail"]
    else:
        assert (state, actions) == (
            ReviewState.OPEN,
            [ReviewAction.ACKNOWLEDGE, ReviewAction.REOPEN],
        )
        assert "under review" in signed.get_json()["detail"]


def _jobs(office: Office) -> list[Job]:
    with office.session() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def test_a_petroleum_pdf_asked_twice_at_once_with_its_key_is_one_job(office):
    token = _token(office, office.admin)
    key = '"petroleum-pdf-race-1"'

    answers = at_once(
        [_send(office, token, "/reports/petroleum.pdf?start=2018-10-01", {}, key) for _ in range(2)]
    )

    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].get_json() == answers[1].get_json()
    assert sum("Idempotent-Replayed" in a.headers for a in answers) == 1
    [job] = _jobs(office)
    assert (job.kind, job.params) == ("petroleum_pdf", {"start": "2018-10-01", "locale": "en"})
    assert answers[0].get_json()["id"] == job.id


def test_a_petroleum_pdf_asked_four_times_at_once_without_a_key_is_one_job(office):
    token = _token(office, office.admin)

    answers = at_once(
        [_send(office, token, "/reports/petroleum.pdf?start=2018-10-01", {}) for _ in range(4)]
    )

    assert [a.status_code for a in answers] == [202] * 4
    [job] = _jobs(office)
    assert {a.get_json()["id"] for a in answers} == {job.id}
