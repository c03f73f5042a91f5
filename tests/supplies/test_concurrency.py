"""Crossings that share waiver lines, run at the same moment, committed for real on a database
of their own (SQLite and PostgreSQL): each crossing is all or nothing, the caps hold, and two
crossings that take the same lines in opposite order both go through, one after the other."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from office import create_app
from office.audit.models import AuditEvent
from office.auth import services as auth_services
from office.auth.permissions import Role
from office.db import db
from office.fuel import services as fuel
from office.repairs import services as repairs
from office.repairs.models import WorkOrder
from office.stock import services as stock
from office.stock.models import MovementKind, StockLot, StockMovement, Store, StoreKind
from office.supplies import services as supplies
from office.supplies.models import Delivery, DeliveryStatus
from office.waivers import ledger
from office.waivers import services as waivers
from office.waivers.models import DrawdownEntry, WaiverLine, WaiverStatus
from tests.concurrency import at_once, held, in_background, post
from tests.conftest import TEST_SECRET_KEY, log_in
from tests.factories import NOW, make_resource, make_steel
from tests.support import migrated_scratch_engine

PAIRS = 8


def _app(url: str):
    return create_app(
        {"OFFICE_ENV": "development", "SECRET_KEY": TEST_SECRET_KEY, "OFFICE_DATABASE_URL": url},
        TESTING=True,
        WTF_CSRF_ENABLED=False,
    )


def _admin():
    return auth_services.create_user(
        db.session,
        email="admin@test.example",
        display_name="Admin",
        role=Role.ADMIN,
        password="correct horse battery",
        actor=None,
        now=NOW,
    )


def _ministry_approval(session: Session, reference: str = "MOU-CO-2018-001", lines=()):
    """A granted carry-out approval of the ministry with `lines` (none: the suite screens
    under the UN's regime alone, where it changes nothing)."""
    return waivers.create_waiver(
        session,
        reference=reference,
        authority="rok_mou_individual",
        title="Carry-out approval",
        status=WaiverStatus.GRANTED,
        valid_from=date(2018, 1, 1),
        valid_until=date(2018, 12, 31),
        lines=list(lines),
        actor=None,
        now=NOW,
    )


def _arrange(granted_steel: str, granted_copper: str, manifests: list[list[tuple[str, str]]]):
    """A waiver with a steel and a copper line, and approved deliveries of (code, tonnes)."""
    admin = _admin()
    resources = {
        code: waivers.save_resource(
            db.session,
            code=code,
            name_ko=code,
            name_en=code.title(),
            hs_code=hs,
            unit="t",
            barrels_per_tonne=None,
            actor=None,
            now=NOW,
        )
        for code, hs in (("steel", "7216.10"), ("copper", "7403.11"))
    }
    waiver = waivers.create_waiver(
        db.session,
        reference="MOU-2018-0611",
        authority="un_1718_committee",
        title="Concurrency",
        status=WaiverStatus.GRANTED,
        valid_from=date(2018, 1, 1),
        valid_until=date(2018, 12, 31),
        lines=[
            waivers.LineSpec(resources["steel"], "t", granted_steel, granted_steel),
            waivers.LineSpec(resources["copper"], "t", granted_copper, granted_copper),
        ],
        actor=None,
        now=NOW,
    )
    by_code = {line.resource.code: line for line in waiver.lines}
    approval = _ministry_approval(db.session)
    ids = []
    for n, manifest in enumerate(manifests, start=1):
        delivery = supplies.save_delivery(
            db.session,
            reference=f"KLO-C-{n:03d}",
            direction="north",
            planned_on=date(2018, 10, 1),
            approval=approval,
            actor=None,
            now=NOW,
        )
        for code, tonnes in manifest:
            supplies.add_line(
                db.session,
                delivery,
                supplies.LineInput(
                    resource=resources[code],
                    quantity=tonnes,
                    unit="t",
                    purpose="repair",
                    waiver_line=by_code[code],
                ),
                actor=None,
                now=NOW,
            )
        supplies.approve(db.session, delivery, actor=None, now=NOW)
        ids.append(delivery.id)
    db.session.commit()
    return admin, ids


def _cross_all_at_once(app, admin, ids: list[int]) -> list[int]:
    start = threading.Barrier(len(ids))

    def cross(delivery_id: int) -> int:
        client = log_in(app.test_client(), admin)
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        start.wait(timeout=30)
        response = client.post(f"/deliveries/{delivery_id}/cross", data={"on": "2018-10-01"})
        return response.status_code

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        return list(pool.map(cross, ids))


def test_crossings_taking_the_same_lines_in_opposite_order_all_go_through(tmp_path):
    # Each pair: one delivery lists steel then copper, the other copper then steel.
    manifests = [
        [("steel", "1"), ("copper", "1")] if n % 2 else [("copper", "1"), ("steel", "1")]
        for n in range(2 * PAIRS)
    ]
    with migrated_scratch_engine(tmp_path) as engine:
        app = _app(engine.url.render_as_string(hide_password=False))
        with app.app_context():
            admin, ids = _arrange("100", "100", manifests)

        statuses = _cross_all_at_once(app, admin, ids)

        assert statuses == [302] * len(ids)
        with app.app_context():
            used = {
                line.resource.code: line.used_base
                for line in db.session.scalars(select(WaiverLine))
            }
            assert used == {"steel": Decimal(2 * PAIRS), "copper": Decimal(2 * PAIRS)}
            assert ledger.verify_chain(db.session) == (4 * PAIRS, None)
            assert ledger.check_usage(db.session) == []
            db.session.close()
            db.engine.dispose()


def test_crossings_at_once_never_pass_a_cap_and_a_refused_one_leaves_nothing(tmp_path):
    # Ten deliveries of 1 t steel and 1 t copper at lines of 6 t of steel and 4 t of copper:
    # exactly four cross, whole; six are refused, whole.
    manifests = [[("steel", "1"), ("copper", "1")] for _ in range(10)]
    with migrated_scratch_engine(tmp_path) as engine:
        app = _app(engine.url.render_as_string(hide_password=False))
        with app.app_context():
            admin, ids = _arrange("6", "4", manifests)

        statuses = _cross_all_at_once(app, admin, ids)

        assert sorted(statuses) == [302] * 4 + [409] * 6
        with app.app_context():
            used = {
                line.resource.code: line.used_base
                for line in db.session.scalars(select(WaiverLine))
            }
            assert used == {"steel": Decimal(4), "copper": Decimal(4)}
            deliveries = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
            crossed = [d for d in deliveries if d.status is DeliveryStatus.CROSSED]
            assert len(crossed) == 4
            assert all(line.drawdown_entry_id for d in crossed for line in d.lines)
            assert not any(
                line.drawdown_entry_id for d in deliveries if d not in crossed for line in d.lines
            )
            assert ledger.verify_chain(db.session) == (8, None)
            assert ledger.check_usage(db.session) == []
            db.session.close()
            db.engine.dispose()


def _arrange_returns(orders: list[list[str]]):
    """Diesel in a tank and steel in the materials store (opening stock), and approved
    south-bound deliveries taking 1 (litre or tonne) of each back, in the order given."""
    admin = _admin()
    diesel = waivers.save_resource(
        db.session,
        code="diesel",
        name_ko="경유",
        name_en="Diesel",
        hs_code="2710.19",
        unit="L",
        barrels_per_tonne="7.23",
        actor=None,
        now=NOW,
    )
    steel = waivers.save_resource(
        db.session,
        code="steel",
        name_ko="강철",
        name_en="Steel",
        hs_code="7216.10",
        unit="t",
        barrels_per_tonne=None,
        actor=None,
        now=NOW,
    )
    fuel.create_tank(
        db.session,
        name="Boiler tank",
        product=diesel,
        capacity="10000",
        tolerance=None,
        location="",
        opening="5000",
        opened_on=date(2018, 6, 1),
        actor=None,
        now=NOW,
    )
    stock.create_store(
        db.session,
        name=supplies.MATERIALS_STORE,
        kind=StoreKind.WAREHOUSE,
        resource=steel,
        opening="100",
        opened_on=date(2018, 6, 1),
        actor=None,
        now=NOW,
    )
    lots = {lot.resource.code: lot for lot in db.session.scalars(select(StockLot))}
    ids = []
    for n, order in enumerate(orders, start=1):
        delivery = supplies.save_delivery(
            db.session,
            reference=f"KLO-S-{n:03d}",
            direction="south",
            planned_on=date(2018, 10, 1),
            approval_number=f"MOU-CI-S-{n}",
            actor=None,
            now=NOW,
        )
        for code in order:
            supplies.add_return_line(db.session, delivery, lots[code], "1", actor=None, now=NOW)
        supplies.approve(db.session, delivery, actor=None, now=NOW)
        ids.append(delivery.id)
    db.session.commit()
    return admin, ids


def test_returns_taking_lots_of_two_stores_in_opposite_order_all_go_through(tmp_path):
    orders = [["diesel", "steel"] if n % 2 else ["steel", "diesel"] for n in range(2 * PAIRS)]
    with migrated_scratch_engine(tmp_path) as engine:
        app = _app(engine.url.render_as_string(hide_password=False))
        with app.app_context():
            admin, ids = _arrange_returns(orders)

        statuses = _cross_all_at_once(app, admin, ids)

        assert statuses == [302] * len(ids)
        with app.app_context():
            lots = {lot.resource.code: lot for lot in db.session.scalars(select(StockLot))}
            back = 2 * PAIRS
            assert (lots["diesel"].returned, lots["diesel"].remaining) == (back, 5000 - back)
            assert (lots["steel"].returned, lots["steel"].remaining) == (back, 100 - back)
            db.session.close()
            db.engine.dispose()


# --- one delivery, many hands -------------------------------------------------------------


def _approved_delivery(office, *, approve: bool = True) -> tuple[int, int]:
    """An approved north-bound delivery of 1 t of steel and 500 L of diesel; return its id
    and the steel line's waiver line."""
    with office.session() as session:
        steel = make_steel(session)
        waiver = waivers.create_waiver(
            session,
            reference="MOU-2018-0700",
            authority="un_1718_committee",
            title="Repairs",
            status=WaiverStatus.GRANTED,
            valid_from=date(2018, 1, 1),
            valid_until=date(2018, 12, 31),
            lines=[waivers.LineSpec(steel, "t", "100", "100")],
            actor=None,
            now=NOW,
        )
        delivery = supplies.save_delivery(
            session,
            reference="KLO-2018-0700",
            direction="north",
            planned_on=date(2018, 10, 1),
            approval=_ministry_approval(session),
            actor=None,
            now=NOW,
        )
        supplies.add_line(
            session,
            delivery,
            supplies.LineInput(
                resource=steel,
                quantity="1",
                unit="t",
                purpose="repair",
                waiver_line=waiver.lines[0],
            ),
            actor=None,
            now=NOW,
        )
        if approve:
            supplies.approve(session, delivery, actor=None, now=NOW)
        session.commit()
        return delivery.id, waiver.lines[0].id


def test_one_delivery_approved_ten_times_at_once_is_approved_once(office):
    delivery_id, _line = _approved_delivery(office, approve=False)

    statuses = at_once(
        [
            post(
                office,
                office.admin,
                f"/deliveries/{delivery_id}/approve",
                data={"on": "2018-10-01"},
            )
            for _ in range(10)
        ]
    )

    assert 500 not in statuses, statuses
    with office.session() as session:
        assert session.get(Delivery, delivery_id).status is DeliveryStatus.APPROVED
        approvals = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "delivery.approved")
        ).all()
        assert len(approvals) == 1


