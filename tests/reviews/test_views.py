"""Reviewers see every operational record but change none; from a flagged item they reach the
record where it was made."""

from __future__ import annotations

from sqlalchemy import func, select

from office.fuel.models import DailyLog, DipReading
from office.stock.models import StockMovement
from office.supplies.models import Delivery
from office.waivers.models import DrawdownEntry
from tests.conftest import log_in
from tests.reviews.pages import read


def counts(session) -> list[int]:
    return [
        session.scalar(select(func.count()).select_from(model))
        for model in (DrawdownEntry, StockMovement, DipReading, DailyLog, Delivery)
    ]


def test_a_reviewer_changes_no_operational_record(client, session, reviewer, flagged, diesel):
    before = counts(session)
    movement = flagged.use.flagged.movement_id
    tank = flagged.use.tank.id
    posts = {
        "/ledger/new": {
            "resource": str(diesel.id),
            "quantity": "10",
            "unit": "L",
            "occurred_on": "2018-11-05",
            "purpose": "operation",
            "action": "record",
        },
        f"/ledger/{flagged.covered_entry.id}/reversal": {"reason": "Wrong"},
        "/operations/days/2018-11-05/receipts": {
            "receipt-tank": str(tank),
            "receipt-quantity": "100",
            "receipt-unit": "L",
        },
        "/operations/days/2018-11-05/dips": {"dip-tank": str(tank), "dip-measured": "100"},
        f"/operations/movements/{movement}/void": {"reason": "Wrong"},
        "/operations/days/2018-11-05/notes": {"notes-notes": "A reviewer's note"},
        "/deliveries/new": {"reference": "KLO-REVIEWER", "direction": "north"},
    }
    log_in(client, reviewer)
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 403, url
    assert counts(session) == before


def test_a_flagged_item_links_to_where_it_was_recorded(client, reviewer, flagged):
    log_in(client, reviewer)
    expected = {
        f"/reviews/items/override/{flagged.override.id}": f"/ledger/{flagged.override.id}",
        f"/reviews/items/flagged_use/{flagged.use.flagged.id}": (
            f"/operations/tanks/{flagged.use.tank.id}"
        ),
        f"/reviews/items/dip_variance/{flagged.dip.id}": (
            f"/operations/tanks/{flagged.dip.store_id}"
        ),
        f"/reviews/items/meter_anomaly/{flagged.reading.id}": "/operations/equipment",
        f"/reviews/items/overdue_return/{flagged.overdue.id}": (
            f"/deliveries/stock?resource={flagged.overdue.resource_id}"
        ),
    }
    for item, record in expected.items():
        page = read(client.get(item))
        assert (record, "Open where it was recorded") in page.links, item
        assert client.get(record).status_code == 200, record


def test_the_review_pages_link_to_each_other(client, reviewer, admin):
    log_in(client, reviewer)
    links = read(client.get("/reviews/")).links
    for href in ("/reviews/", "/reviews/queue", "/reviews/months", "/audit/"):
        assert href in [h for h, _text in links], href
    # The office administrator is not shown a link it may not follow.
    links = read(log_in(client, admin).get("/reviews/")).links
    assert "/audit/" not in [h for h, _text in links]
