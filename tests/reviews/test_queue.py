"""The review queue: every feature's flagged records in one list, and nothing unflagged;
its filters; keyset paging that neither repeats nor skips a row; overdue returns that leave
the list once carried back, unless a reviewer took them up."""

from __future__ import annotations

import re
from datetime import date

import pytest

from office.errors import NotFoundError
from office.fuel import services as fuel
from office.reviews import queries
from office.reviews.models import ItemKind, ReviewAction, ReviewState
from office.waivers.models import WaiverStatus
from tests.conftest import log_in
from tests.factories import NOW, draw
from tests.reviews.arrange import (
    BAD_FILTERS,
    OCT,
    TODAY,
    acknowledge_all,
    act,
    capped_line,
    carry_back,
    dip_variance,
    flagged_use,
    meter_anomaly,
    must_return_lot,
    override,
)
from tests.reviews.pages import read

K = ItemKind


def listed(session, today: date = TODAY, **filters) -> list[tuple[ItemKind, int]]:
    rows, _cursor = queries.queue_page(
        session, queries.QueueFilters(**filters), today=today, size=1000
    )
    return [(row.kind, row.source_id) for row in rows]


def item_links(response) -> list[tuple[str, int]]:
    """The items a queue page lists, in page order, as (kind, source id)."""
    return [
        (kind, int(source_id))
        for kind, source_id in re.findall(
            r'href="/reviews/items/(\w+)/(\d+)(?:\?queue=[^"]*)?"', response.get_data(as_text=True)
        )
    ]


# --- what is listed -----------------------------------------------------------------------


def test_the_queue_holds_one_record_of_each_kind_flagged_and_none_unflagged(session, flagged):
    assert set(listed(session)) == flagged.keys()
    assert len(listed(session)) == 5
    for kind, unflagged in (
        (K.OVERRIDE, flagged.covered_entry.id),
        (K.FLAGGED_USE, flagged.use.covered.id),
        (K.DIP_VARIANCE, flagged.dip_within.id),
        (K.METER_ANOMALY, flagged.normal_reading.id),
        (K.OVERDUE_RETURN, flagged.not_due.id),
    ):
        assert queries.find_record(session, kind, unflagged, today=TODAY) is None


def test_the_queue_page_says_what_each_flagged_record_is(client, reviewer, flagged):
    page = read(log_in(client, reviewer).get("/reviews/queue"))
    rows = page.table("queue")
    assert len(rows) == 5
    # Newest first: the overdue lot (due 20 October) down to the override (3 October).
    assert [row[0] for row in rows] == [
        "2018-10-20",
        "2018-10-12",
        "2018-10-08",
        "2018-10-06",
        "2018-10-03",
    ]
    assert [row[1] for row in rows] == [
        "overdue return",
        "meter anomaly",
        "dip variance",
        "use no longer covered",
        "drawdown recorded anyway",
    ]
    assert all(row[3] == "open" for row in rows)
    text = page.text
    assert "Recorded anyway: The boilers could not wait for the new waiver." in text
    assert "measured 4,700 L against 5,000 L on the books" in text
    assert "Variance -300 L" in text
    assert f"Lot #{flagged.overdue.id}, Welder: due back south by 2018-10-20" in text
    assert "2 pieces still on site" in text
    assert flagged.reading.flag_message in text
    assert (
        f"for boiler: waiver {flagged.use.line.waiver.reference} was revoked on 2018-10-06" in text
    )
    assert page.testids["state-counts"] == (
        "open 5 queried 0 answered 0 escalated 0 acknowledged 0"
    )


@pytest.mark.parametrize("status", [WaiverStatus.EXPIRED, WaiverStatus.REVOKED])
def test_fuel_used_after_its_waiver_lapsed_is_flagged_for_review(session, diesel, status):
    uses = flagged_use(session, diesel, status=status)
    assert listed(session, kind=K.FLAGGED_USE) == [(K.FLAGGED_USE, uses.flagged.id)]
    row = queries.find_record(session, K.FLAGGED_USE, uses.flagged.id, today=TODAY)
    assert (row.occurred_on, row.waiver_id) == (OCT(6), uses.line.waiver_id)