def test_one_delivery_crossed_ten_times_at_once_is_drawn_once(office):
    delivery_id, line_id = _approved_delivery(office)

    statuses = at_once(
        [
            post(
                office, office.admin, f"/deliveries/{delivery_id}/cross", data={"on": "2018-10-01"}
            )
            for _ in range(10)
        ]
    )

    assert 500 not in statuses, statuses
    with office.session() as session:
        assert session.get(Delivery, delivery_id).status is DeliveryStatus.CROSSED
        assert session.scalar(select(func.count()).select_from(DrawdownEntry)) == 1
        assert session.get(WaiverLine, line_id).used_base == Decimal(1)  # not 10 t
        assert ledger.drawn_twice(session) == [] and ledger.check_usage(session) == []


def test_one_delivery_received_ten_times_at_once_lands_one_lot_per_line(office):
    delivery_id, _line = _approved_delivery(office)
    with office.session() as session:
        supplies.cross(
            session,
            session.get(Delivery, delivery_id),
            crossed_on=date(2018, 10, 1),
            actor=None,
            now=NOW,
        )
        session.commit()

    statuses = at_once(
        [
            post(
                office,
                office.admin,
                f"/deliveries/{delivery_id}/receive",
                data={"on": "2018-10-02"},
            )
            for _ in range(10)
        ]
    )

    assert 500 not in statuses, statuses
    with office.session() as session:
        assert session.get(Delivery, delivery_id).status is DeliveryStatus.RECEIVED
        lots = session.scalars(select(StockLot)).all()
        assert [lot.quantity for lot in lots] == [Decimal(1)]  # not ten lots


