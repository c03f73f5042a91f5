"""An item's page: words that agree with the item's classification, who recorded the flagged
record, the waiver line it draws on with its cap and what is left, and steps to the items
before and after it in the queue the reviewer came from."""

from __future__ import annotations

from urllib.parse import quote

from office.fuel import services as fuel
from office.reviews.models import ItemKind, ReviewAction
from office.waivers.models import Classification, WaiverStatus
from tests.conftest import log_in
from tests.factories import NOW, make_waiver
from tests.reviews.arrange import OCT, act, tank
from tests.reviews.pages import read

K = ItemKind


def item_url(kind: ItemKind, source_id: int, queue: str | None = None) -> str:
    url = f"/reviews/items/{kind.value}/{source_id}"
    return f"{url}?queue={quote(queue, safe='')}" if queue else url


# --- one wording ----------------------------------------------------------------------------


def test_a_use_after_a_granted_waivers_validity_says_outside_validity_in_title_and_detail(
    client, session, reviewer, admin, diesel
):
    """The waiver is still granted (nobody marked it expired), but its validity ended on
    5 October: fuel used on the 6th is outside validity, and the detail says why in those
    terms, not that 'the waiver was granted that day'."""
    line = make_waiver(
        session, [(diesel, "L", "5000", "5000")], reference="MOU-VALID-1", valid_until=OCT(5)
    ).lines[0]
    store = tank(session, diesel)
    fuel.receive_fuel(
        session,
        store,
        quantity="1000",
        unit="L",
        received_on=OCT(1),
        waiver_line=line,
        parties="Tanker",
        actor=None,
        now=NOW,
    )
    session.commit()
    movement = fuel.issue_fuel(
        session, store, quantity="200", issued_on=OCT(6), use="boiler", actor=admin, now=NOW
    )
    session.commit()
    (used,) = movement.draws
    assert used.flagged and used.classification is Classification.OUTSIDE_VALIDITY
    assert used.waiver_status is WaiverStatus.GRANTED
    log_in(client, reviewer)

    page = read(client.get(item_url(K.FLAGGED_USE, used.id)))

    why = f"{store.name}, for boiler: 2018-10-06 is outside the validity of waiver MOU-VALID-1, "
    assert f"used from lot #{used.lot_id}, outside validity" in page.text
    assert why + "2018-01-01 to 2018-10-05" in page.text
    assert "granted" not in page.text.split("Details", 1)[1].split("Record", 1)[0]
    queue = read(client.get("/reviews/queue"))
    assert why + "2018-01-01 to 2018-10-05" in queue.text
    # Who recorded the use, and the line it drew on: 200 L of 5,000 L used.
    assert page.testids["recorded-by"] == "Admin Kim · 2018-12-31 12:00"
    assert page.testids["waiver-line"] == (
        "MOU-VALID-1 · line 1 · cap 5,000 L · used 1,000 L · 4,000 L left"
    )


def test_a_use_after_its_waiver_was_revoked_says_so_with_the_day(client, reviewer, flagged):
    page = read(log_in(client, reviewer).get(item_url(K.FLAGGED_USE, flagged.use.flagged.id)))

    reference = flagged.use.line.waiver.reference
    assert f"for boiler: waiver {reference} was revoked on 2018-10-06" in page.text
    assert "that day" not in page.text


# --- the waiver line and who recorded the item ----------------------------------------------


def test_an_override_shows_who_recorded_it_and_how_far_over_the_cap_its_line_is(
    client, reviewer, flagged
):
    page = read(log_in(client, reviewer).get(item_url(K.OVERRIDE, flagged.override.id)))

    assert page.testids["recorded-by"] == "Admin Kim · 2018-12-31 12:00"
    # 1,000 L granted; 400 L drawn while covered, then 1,100 L recorded anyway.
    assert page.testids["waiver-line"] == (
        "MOU-R-MAIN · line 1 · cap 1,000 L · used 1,500 L · 500 L over the cap"
    )
    waiver = flagged.main_line.waiver_id
    assert (f"/waivers/{waiver}", "MOU-R-MAIN") in page.links


def test_an_overdue_return_shows_its_lines_cap_and_what_is_left(client, reviewer, flagged):
    page = read(log_in(client, reviewer).get(item_url(K.OVERDUE_RETURN, flagged.overdue.id)))

    # Two lots of 2 welders came north on the line of 10.
    assert page.testids["waiver-line"] == (
        "MOU-R-WELD · line 1 · cap 10 piece · used 4 piece · 6 piece left"
    )
    # Received by no one logged in (the delivery's services were called directly).
    assert page.testids["recorded-by"] == "not known · 2018-12-31 12:00"


