"""The demo office: flagged items in every state of the review, September 2018 signed off, and
a ledger whose chain holds."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from office import demo
from office.auth.models import User
from office.periods.models import SignedOffMonth
from office.reviews import queries
from office.reviews.models import ReviewState
from office.waivers import ledger
from office.waivers.models import DrawdownEntry
from tests.conftest import log_in
from tests.reviews.pages import read


def test_the_demo_has_items_in_every_state_and_a_signed_off_month(client, session):
    assert demo.database_is_empty(session)
    demo.load(session)
    session.commit()

    counts = queries.count_by_state(session, queries.QueueFilters(), today=date.today())
    assert all(counts[state] > 0 for state in ReviewState), counts
    assert list(session.scalars(select(SignedOffMonth.month))) == [date(2018, 9, 1)]
    checked, problem = ledger.verify_chain(session)
    assert problem is None and checked > 0
    assert ledger.check_usage(session) == []
    # The September correction landed in October, linked to the entry it reverses.
    reversals = session.scalars(
        select(DrawdownEntry).where(DrawdownEntry.reverses_id.is_not(None))
    ).all()
    corrected = {session.get(DrawdownEntry, r.reverses_id).occurred_on: r for r in reversals}
    assert corrected[date(2018, 9, 20)].occurred_on == date(2018, 10, 1)

    reviewer = session.scalar(select(User).where(User.email == "reviewer@liaison.example"))
    log_in(client, reviewer)
    for state in ReviewState:
        rows = read(client.get(f"/reviews/queue?state={state.value}")).table("queue")
        assert rows and all(row[3] == state.value for row in rows), state
    months = read(client.get("/reviews/months"))
    september = next(row for row in months.rows if row and row[0] == "2018-09")
    assert september[3].startswith("signed off")
    assert client.get("/reviews/reports/2018-09").status_code == 200
