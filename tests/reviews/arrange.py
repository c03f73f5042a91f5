"""Flagged records of every feature, made through each feature's own services, and the unflagged
records beside them that the review must leave out."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth.models import User
from office.fuel import services as fuel
from office.fuel.models import DipReading, MeterReading, MeterSource
from office.i18n import SEOUL
from office.reviews import services as reviews
from office.reviews.models import ItemKind, ReviewAction, ReviewItem
from office.stock.models import LotDraw, StockLot, StockMovement, Store
from office.supplies import services as supplies
from office.supplies.models import Delivery
from office.waivers import services as waivers
from office.waivers.models import DrawdownEntry, Resource, WaiverLine, WaiverStatus
from office.waivers.units import Unit
from tests.factories import NOW, draw, make_approval, make_resource, make_waiver

# What the services are told "today" is: the last day of 2018, when NOW happens.
TODAY = date(2018, 12, 31)
_numbers = itertools.count(1)


def OCT(day: int) -> date:
    return date(2018, 10, day)


def at(day: date, hour: int = 9) -> datetime:
    """`hour` o'clock in Seoul on `day`, in UTC."""
    return datetime.combine(day, time(hour), tzinfo=SEOUL).astimezone(UTC)


def _n() -> int:
    return next(_numbers)


# --- overrides: drawdowns recorded anyway ---------------------------------------------------


def capped_line(session: Session, resource: Resource, granted: str, **waiver: object) -> WaiverLine:
    return make_waiver(session, [(resource, resource.unit, granted, granted)], **waiver).lines[0]


def override(
    session: Session,
    admin: User,
    line: WaiverLine,
    *,
    on: date = date(2018, 10, 3),
    quantity: str = "500",
) -> DrawdownEntry:
    """A drawdown beyond what is left on `line`, recorded anyway by an administrator."""
    left = max((line.granted_base or Decimal(0)) - line.used_base, Decimal(0))
    return draw(
        session,
        line.resource,
        str(left + Decimal(quantity)),
        line=line,
        on=on,
        actor=admin,
        override="The boilers could not wait for the new waiver.",
    )


# --- uses no longer covered ---------------------------------------------------------------


def tank(session: Session, diesel: Resource, *, opening: str | None = None) -> Store:
    store = fuel.create_tank(
        session,
        name=f"Tank {_n()}",
        product=diesel,
        capacity="10000",
        tolerance=None,  # 1% of the capacity: 100 L
        location="",
        opening=opening,
        opened_on=date(2018, 9, 1),
        actor=None,
        now=NOW,
    )
    session.commit()
    return store


def issue(session: Session, store: Store, litres: object, on: date) -> StockMovement:
    movement = fuel.issue_fuel(
        session, store, quantity=str(litres), issued_on=on, use="boiler", actor=None, now=NOW
    )
    session.commit()
    return movement


@dataclass
class Uses:
    flagged: LotDraw
    covered: LotDraw
    line: WaiverLine
    tank: Store


def flagged_use(
    session: Session,
    diesel: Resource,
    *,
    status: WaiverStatus = WaiverStatus.REVOKED,
    received: date = date(2018, 10, 1),
    lapsed: date = date(2018, 10, 5),
    used: date = date(2018, 10, 6),
) -> Uses:
    """Fuel received under a waiver, issued once while covered and once after the waiver
    was `status` (revoked or expired)."""
    line = capped_line(session, diesel, "5000", reference=f"MOU-USE-{_n()}")
    store = tank(session, diesel)
    fuel.receive_fuel(
        session,
        store,
        quantity="1000",
        unit="L",
        received_on=received,
        waiver_line=line,
        parties="Tanker",
        actor=None,
        now=NOW,
    )
    session.commit()
    covered = issue(session, store, 100, received + timedelta(days=1))
    waivers.change_waiver_status(
        session, line.waiver, status, effective_on=lapsed, actor=None, now=NOW
    )
    session.commit()
    flagged = issue(session, store, 200, used)
    return Uses(flagged.draws[0], covered.draws[0], line, store)