def test_work_orders_drawing_from_one_store_at_once_never_take_more_than_it_holds(office):
    with office.session() as session:
        steel = make_steel(session)
        stock.create_store(
            session,
            name=supplies.MATERIALS_STORE,
            kind=StoreKind.WAREHOUSE,
            resource=steel,
            opening="10",
            opened_on=date(2018, 6, 1),
            actor=None,
            now=NOW,
        )
        orders = []
        for n in range(4):
            order = repairs.save_work_order(
                session,
                number=f"WO-{n}",
                area="floor_1",
                room="",
                description="Roof",
                contractor="",
                budget_krw="0",
                funding_decision="",
                planned_start=date(2018, 10, 1),
                planned_end=date(2018, 10, 31),
                actor=None,
                now=NOW,
            )
            repairs.change_status(
                session, order, "approved", on=date(2018, 10, 1), actor=None, now=NOW
            )
            orders.append(order.id)
        session.commit()
        steel_id = steel.id

    calls = [
        post(
            office,
            office.admin,
            f"/repairs/{order}/materials",
            data={"resource": str(steel_id), "quantity": "3", "unit": "t", "used_on": "2018-10-02"},
        )
        for order in orders
        for _ in range(2)
    ]
    statuses = at_once(calls)

    assert 500 not in statuses, statuses
    with office.session() as session:
        lot = session.scalar(select(StockLot))
        issued = session.scalar(
            select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
                StockMovement.kind == MovementKind.ISSUE
            )
        )
        assert issued == Decimal(9)  # three of 3 t from 10 t; the other five refused
        assert lot.remaining == Decimal(1) and lot.used == Decimal(9)


