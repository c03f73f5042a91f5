"""Demo deliveries and repair works: the venue's repair programme, June to September 2018.

About 113 t of materials went north in June and July under the ministry's individual approval
MOU-2018-0611, generators under MOU-2018-0702-G for the repair period, office supplies under
the blanket approval MOU-2018-B-0814: each delivery names its carry-out approval, whose lines
its manifest draws on under the ministry's regime. No 1718 Committee exemption was asked for:
what the UN bans went north covered by the ministry and not by the UN, recorded anyway with
the government's position as the reason. Shown on purpose: a crossing refused because the
approval's steel line was exhausted (the lorry turned back), a manifest line drawing on
another approval than its delivery's (the welders), generators carried back south when their
approval ran out, a welder still on site long after it was due back, material used after its
approval had lapsed, and a draft manifest being screened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth.models import User
from office.repairs import services as repairs
from office.repairs.models import Area, WorkOrder, WorkStatus
from office.stock.models import StockLot
from office.supplies import services
from office.supplies.models import Delivery, Direction
from office.waivers.demo import GOVERNMENT_POSITION_2018
from office.waivers.models import Control, Purpose

if TYPE_CHECKING:
    from office.demo import StoryCalendar

CARRIER = "현대아산 (Hyundai Asan)"
USD_RATE = Decimal(1120)  # won per US dollar, mid-2018

# Per unit of the manifest line: won, and gross kilograms.
VALUES = {
    "steel": (900_000, Decimal(1020)),  # per tonne
    "copper": (12_000, Decimal("1.05")),  # per kg
    "nickel": (25_000, Decimal("1.05")),
    "water_heater": (450_000, Decimal(32)),  # per piece
    "cement": (110_000, Decimal(1040)),
    "paint": (8_000, Decimal("1.1")),
    "generator": (45_000_000, Decimal(2100)),
    "welder": (2_800_000, Decimal(85)),
    "paper": (1_500, Decimal("1.05")),
}


REPAIRS = "MOU-2018-0611"
GENERATORS = "MOU-2018-0702-G"
BLANKET = "MOU-2018-B-0814"


@dataclass(frozen=True)
class Shipment:
    reference: str
    day: date
    # (resource code, quantity, approval): a line under another approval than the delivery's
    # names that approval's line as its own.
    lines: list[tuple[str, str, str]]
    note: str = ""
    returns_by: dict[str, date] = field(default_factory=dict)  # must-return equipment
    approval: str = REPAIRS  # the delivery's carry-out approval


SHIPMENTS = (
    Shipment(
        "KLO-D-2018-01",
        date(2018, 6, 20),
        [("steel", "18.5", REPAIRS), ("copper", "1450", REPAIRS)],
    ),
    Shipment(
        "KLO-D-2018-02", date(2018, 6, 27), [("nickel", "380", REPAIRS), ("cement", "64", REPAIRS)]
    ),
    Shipment(
        "KLO-D-2018-03",
        date(2018, 7, 2),
        [("generator", "2", GENERATORS), ("welder", "2", REPAIRS)],
        note="Generators for the repair period; welders for the steelwork.",
        returns_by={"generator": date(2018, 9, 13), "welder": date(2018, 9, 28)},
        approval=GENERATORS,
    ),
    Shipment(
        "KLO-D-2018-04", date(2018, 7, 10), [("steel", "21.2", REPAIRS), ("copper", "980", REPAIRS)]
    ),
    Shipment("KLO-D-2018-05", date(2018, 7, 17), [("water_heater", "48", REPAIRS)]),
    Shipment(
        "KLO-D-2018-06", date(2018, 7, 24), [("cement", "31", REPAIRS), ("paint", "1650", REPAIRS)]
    ),
    # Refused: the steel line has 5.3 t left.
    Shipment(
        "KLO-D-2018-07", date(2018, 8, 7), [("steel", "8", REPAIRS), ("paint", "150", REPAIRS)]
    ),
    Shipment(
        "KLO-D-2018-08",
        date(2018, 8, 9),
        [("steel", "5.3", REPAIRS), ("paint", "150", REPAIRS)],
        note="Reloaded after KLO-D-2018-07 was turned back: steel cut to what the waiver "
        "line had left.",
    ),
    Shipment(
        "KLO-D-2018-09", date(2018, 8, 16), [("copper", "400", REPAIRS), ("nickel", "100", REPAIRS)]
    ),
    Shipment(
        "KLO-D-2018-10",
        date(2018, 8, 23),
        [("cement", "20", REPAIRS), ("water_heater", "10", REPAIRS)],
    ),
    Shipment(
        "KLO-D-2018-11", date(2018, 8, 30), [("cement", "5", REPAIRS), ("paint", "150", REPAIRS)]
    ),
    Shipment(
        "KLO-D-2018-12",
        date(2018, 9, 6),
        [("paper", "300", BLANKET)],
        note="Office supplies before the opening.",
        approval=BLANKET,
    ),
)
REFUSED = "KLO-D-2018-07"
DRAFT = Shipment(
    "KLO-D-2018-13",
    date(2018, 12, 10),
    [("paint", "40", REPAIRS), ("cement", "2", REPAIRS)],
    note="Winter touch-ups; awaiting the ministry's approval.",
)

# number, area, room, work, budget (won), funding, planned start, end, materials used
# (day, code, quantity), equipment codes, final status and progress
WORKS: tuple[tuple[Any, ...], ...] = (
    (
        "KLO-W-2018-01",
        Area.POWER,
        "Substation room",
        "Distribution boards and cabling; connection for the test supply from Munsan.",
        420_000_000,
        "First approval {2018-07-16}",
        date(2018, 7, 2),
        date(2018, 8, 14),
        [(date(2018, 7, 5), "copper", "600")],
        ["generator"],
        WorkStatus.COMPLETED,
        100,
    ),
    (
        "KLO-W-2018-02",
        Area.PLUMBING,
        "",
        "Water supply and drainage, the building and the quarters.",
        1_600_000_000,
        "Council 298th meeting (in writing)",
        date(2018, 7, 9),
        date(2018, 9, 7),
        [(date(2018, 7, 12), "copper", "900"), (date(2018, 7, 13), "nickel", "200")],
        [],
        WorkStatus.COMPLETED,
        100,
    ),
    (
        "KLO-W-2018-03",
        Area.FLOOR_2,
        "South office",
        "Partitions, floors and paint for the South's office.",
        1_200_000_000,
        "Council 298th meeting (in writing)",
        date(2018, 7, 16),
        date(2018, 9, 10),
        [
            (date(2018, 7, 18), "steel", "6"),
            (date(2018, 7, 26), "cement", "10"),
            (date(2018, 8, 20), "paint", "400"),
        ],
        ["welder"],
        WorkStatus.COMPLETED,
        100,
    ),
    (
        "KLO-W-2018-04",
        Area.FLOOR_4,
        "North office",
        "Partitions, floors and paint for the North's office.",
        1_100_000_000,
        "Council 298th meeting (in writing)",
        date(2018, 7, 16),
        date(2018, 9, 10),
        [(date(2018, 7, 27), "cement", "8"), (date(2018, 8, 21), "paint", "350")],
        [],
        WorkStatus.COMPLETED,
        100,
    ),
    (
        "KLO-W-2018-05",
        Area.FLOOR_3,
        "Conference room",
        "Conference room and interpreters' booths.",
        600_000_000,
        "Council 298th meeting (in writing)",
        date(2018, 8, 1),
        date(2018, 9, 12),
        [(date(2018, 8, 22), "paint", "200")],
        [],
        WorkStatus.COMPLETED,
        100,
    ),
    (
        "KLO-W-2018-06",
        Area.LIVING_QUARTERS,
        "Lodging block A",
        "Lodgings for the South's staff: steelwork, hot water, finishing.",
        3_400_000_000,
        "Council 298th meeting (in writing)",
        date(2018, 7, 9),
        date(2018, 9, 12),
        [
            (date(2018, 7, 12), "steel", "10"),
            (date(2018, 7, 18), "water_heater", "48"),
            (date(2018, 7, 30), "cement", "40"),
            (date(2018, 8, 24), "water_heater", "8"),
        ],
        ["welder"],
        WorkStatus.COMPLETED,
        100,
    ),
    (
        "KLO-W-2018-07",
        Area.BASEMENT,
        "Generator room and boiler",
        "Generator plinths, fuel lines and the boiler room.",
        500_000_000,
        "Council 298th meeting (in writing)",
        date(2018, 7, 23),
        date(2018, 8, 31),
        [(date(2018, 7, 25), "steel", "8"), (date(2018, 7, 31), "cement", "15")],
        [],
        WorkStatus.COMPLETED,
        100,
    ),
    (
        "KLO-W-2018-08",
        Area.FLOOR_1,
        "Education centre",
        "Information office and education centre.",
        450_000_000,
        "Council 298th meeting (in writing)",
        date(2018, 8, 13),
        date(2018, 9, 12),
        [(date(2018, 8, 27), "paint", "150")],
        [],
        WorkStatus.COMPLETED,
        100,
    ),
    (
        "KLO-W-2018-09",
        Area.FLOOR_4,
        "Roof",
        "Roof waterproofing and gutters before winter; finished in January on leftover material.",
        380_000_000,
        "Council 298th meeting (in writing)",
        date(2018, 9, 3),
        date(2019, 1, 31),
        [
            (date(2018, 9, 5), "steel", "3"),
            (date(2018, 9, 5), "nickel", "150"),
            (date(2019, 1, 15), "paint", "120"),
        ],
        [],
        WorkStatus.IN_PROGRESS,
        80,
    ),
    (
        "KLO-W-2018-10",
        Area.LIVING_QUARTERS,
        "Lodging block B",
        "Second lodging block, deferred to next year's budget.",
        900_000_000,
        "",
        date(2018, 10, 1),
        date(2018, 11, 30),
        [],
        [],
        WorkStatus.CANCELLED,
        0,
    ),
)


def schedule(
    session: Session, *, admin: User, waivers: Any, timeline: Any, calendar: StoryCalendar
) -> None:
    """Put the repair programme's deliveries and work orders on `timeline`."""
    resources = waivers.resources
    deliveries: dict[str, Delivery] = {}
    on, at = calendar.day, calendar.at

    def prepare(shipment: Shipment, *, north: bool = True) -> Delivery:
        day = on(shipment.day)
        delivery = services.save_delivery(
            session,
            reference=shipment.reference,
            direction=Direction.NORTH if north else Direction.SOUTH,
            planned_on=day,
            carrier=CARRIER,
            vehicles="2 lorries" if len(shipment.lines) > 1 else "1 lorry",
            approval=waivers.waivers[shipment.approval],
            customs_declaration=f"40125-{day:%y}-{day:%m%d}01X",
            note=shipment.note,
            actor=admin,
            now=at(day - timedelta(days=7), 10),
        )
        for code, quantity, reference in shipment.lines:
            won, gross = VALUES[code]
            resource = resources[code]
            services.add_line(
                session,
                delivery,
                services.LineInput(
                    resource=resource,
                    quantity=quantity,
                    unit=resource.unit,
                    purpose=Purpose.SUPPLIES if reference == BLANKET else Purpose.REPAIR,
                    gross_weight_kg=(gross * Decimal(quantity)).quantize(Decimal(1)),
                    unit_value_krw=won,
                    unit_value_usd=(won / USD_RATE).quantize(Decimal("0.01")),
                    # Its own line only under another approval than the delivery's: no UN
                    # exemption was asked for, and the delivery's approval covers the rest.
                    waiver_line=waivers.line(reference, code)
                    if reference != shipment.approval
                    else None,
                    # Under the UN's ban and without its exemption, as in 2018; the refused
                    # crossing's lines are left to the office's check.
                    override_reason=GOVERNMENT_POSITION_2018
                    if resource.control is Control.PROHIBITED and shipment.reference != REFUSED
                    else "",
                    must_return=code in shipment.returns_by,
                    return_due_on=on(shipment.returns_by[code])
                    if code in shipment.returns_by
                    else None,
                ),
                actor=admin,
                now=at(day - timedelta(days=7), 11),
            )
        deliveries[shipment.reference] = delivery
        return delivery

    def ship(shipment: Shipment) -> None:
        delivery = prepare(shipment)
        day = on(shipment.day)
        services.approve(session, delivery, actor=admin, now=at(day, 8))
        savepoint = session.begin_nested()
        try:
            services.cross(session, delivery, crossed_on=day, actor=admin, now=at(day, 10))
        except services.CrossingRefused as refused:
            savepoint.rollback()
            services.note_refused_crossing(session, delivery, refused, actor=admin, now=at(day, 10))
            services.reject(
                session,
                delivery,
                actor=admin,
                now=at(day, 11),
                reason="Crossing refused by the office: the steel line of MOU-2018-0611 had "
                "5.3 t left and the manifest carried 8 t. Lorry sent back to Paju; reloaded as "
                "KLO-D-2018-08.",
            )
            return
        savepoint.commit()
        services.receive(session, delivery, received_on=day, actor=admin, now=at(day, 15))

    for shipment in SHIPMENTS:
        timeline.at(on(shipment.day), lambda shipment=shipment: ship(shipment))
    timeline.at(on(DRAFT.day), lambda: prepare(DRAFT))

    def lot_of(code: str) -> StockLot:
        return session.scalars(
            select(StockLot)
            .where(StockLot.resource_id == resources[code].id, StockLot.must_return_by.is_not(None))
            .order_by(StockLot.id)
            .limit(1)
        ).one()

    def carry_back(reference: str, story_day: date, code: str, quantity: str) -> None:
        day = on(story_day)
        delivery = services.save_delivery(
            session,
            reference=reference,
            direction=Direction.SOUTH,
            planned_on=day,
            carrier=CARRIER,
            vehicles="1 lorry",
            approval_number=f"MOU-CI-{day:%Y%m%d}",
            customs_declaration=f"40125-{day:%y}-{day:%m%d}02M",
            actor=admin,
            now=at(day, 7),
        )
        services.add_return_line(
            session, delivery, lot_of(code), quantity, actor=admin, now=at(day, 7)
        )
        services.approve(session, delivery, actor=admin, now=at(day, 8))
        services.cross(session, delivery, crossed_on=day, actor=admin, now=at(day, 16))
        services.receive(session, delivery, received_on=day, actor=admin, now=at(day, 17))

    # The generators go back as their waiver runs out; one welder comes back, one stays.
    timeline.at(
        on(date(2018, 9, 12)),
        lambda: carry_back("KLO-S-2018-01", date(2018, 9, 12), "generator", "2"),
    )
    timeline.at(
        on(date(2018, 9, 20)),
        lambda: carry_back("KLO-S-2018-02", date(2018, 9, 20), "welder", "1"),
    )

    for work in WORKS:
        _schedule_work(
            session,
            admin=admin,
            resources=resources,
            timeline=timeline,
            calendar=calendar,
            lot_of=lot_of,
            work=work,
        )