def test_an_item_without_a_waiver_line_shows_none(client, reviewer, flagged):
    page = read(log_in(client, reviewer).get(item_url(K.DIP_VARIANCE, flagged.dip.id)))

    assert "waiver-line" not in page.testids
    assert "recorded-by" in page.testids


# --- stepping through the queue -------------------------------------------------------------


def steps(page) -> tuple[str | None, str | None]:
    """Where the page's previous and next links lead."""
    links = dict((text.split(" ", 1)[0], href) for href, text in page.links)
    return links.get("←"), links.get("Next")


def test_an_item_links_to_the_items_before_and_after_it_in_the_queue(client, reviewer, flagged):
    log_in(client, reviewer)
    # Newest first: overdue (20th), meter (12th), dip (8th), use (6th), override (3rd).

    dip = read(client.get(item_url(K.DIP_VARIANCE, flagged.dip.id)))
    newest = read(client.get(item_url(K.OVERDUE_RETURN, flagged.overdue.id)))
    oldest = read(client.get(item_url(K.OVERRIDE, flagged.override.id)))

    assert steps(dip) == (
        item_url(K.METER_ANOMALY, flagged.reading.id),
        item_url(K.FLAGGED_USE, flagged.use.flagged.id),
    )
    assert "2018-10-12 · meter anomaly" in dip.testids["previous-item"]
    assert "2018-10-06 · use no longer covered" in dip.testids["next-item"]
    assert steps(newest)[0] is None and "No item before this one" in newest.text
    assert steps(oldest)[1] is None and "No item after this one" in oldest.text


def test_steps_follow_the_filters_of_the_queue_the_item_was_opened_from(
    client, session, reviewer, flagged
):
    act(session, K.METER_ANOMALY, flagged.reading.id, ReviewAction.ACKNOWLEDGE, reviewer)
    log_in(client, reviewer)

    # The default queue awaits review: the acknowledged meter anomaly is not in it.
    awaiting = read(client.get(item_url(K.DIP_VARIANCE, flagged.dip.id)))
    assert steps(awaiting)[0] == item_url(K.OVERDUE_RETURN, flagged.overdue.id)

    # Opened from the queue of every state, the item steps to the meter anomaly.
    queue = read(client.get("/reviews/queue?state=all&kind="))
    opened = next(
        href
        for href, _text in queue.links
        if href.startswith(item_url(K.DIP_VARIANCE, flagged.dip.id))
    )
    assert opened == item_url(K.DIP_VARIANCE, flagged.dip.id, "state=all")
    page = read(client.get(opened))
    assert steps(page) == (
        item_url(K.METER_ANOMALY, flagged.reading.id, "state=all"),
        item_url(K.FLAGGED_USE, flagged.use.flagged.id, "state=all"),
    )
    assert ("/reviews/queue?state=all", "↑ Review queue") in page.links


def test_an_item_acknowledged_from_a_filtered_queue_comes_back_with_its_steps(
    client, reviewer, flagged
):
    log_in(client, reviewer)
    opened = item_url(K.DIP_VARIANCE, flagged.dip.id, "state=open&month=2018-10")
    page = read(client.get(opened))
    (acknowledge,) = [action for action, text in page.buttons if text == "Acknowledge"]

    response = client.post(acknowledge, data={"body": ""})

    assert response.status_code == 302
    assert response.location == opened
    page = read(client.get(response.location))
    assert ("success", "Acknowledged.") in page.flashes
    # No longer open itself, the item still steps to its neighbours among the open ones.
    assert steps(page) == (
        item_url(K.METER_ANOMALY, flagged.reading.id, "state=open&month=2018-10"),
        item_url(K.FLAGGED_USE, flagged.use.flagged.id, "state=open&month=2018-10"),
    )


def test_a_queue_argument_that_is_not_one_is_ignored(client, reviewer, flagged):
    log_in(client, reviewer)

    for junk in ("%%%", "kind=nonsense&state=&month=2018-99&waiver=x", "x" * 500):
        response = client.get(item_url(K.DIP_VARIANCE, flagged.dip.id, junk))
        assert response.status_code == 200, junk