# --- receipts into the tanks chosen -------------------------------------------------------


def _crossed_diesel(office, litres: list[str]) -> tuple[dict[str, int], list[tuple[int, int]]]:
    """Two empty 10,000 L diesel tanks and crossed deliveries of one diesel line each; return
    the tanks' ids by name and each delivery's (id, line id)."""
    with office.session() as session:
        diesel = make_resource(session)
        tanks = {
            name: fuel.create_tank(
                session,
                name=name,
                product=diesel,
                capacity="10000",
                tolerance=None,
                location="",
                opening=None,
                opened_on=date(2018, 6, 1),
                actor=None,
                now=NOW,
            ).id
            for name in ("Boiler tank", "Generator tank")
        }
        waiver = waivers.create_waiver(
            session,
            reference="MOU-2018-0900",
            authority="un_1718_committee",
            title="Fuel",
            status=WaiverStatus.GRANTED,
            valid_from=date(2018, 1, 1),
            valid_until=date(2018, 12, 31),
            lines=[waivers.LineSpec(diesel, "L", "100000", "100000")],
            actor=None,
            now=NOW,
        )
        approval = _ministry_approval(session)
        deliveries = []
        for n, quantity in enumerate(litres, start=1):
            delivery = supplies.save_delivery(
                session,
                reference=f"KLO-F-{n:03d}",
                direction="north",
                planned_on=date(2018, 10, 1),
                approval=approval,
                actor=None,
                now=NOW,
            )
            item = supplies.add_line(
                session,
                delivery,
                supplies.LineInput(
                    resource=diesel,
                    quantity=quantity,
                    unit="L",
                    purpose="fuel",
                    waiver_line=waiver.lines[0],
                ),
                actor=None,
                now=NOW,
            )
            supplies.approve(session, delivery, actor=None, now=NOW)
            supplies.cross(session, delivery, crossed_on=date(2018, 10, 1), actor=None, now=NOW)
            deliveries.append((delivery.id, item.id))
        session.commit()
    return tanks, deliveries


