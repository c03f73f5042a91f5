"""Crossings sent through the API at the same moment, committed for real (`tests.concurrency`,
SQLite and PostgreSQL): two deliveries drawing the same waiver line past its cap cross one
after the other; the first goes through whole, the second is refused whole with its line
named, the cap holds and nobody gets a server error; two works drawing the same lot never take
more than is on site."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from office.audit.models import AuditEvent
from office.repairs.models import WorkStatus
from office.stock.models import StockLot
from office.supplies.models import Delivery, DeliveryStatus
from office.waivers import ledger
from office.waivers.models import DrawdownEntry, WaiverLine
from tests.api.conftest import token_of
from tests.api.test_concurrency import TIMEOUT, send
from tests.concurrency import at_once
from tests.factories import make_steel, make_waiver
from tests.supplies.arrange import approved, line, lots_of, received, work_order

PAIRS = 4


def test_two_crossings_of_the_same_line_at_once_keep_the_cap_one_refused_whole(office):
    token = token_of(office, office.admin)
    pairs = []
    with office.session() as session:
        steel = make_steel(session)
        for n in range(PAIRS):
            capped = make_waiver(session, [(steel, "t", "10", "10")], reference=f"MOU-R-{n}")
            drawn = capped.lines[0]
            pairs.append(
                (
                    drawn.id,
                    [
                        approved(session, [line(steel, "6", drawn), line(steel, "1", drawn)]).id
                        for _ in range(2)
                    ],
                )
            )

    for line_id, deliveries in pairs:
        results = at_once(
            [
                send(
                    office, token, f"/deliveries/{delivery_id}/cross", {"crossed_on": "2018-10-01"}
                )
                for delivery_id in deliveries
            ],
            timeout=TIMEOUT,
        )

        assert sorted(status for status, _body in results) == [200, 409], results
        [refused] = [body for status, body in results if status == 409]
        # Line 1 asks for 6 t where 3 t are left; line 2's 1 t would fit, but nothing is drawn.
        assert [r["line_no"] for r in refused["refusals"]] == [1]
        assert refused["refusals"][0]["message"] == (
            f"Waiver MOU-R-{pairs.index((line_id, deliveries))} line 1 has 3 t left; this "
            "drawdown asks for 6 t."
        )
        with office.session() as session:
            assert session.get(WaiverLine, line_id).used_base == Decimal(7)
            states = [session.get(Delivery, d).status for d in deliveries]
            assert sorted(states) == [DeliveryStatus.APPROVED, DeliveryStatus.CROSSED]

    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(DrawdownEntry)) == 2 * PAIRS
        attempts = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "delivery.crossing_refused")
        )
        assert attempts == PAIRS
        assert ledger.check_usage(session) == [] and ledger.drawn_twice(session) == []
        assert ledger.verify_chain(session)[1] is None


def test_two_works_drawing_the_same_lot_at_once_never_take_more_than_is_on_site(office):
    token = token_of(office, office.admin)
    with office.session() as session:
        steel = make_steel(session)
        cover = make_waiver(session, [(steel, "t", "10", "10")], reference="MOU-W").lines[0]
        (lot,) = lots_of(session, received(session, [line(steel, "5", cover)]))
        orders = [work_order(session, WorkStatus.IN_PROGRESS).id for _ in range(2)]
    used = {"resource": "steel", "quantity": "4", "used_on": "2018-10-10"}

    results = at_once(
        [send(office, token, f"/work-orders/{order}/materials", used) for order in orders],
        timeout=TIMEOUT,
    )

    assert sorted(status for status, _body in results) == [201, 409], results
    [refused] = [body for status, body in results if status == 409]
    assert refused["detail"] == "Materials store has 1 t of Steel; this issue asks for 4 t."
    with office.session() as session:
        kept = session.get(StockLot, lot.id)
        assert (kept.used, kept.remaining) == (Decimal(4), Decimal(1))