# --- dip variances ------------------------------------------------------------------------


def dip(session: Session, store: Store, measured: object, on: date) -> DipReading:
    reading = fuel.record_dip(
        session, store, measured=str(measured), read_at=at(on, 8), actor=None, now=NOW
    )
    session.commit()
    return reading


def dip_variance(
    session: Session, diesel: Resource, on: date = date(2018, 10, 8)
) -> tuple[DipReading, ...]:
    """(flagged, within tolerance): a tank of 5,000 L measured at 4,700 L and at 4,950 L."""
    store = tank(session, diesel, opening="5000")
    within = dip(session, store, 4950, on - timedelta(days=1))
    beyond = dip(session, store, 4700, on)
    return beyond, within


# --- meter anomalies ----------------------------------------------------------------------


def meter_anomaly(
    session: Session, spike_on: date = date(2018, 10, 12)
) -> tuple[MeterReading, ...]:
    """(flagged, normal): ten days of 100 kWh, then 1,000 kWh in a day."""
    start = spike_on - timedelta(days=11)
    meter = fuel.add_meter(
        session,
        name=f"Generator meter {_n()}",
        source=MeterSource.GENERATOR,
        waiver_line=None,
        digits=6,
        multiplier="1",
        installed_at=at(start),
        first_value="0",
        actor=None,
        now=NOW,
    )
    normal = None
    for day in range(1, 11):
        normal = fuel.record_meter_reading(
            session,
            meter,
            value=str(day * 100),
            read_at=at(start + timedelta(days=day)),
            actor=None,
            now=NOW,
        )
    spike = fuel.record_meter_reading(
        session, meter, value="2000", read_at=at(spike_on), actor=None, now=NOW
    )
    session.commit()
    assert spike.flagged and normal is not None and not normal.flagged
    return spike, normal


# --- overdue returns ----------------------------------------------------------------------


def welder(session: Session) -> Resource:
    return make_resource(
        session,
        "welder",
        hs_code="8515.31",
        unit=Unit.PIECE,
        barrels_per_tonne=None,
        name="Welder",
    )


def must_return_lot(
    session: Session,
    line: WaiverLine,
    *,
    due: date = date(2018, 10, 20),
    crossed: date = date(2018, 10, 1),
    quantity: str = "2",
) -> StockLot:
    """Equipment carried north on `crossed` under `line`, to be back south by `due`."""
    delivery = supplies.save_delivery(
        session,
        reference=f"KLO-R-{_n():03d}",
        direction="north",
        planned_on=crossed,
        carrier="Hyundai Logistics",
        approval=make_approval(session, reference="MOU-CO-2018-201"),
        actor=None,
        now=NOW,
    )
    supplies.add_line(
        session,
        delivery,
        supplies.LineInput(
            resource=line.resource,
            quantity=quantity,
            unit=line.resource.unit,
            purpose="repair",
            waiver_line=line,
            must_return=True,
            return_due_on=due,
        ),
        actor=None,
        now=NOW,
    )
    supplies.approve(session, delivery, actor=None, now=NOW)
    supplies.cross(session, delivery, crossed_on=crossed, actor=None, now=NOW)
    supplies.receive(session, delivery, received_on=crossed, actor=None, now=NOW)
    session.commit()
    return session.get(StockLot, delivery.lines[0].lot_id)


def carry_back(session: Session, lot: StockLot, on: date) -> Delivery:
    """Carry the whole of `lot` back south on `on`."""
    delivery = supplies.save_delivery(
        session,
        reference=f"KLO-S-{_n():03d}",
        direction="south",
        planned_on=on,
        carrier="Hyundai Logistics",
        approval_number="MOU-CI-2018-202",
        actor=None,
        now=NOW,
    )
    supplies.add_return_line(session, delivery, lot, str(lot.remaining), actor=None, now=NOW)
    supplies.approve(session, delivery, actor=None, now=NOW)
    supplies.cross(session, delivery, crossed_on=on, actor=None, now=NOW)
    session.commit()
    return delivery