def test_receipts_into_one_chosen_tank_at_once_never_overfill_it(office):
    """Four deliveries of 3,000 L, each received into the generator tank (10,000 L) at the
    same moment: three land there, whole; the fourth is refused, whole, and stays crossed."""
    tanks, deliveries = _crossed_diesel(office, ["3000"] * 4)
    chosen = tanks["Generator tank"]

    statuses = at_once(
        [
            post(
                office,
                office.admin,
                f"/deliveries/{delivery_id}/receive",
                data={"on": "2018-10-02", f"store_{line_id}": str(chosen)},
            )
            for delivery_id, line_id in deliveries
        ]
    )

    assert sorted(statuses) == [302, 302, 302, 422], statuses
    with office.session() as session:
        lots = session.scalars(select(StockLot)).all()
        assert [lot.store_id for lot in lots] == [chosen] * 3  # where chosen, not the first tank
        assert stock.book_stock(session, session.get(Store, chosen)) == Decimal(9000)
        states = sorted(session.get(Delivery, d).status.value for d, _line in deliveries)
        assert states == ["crossed", "received", "received", "received"]


def test_a_receipt_into_a_tank_retired_meanwhile_is_refused_and_lands_nowhere(office):
    """The receipt chose the boiler tank on a page shown before another administrator took
    it out of use; it waits for that change, then is refused rather than fill a retired tank."""
    tanks, [(delivery_id, line_id)] = _crossed_diesel(office, ["3000"])
    boiler = tanks["Boiler tank"]
    receipt = post(
        office,
        office.admin,
        f"/deliveries/{delivery_id}/receive",
        data={"on": "2018-10-02", f"store_{line_id}": str(boiler)},
    )

    def retire(session: Session) -> None:
        # As a retirement would: under the tank's lock (no service retires a tank yet).
        tank = stock.lock_store(session, session.get(Store, boiler))
        tank.is_active = False

    with held(office, retire):
        thread, answered = in_background(receipt)
        thread.join(timeout=1)
        assert answered == [], "the receipt did not wait for the tank's change in flight"
    thread.join(timeout=30)

    assert answered == [422], answered
    with office.session() as session:
        assert session.scalar(select(func.count()).select_from(StockLot)) == 0
        assert session.get(Delivery, delivery_id).status is DeliveryStatus.CROSSED


# --- numbers offered to two people at once ------------------------------------------------


def test_two_deliveries_saved_at_once_with_the_number_both_were_offered_make_one(office):
    """Both forms offered KLO-D-2018-01: one is saved under it; the other is refused with the
    next free number named, whichever the database or the service saw first."""
    form = {
        "reference": "KLO-D-2018-01",
        "direction": "north",
        "planned_on": "2018-10-01",
    }
    clients = [office.client(office.admin) for _ in range(2)]
    start = threading.Barrier(2)

    def create(client) -> tuple[int, str]:
        start.wait(timeout=30)
        response = client.post("/deliveries/new", data=form)
        return response.status_code, response.get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(create, clients))

    assert sorted(status for status, _page in answers) == [302, 422], answers
    refused = next(page for status, page in answers if status == 422)
    assert (
        "A delivery KLO-D-2018-01 already exists; the next free number is KLO-D-2018-02." in refused
    )
    with office.session() as session:
        assert session.scalars(select(Delivery.reference)).all() == ["KLO-D-2018-01"]


def test_two_work_orders_saved_at_once_with_the_number_both_were_offered_make_one(office):
    form = {
        "number": "KLO-W-2018-01",
        "area": "floor_2",
        "description": "Replace the heating pipes",
        "budget_krw": "1000000",
        "planned_start": "2018-08-01",
        "planned_end": "2018-09-30",
    }

    statuses = at_once([post(office, office.admin, "/repairs/new", data=form) for _ in range(2)])

    assert sorted(statuses) == [302, 422], statuses
    with office.session() as session:
        assert session.scalars(select(WorkOrder.number)).all() == ["KLO-W-2018-01"]