def _schedule_work(
    session: Session,
    *,
    admin: User,
    resources: dict[str, Any],
    timeline: Any,
    calendar: StoryCalendar,
    lot_of: Any,
    work: tuple[Any, ...],
) -> None:
    (
        number,
        area,
        room,
        text,
        budget,
        funding,
        start,
        end,
        materials,
        equipment,
        status,
        progress,
    ) = work
    on, at = calendar.day, calendar.at
    start, end, reported = on(start), on(end), on(min(end, date(2019, 1, 20)))
    funding = funding.replace("{2018-07-16}", str(on(date(2018, 7, 16))))
    holder: dict[str, WorkOrder] = {}
    opened_at, finished_at = at(start, 8), at(reported, 17)

    def open_order() -> None:
        order = repairs.save_work_order(
            session,
            number=number,
            area=area,
            room=room,
            description=text,
            contractor="현대아산 (Hyundai Asan)",
            budget_krw=budget,
            funding_decision=funding,
            planned_start=start,
            planned_end=end,
            actor=admin,
            now=opened_at,
        )
        holder["order"] = order
        if status is WorkStatus.CANCELLED:
            repairs.change_status(
                session, order, WorkStatus.CANCELLED, on=start, actor=admin, now=opened_at
            )
            return
        repairs.change_status(
            session, order, WorkStatus.APPROVED, on=start, actor=admin, now=opened_at
        )
        repairs.change_status(
            session, order, WorkStatus.IN_PROGRESS, on=start, actor=admin, now=opened_at
        )

    def assign() -> None:
        for code in equipment:
            repairs.assign_equipment(
                session, holder["order"], lot_of(code), actor=admin, now=at(start, 16)
            )

    def use(day: date, code: str, quantity: str) -> None:
        repairs.use_material(
            session,
            holder["order"],
            resource=resources[code],
            quantity=quantity,
            unit=resources[code].unit,
            used_on=day,
            actor=admin,
            now=at(day, 14),
        )

    def finish() -> None:
        order = holder["order"]
        repairs.add_cost(
            session,
            order,
            spent_on=end,
            description="Labour and contractor's invoice",
            amount_krw=budget * 6 // 10,
            actor=admin,
            now=finished_at,
        )
        if status is WorkStatus.COMPLETED:
            repairs.change_status(
                session, order, WorkStatus.COMPLETED, on=end, actor=admin, now=finished_at
            )
        else:
            repairs.set_progress(session, order, progress, actor=admin, now=finished_at)

    # Orders open before the day's deliveries are unloaded; materials are used after.
    timeline.at(start, open_order, order=0)
    timeline.at(start, assign, order=2)
    for story_day, code, quantity in materials:
        day = on(story_day)
        timeline.at(
            day, lambda day=day, code=code, quantity=quantity: use(day, code, quantity), order=2
        )
    if status is not WorkStatus.CANCELLED:
        timeline.at(reported, finish, order=2)