# --- everything at once -------------------------------------------------------------------


@dataclass
class Flagged:
    """One flagged record of each kind (all in October 2018) and unflagged ones beside them."""

    override: DrawdownEntry
    covered_entry: DrawdownEntry
    use: Uses
    dip: DipReading
    dip_within: DipReading
    reading: MeterReading
    normal_reading: MeterReading
    overdue: StockLot
    not_due: StockLot
    main_line: WaiverLine  # the override's and the overdue lot's waiver line
    welder_line: WaiverLine

    def keys(self) -> set[tuple[ItemKind, int]]:
        return {
            (ItemKind.OVERRIDE, self.override.id),
            (ItemKind.FLAGGED_USE, self.use.flagged.id),
            (ItemKind.DIP_VARIANCE, self.dip.id),
            (ItemKind.METER_ANOMALY, self.reading.id),
            (ItemKind.OVERDUE_RETURN, self.overdue.id),
        }

    def source(self, kind: ItemKind) -> int:
        return dict(self.keys())[kind]


def one_of_each(session: Session, admin: User, diesel: Resource) -> Flagged:
    main = capped_line(session, diesel, "1000", reference="MOU-R-MAIN")
    covered = draw(session, diesel, "400", line=main, on=OCT(2), actor=admin)
    entry = override(session, admin, main, on=OCT(3))
    use = flagged_use(session, diesel)
    beyond, within = dip_variance(session, diesel)
    spike, normal = meter_anomaly(session)
    equipment = welder(session)
    welder_line = make_waiver(
        session, [(equipment, "piece", "10", "10")], reference="MOU-R-WELD"
    ).lines[0]
    overdue = must_return_lot(session, welder_line, due=OCT(20))
    not_due = must_return_lot(session, welder_line, due=date(2099, 6, 30))
    return Flagged(
        override=entry,
        covered_entry=covered,
        use=use,
        dip=beyond,
        dip_within=within,
        reading=spike,
        normal_reading=normal,
        overdue=overdue,
        not_due=not_due,
        main_line=main,
        welder_line=welder_line,
    )


# --- the review ---------------------------------------------------------------------------


def act(
    session: Session,
    kind: ItemKind,
    source_id: int,
    action: ReviewAction,
    actor: User,
    body: str = "",
    *,
    now: datetime = NOW,
    today: date = TODAY,
) -> ReviewItem:
    item = reviews.take_action(
        session, kind, source_id, action, body=body, actor=actor, now=now, today=today
    )
    session.commit()
    return item


def acknowledge_all(
    session: Session, reviewer: User, month: date | None = None, today: date = TODAY
) -> None:
    from office.reviews import queries

    rows, _cursor = queries.queue_page(
        session, queries.QueueFilters(awaiting=True, month=month), today=today, size=1000
    )
    for row in rows:
        act(session, row.kind, row.source_id, ReviewAction.ACKNOWLEDGE, reviewer, today=today)


def item_of(session: Session, kind: ItemKind, source_id: int) -> ReviewItem | None:
    return session.scalar(
        select(ReviewItem)
        .where(ReviewItem.kind == kind, ReviewItem.source_id == source_id)
        .execution_options(populate_existing=True)
    )


# Each filter, a value it cannot take, and the start of what the page says (the API says
# the same: tests/api/test_reviews_api.py).
BAD_FILTERS = [
    ("kind", "lunch", "There is no kind of flagged item called lunch; choose one of: override, "),
    ("state", "closed", "There is no state called closed; choose one of: awaiting, all, open, "),
    ("month", "2018-13", "Write the month as YYYY-MM, from 2000-01 to 2099-12."),
    ("waiver", "x", "Choose the waiver by its id, a whole number from 1."),
    ("regime", "eu", "There is no regime called eu; choose one of: un, "),
    ("after", "2018-10-03.lunch.1", "The queue cannot continue from that point; start again"),
]