def test_a_voided_issue_leaves_the_queue(session, diesel):
    uses = flagged_use(session, diesel)
    fuel.void_movement(session, uses.flagged.movement, reason="Entered twice", actor=None, now=NOW)
    session.commit()
    assert listed(session) == []


def test_an_equipment_lot_is_listed_only_once_its_return_date_has_passed(session, flagged):
    due = (K.OVERDUE_RETURN, flagged.overdue.id)
    assert due not in listed(session, today=date(2018, 10, 20))  # due back that day
    assert due in listed(session, today=date(2018, 10, 21))


# --- overdue returns carried back ---------------------------------------------------------


def test_a_returned_overdue_lot_leaves_the_queue_unless_a_reviewer_took_it_up(
    client, session, reviewer, flagged
):
    taken_up = must_return_lot(session, flagged.welder_line, due=OCT(20))
    act(session, K.OVERDUE_RETURN, taken_up.id, ReviewAction.QUERY, reviewer, "When back?")
    carry_back(session, flagged.overdue, OCT(25))
    carry_back(session, taken_up, OCT(25))

    overdue = listed(session, kind=K.OVERDUE_RETURN)
    assert overdue == [(K.OVERDUE_RETURN, taken_up.id)]
    assert queries.find_record(session, K.OVERDUE_RETURN, flagged.overdue.id, today=TODAY) is None
    with pytest.raises(
        NotFoundError, match=f"No flagged item overdue return #{flagged.overdue.id}"
    ):
        act(session, K.OVERDUE_RETURN, flagged.overdue.id, ReviewAction.ACKNOWLEDGE, reviewer)
    # The one taken up can still be closed.
    act(session, K.OVERDUE_RETURN, taken_up.id, ReviewAction.ACKNOWLEDGE, reviewer)
    assert listed(session, kind=K.OVERDUE_RETURN, state=ReviewState.ACKNOWLEDGED) == overdue

    log_in(client, reviewer)
    assert client.get(f"/reviews/items/overdue_return/{flagged.overdue.id}").status_code == 404
    assert client.get(f"/reviews/items/overdue_return/{taken_up.id}").status_code == 200


# --- filters ------------------------------------------------------------------------------


def test_the_kind_filter_shows_that_kind_only(client, reviewer, flagged):
    log_in(client, reviewer)
    for kind in ItemKind:
        response = client.get(f"/reviews/queue?kind={kind.value}")
        assert item_links(response) == [(kind.value, flagged.source(kind))]


def test_the_state_filter_awaiting_by_default_then_each_state(client, session, reviewer, flagged):
    act(session, K.DIP_VARIANCE, flagged.dip.id, ReviewAction.QUERY, reviewer, "Where did it go?")
    act(session, K.OVERRIDE, flagged.override.id, ReviewAction.ACKNOWLEDGE, reviewer)
    log_in(client, reviewer)

    awaiting = item_links(client.get("/reviews/queue"))
    assert len(awaiting) == 4 and ("override", flagged.override.id) not in awaiting
    assert item_links(client.get("/reviews/queue?state=awaiting")) == awaiting
    assert item_links(client.get("/reviews/queue?state=queried")) == [
        ("dip_variance", flagged.dip.id)
    ]
    assert item_links(client.get("/reviews/queue?state=acknowledged")) == [
        ("override", flagged.override.id)
    ]
    assert len(item_links(client.get("/reviews/queue?state=open"))) == 3
    assert item_links(client.get("/reviews/queue?state=answered")) == []
    assert len(item_links(client.get("/reviews/queue?state=all"))) == 5

    page = read(client.get("/reviews/queue?state=all"))
    assert page.testids["state-counts"] == (
        "open 3 queried 1 answered 0 escalated 0 acknowledged 1"
    )


def test_the_month_filter(client, session, admin, reviewer, flagged):
    september = override(session, admin, flagged.main_line, on=date(2018, 9, 14), quantity="5")
    log_in(client, reviewer)
    assert item_links(client.get("/reviews/queue?month=2018-09")) == [("override", september.id)]
    assert len(item_links(client.get("/reviews/queue?month=2018-10"))) == 5
    assert item_links(client.get("/reviews/queue?month=2018-11")) == []
    page = read(client.get("/reviews/queue?month=2018-11"))
    assert "Nothing here: no flagged item matches." in page.text


def test_the_waiver_filter(client, session, reviewer, flagged):
    log_in(client, reviewer)
    main = flagged.main_line.waiver_id
    assert item_links(client.get(f"/reviews/queue?waiver={main}")) == [
        ("override", flagged.override.id)
    ]
    assert item_links(client.get(f"/reviews/queue?waiver={flagged.welder_line.waiver_id}")) == [
        ("overdue_return", flagged.overdue.id)
    ]
    assert item_links(client.get(f"/reviews/queue?waiver={flagged.use.line.waiver_id}")) == [
        ("flagged_use", flagged.use.flagged.id)
    ]
    page = read(client.get(f"/reviews/queue?waiver={main}&kind=dip_variance"))
    assert page.table("queue") == [["Nothing here: no flagged item matches."]]


# --- paging -------------------------------------------------------------------------------


def test_keyset_pages_cover_every_row_once_even_when_days_tie(session, admin, diesel):
    line = capped_line(session, diesel, "10", reference="MOU-R-PAGE")
    days = [OCT(3), OCT(8), OCT(12)]
    for n in range(9):
        draw(session, diesel, "20", line=line, on=days[n % 3], actor=admin, override="Urgent")
    for day in days:  # a dip variance and a meter anomaly on the same days as overrides
        dip_variance(session, diesel, on=day)
        meter_anomaly(session, spike_on=day)

    everything = listed(session)
    assert len(everything) == 15
    for size in (1, 2, 4, 7):
        seen, after = [], None
        while True:
            rows, cursor = queries.queue_page(
                session, queries.QueueFilters(), today=TODAY, after=after, size=size
            )
            assert len(rows) <= size
            seen += [(row.kind, row.source_id) for row in rows]
            if cursor is None:
                break
            after = queries.decode_cursor(cursor)
        assert seen == everything, size


def test_the_older_link_pages_through_the_queue(client, session, admin, reviewer, diesel):
    line = capped_line(session, diesel, "10", reference="MOU-R-MANY")
    for n in range(53):
        draw(session, diesel, "20", line=line, on=OCT(1 + n % 20), actor=admin, override="Urgent")
    log_in(client, reviewer)

    first = client.get("/reviews/queue?kind=override")
    page = read(first)
    assert len(item_links(first)) == 50
    (older,) = [href for href, text in page.links if text.startswith("Older items")]
    assert "kind=override" in older
    second = client.get(older.replace("&amp;", "&"))
    assert len(item_links(second)) == 3
    assert not [text for _href, text in read(second).links if text.startswith("Older items")]
    ids = [source_id for _kind, source_id in item_links(first) + item_links(second)]
    assert len(set(ids)) == 53


# --- filters it cannot take ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "message"), BAD_FILTERS)
def test_a_filter_the_queue_cannot_take_is_left_out_and_said_so(
    client, reviewer, session, flagged, name, value, message
):
    log_in(client, reviewer)
    acknowledge_all(session, reviewer)
    response = client.get("/reviews/queue", query_string={name: value})

    assert response.status_code == 422
    page = read(response)
    assert [(category, text[: len(message)]) for category, text in page.flashes] == [
        ("error", message)
    ]
    # The queue as it is without that filter: what awaits review (nothing, here), not every
    # state nor a guess at what was meant.
    assert item_links(response) == []
    unfiltered = client.get("/reviews/queue", query_string={name: value, "state": "all"})
    if name != "state":
        assert sorted(item_links(unfiltered)) == sorted(flagged.keys())
