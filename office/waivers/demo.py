"""Demo waivers of 2018 and their manual drawdowns, replayed in date order (with the fuel and
electricity of the other demos) through the services, so that every entry carries the waiver
status it would have had on the day. The dates are the story's, laid on the demo's calendar."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from office.auth.models import User
from office.waivers import ledger, services
from office.waivers.models import Authority, Purpose, Resource, Waiver, WaiverLine, WaiverStatus
from office.waivers.petroleum import PetroleumKind
from office.waivers.units import Unit

if TYPE_CHECKING:
    from office.demo import StoryCalendar

# Kinds of petroleum product their HS code does not name (2710.19 reads as gas/diesel oil).
PETROLEUM_KINDS = {"kerosene": PetroleumKind.KEROSENE}
# Made in the United States: under the EAR as well (the rest is the South's own).
US_ORIGIN = frozenset({"computer"})
# The government's position in 2018 on what the UN bans (steel, copper, nickel, water heaters,
# generators...): carried north with the ministry's approval for the office's own use, no
# 1718 Committee exemption requested (../shared/domain.md, section 4).
GOVERNMENT_POSITION_2018 = (
    "The government's position: materials for the office and the South's personnel, of no "
    "economic benefit to the North; no 1718 Committee exemption requested."
)

RESOURCES = (
    # code, Korean, English, HS, unit, barrels per tonne (none: the UNSD default for its kind)
    ("diesel", "경유", "Diesel (gas oil)", "2710.19", Unit.L, "7.23"),
    ("gasoline", "휘발유", "Motor gasoline", "2710.12", Unit.L, None),
    ("kerosene", "등유", "Kerosene", "2710.19", Unit.L, None),
    ("electricity", "전력", "Electricity from the South's grid", "2716.00", Unit.KWH, None),
    ("steel", "철강재", "Steel sections", "7216.10", Unit.T, None),
    ("copper", "동관", "Copper tubes", "7411.10", Unit.KG, None),
    ("nickel", "니켈판", "Nickel plates", "7506.10", Unit.KG, None),
    ("water_heater", "전기온수기", "Electric water heaters", "8516.10", Unit.PIECE, None),
    ("generator", "발전기", "Diesel generator sets", "8502.11", Unit.PIECE, None),
    ("welder", "용접기", "Arc welding machines", "8515.31", Unit.PIECE, None),
    ("car", "승용차", "Passenger cars", "8703.23", Unit.PIECE, None),
    ("computer", "컴퓨터", "Desktop computers", "8471.50", Unit.PIECE, None),  # US-made
    ("cement", "시멘트", "Portland cement", "2523.29", Unit.T, None),
    ("paint", "페인트", "Paint", "3209.10", Unit.KG, None),
    ("rice", "쌀", "Rice", "1006.30", Unit.KG, None),
    ("paper", "복사용지", "Copy paper", "4802.56", Unit.KG, None),
)

WAIVERS = (
    # reference, authority, title, valid from, valid until, lines (resource, unit, requested)
    (
        "MOU-2018-0611",
        Authority.ROK_MOU_INDIVIDUAL,
        "Materials for repairing the liaison office venue",
        date(2018, 6, 11),
        date(2018, 12, 31),
        [
            ("steel", Unit.T, "45"),
            ("copper", Unit.KG, "3000"),
            ("nickel", Unit.KG, "500"),
            ("water_heater", Unit.PIECE, "60"),
            ("cement", Unit.T, "120"),
            ("paint", Unit.KG, "2000"),
            ("welder", Unit.PIECE, "4"),
        ],
    ),
    (
        "MOU-2018-0702-G",
        Authority.ROK_MOU_INDIVIDUAL,
        "Generators and diesel for the repair works",
        date(2018, 7, 2),
        date(2018, 9, 13),
        [("generator", Unit.PIECE, "2"), ("diesel", Unit.L, "40000")],
    ),
    (
        "MOU-2018-B-0814",
        Authority.ROK_MOU_BLANKET,
        "Blanket approval: running the liaison office",
        date(2018, 8, 14),
        date(2019, 8, 13),
        [
            ("diesel", Unit.L, "300000"),
            ("gasoline", Unit.L, "12000"),
            ("kerosene", Unit.L, "20000"),
            ("electricity", Unit.MWH, "1500"),
            ("rice", Unit.KG, "8000"),
            ("paper", Unit.KG, "3000"),
        ],
    ),
    (
        "MOU-2018-0903-V",
        Authority.ROK_MOU_INDIVIDUAL,
        "Two cars for staff transport in Kaesong",
        date(2018, 9, 3),
        date(2019, 9, 2),
        [("car", Unit.PIECE, "2")],
    ),
    (
        "UN1718-2018-LO-01",
        Authority.UN_1718_COMMITTEE,
        "Exemption for the liaison office's equipment and fuel",
        date(2018, 12, 1),
        date(2019, 5, 31),
        [
            ("generator", Unit.PIECE, "2"),
            ("diesel", Unit.BBL, "1500"),
            ("computer", Unit.PIECE, "40"),
        ],
    ),
    (
        # Refined petroleum is not banned but capped (op. 5): what goes north is notified to
        # the 1718 Committee every 30 days. A standing authorisation under the UN regime.
        "UN1718-P5-2018",
        Authority.UN_1718_COMMITTEE,
        "Refined petroleum for the office, notified under UNSCR 2397 op. 5",
        date(2018, 6, 11),
        date(2019, 8, 13),
        [("diesel", Unit.BBL, "2000"), ("gasoline", Unit.BBL, "80"), ("kerosene", Unit.BBL, "130")],
    ),
    (
        "US-2018-LO-IT",
        Authority.US_GOVERNMENT,
        "Licence for US-origin IT equipment",
        None,
        None,
        [("computer", Unit.PIECE, "40")],
    ),
)

# Drawn on without being named (besides the blanket approval, which stands by default).
STANDING = frozenset({"UN1718-P5-2018"})

# (date, reference, new status, note)
STATUS_EVENTS = (
    (date(2018, 6, 5), "MOU-2018-0611", WaiverStatus.REQUESTED, "Filed with the ministry."),
    (date(2018, 6, 11), "MOU-2018-0611", WaiverStatus.GRANTED, "Carry-out approval issued."),
    (date(2018, 6, 28), "MOU-2018-0702-G", WaiverStatus.REQUESTED, ""),
    (date(2018, 7, 2), "MOU-2018-0702-G", WaiverStatus.GRANTED, "For the repair period only."),
    (date(2018, 8, 10), "MOU-2018-B-0814", WaiverStatus.REQUESTED, ""),
    (date(2018, 6, 8), "UN1718-P5-2018", WaiverStatus.REQUESTED, "Through MOFA."),
    (
        date(2018, 6, 11),
        "UN1718-P5-2018",
        WaiverStatus.GRANTED,
        "Counted toward the cap; notified every 30 days.",
    ),
    (
        date(2018, 8, 14),
        "MOU-2018-B-0814",
        WaiverStatus.GRANTED,
        "Blanket approval for office operation.",
    ),
    (date(2018, 9, 3), "MOU-2018-0903-V", WaiverStatus.REQUESTED, ""),
    (
        date(2018, 9, 10),
        "MOU-2018-0903-V",
        WaiverStatus.DENIED,
        "Vehicles are banned under UNSCR 2397; use escorted daily transport instead.",
    ),
    (date(2018, 9, 14), "MOU-2018-0702-G", WaiverStatus.EXPIRED, "Repair period over."),
    (
        date(2018, 11, 20),
        "UN1718-2018-LO-01",
        WaiverStatus.REQUESTED,
        "Sent through the ROK mission after the working-group meeting.",
    ),
)


@dataclass
class DemoWaivers:
    """What the other features' demos build on: the resources and the waivers."""

    resources: dict[str, Resource]
    waivers: dict[str, Waiver]

    def line(self, reference: str, code: str) -> WaiverLine:
        return next(x for x in self.waivers[reference].lines if x.resource.code == code)


def prepare(
    session: Session, *, admin: User, reviewer: User, timeline: Any, calendar: StoryCalendar
) -> DemoWaivers:
    """Add the demo resources and waivers now; put their status changes and the manual
    drawdowns on `timeline`, to be replayed in date order with the other features'."""
    on, at = calendar.day, calendar.at
    set_up = at(on(date(2018, 6, 1)), 9)  # before the first waiver is filed
    services.install_default_hs_rules(session, actor=reviewer, now=set_up)
    resources: dict[str, Resource] = {}
    for code, name_ko, name_en, hs, unit, factor in RESOURCES:
        resources[code] = services.save_resource(
            session,
            code=code,
            name_ko=name_ko,
            name_en=name_en,
            hs_code=hs,
            unit=unit,
            barrels_per_tonne=factor,
            petroleum_kind=PETROLEUM_KINDS.get(code),
            origin="US" if code in US_ORIGIN else "KR",
            us_content_percent=100 if code in US_ORIGIN else 0,
            actor=reviewer,
            now=set_up,
        )
    waivers: dict[str, Waiver] = {}
    for reference, authority, title, start, end, lines in WAIVERS:
        first = min(
            [day for day, ref, _s, _n in STATUS_EVENTS if ref == reference]
            + [start or date(2018, 11, 1)]
        )
        waivers[reference] = services.create_waiver(
            session,
            reference=reference,
            authority=authority,
            title=title,
            valid_from=on(start) if start else None,
            valid_until=on(end) if end else None,
            actor=reviewer,
            now=at(on(first) - timedelta(days=3), 18),
            lines=[services.LineSpec(resources[c], u, q) for c, u, q in lines],
            standing=True if reference in STANDING else None,
        )
    demo = DemoWaivers(resources, waivers)

    for story_day, reference, new, note in STATUS_EVENTS:
        day = on(story_day)
        timeline.at(
            day,
            partial(
                services.change_waiver_status,
                session,
                waivers[reference],
                new,
                effective_on=day,
                note=note,
                actor=reviewer,
                now=at(day, 10),
            ),
            order=0,
        )

    def draw(
        day: date,
        code: str,
        quantity: object,
        reference: str | None,
        purpose: Purpose,
        note: str = "",
        override: str | None = None,
        routine: bool = False,
    ) -> None:
        line = demo.line(reference, code) if reference else None
        record = partial(
            ledger.record_drawdown,
            session,
            resource=resources[code],
            quantity=Decimal(str(quantity)),
            unit=resources[code].unit,
            occurred_on=day,
            waiver_line=line,
            purpose=purpose,
            note=note,
            override_reason=override,
            actor=admin,
            now=at(day, 18),
        )

        def draw_if_room() -> None:
            # Past the story's own weeks the routine goes on while the line has room: a
            # line drawn to its cap shows on the dashboard, and the office draws no more.
            assert line is not None and line.granted_base is not None
            if line.used_base + Decimal(str(quantity)) <= line.granted_base:
                record()

        timeline.at(day, draw_if_room if routine else record)

    # The repair programme's materials go north as deliveries (office.supplies.demo).
    # After opening: vehicle fuel and food weekly, kerosene for the quarters in winter.
    rng = random.Random(2018)
    first, winter = on(date(2018, 9, 17)), on(date(2018, 11, 1))
    for offset in range((calendar.last_day - first).days + 1):
        day = first + timedelta(days=offset)
        if day.weekday() == 0:
            draw(
                day,
                "gasoline",
                rng.randrange(560, 760, 10),
                "MOU-2018-B-0814",
                Purpose.OPERATION,
                note="Escort and shuttle vehicles",
                routine=True,
            )
            draw(
                day,
                "rice",
                rng.randrange(300, 420, 10),
                "MOU-2018-B-0814",
                Purpose.SUPPLIES,
                routine=True,
            )
        if day >= winter and day.weekday() == 3:
            draw(
                day,
                "kerosene",
                rng.randrange(900, 1300, 50),
                "MOU-2018-B-0814",
                Purpose.OPERATION,
                note="Heating of the living quarters",
                routine=True,
            )
    draw(on(date(2018, 9, 20)), "paper", 450, "MOU-2018-B-0814", Purpose.SUPPLIES)

    # Exceptions a reviewer must see.
    draw(
        on(date(2018, 10, 2)),
        "computer",
        20,
        None,
        Purpose.OPERATION,
        override="Office equipment for South personnel; the government's position is that "
        "no exemption is required. Exemption request in preparation.",
    )

    draw(
        on(date(2018, 12, 20)),
        "diesel",
        3000,
        "UN1718-2018-LO-01",
        Purpose.OPERATION,
        note="Emergency heating of the living quarters in the cold snap",
        override=f"Temperatures below -15 C; the 1718 Committee exemption was requested on "
        f"{on(date(2018, 11, 20))} and is pending. Drawn on the office administrator's "
        "authority.",
    )

    typed_on, corrected_on = on(date(2018, 10, 18)), on(date(2018, 10, 19))

    def correction() -> None:
        # A typing error corrected the way the ledger requires: reversal, then a new entry.
        wrong = ledger.record_drawdown(
            session,
            resource=resources["gasoline"],
            quantity=Decimal(6400),
            unit=Unit.L,
            occurred_on=typed_on,
            waiver_line=demo.line("MOU-2018-B-0814", "gasoline"),
            purpose=Purpose.OPERATION,
            note="Vehicle fuel",
            actor=admin,
            now=at(typed_on, 19),
        )
        ledger.reverse_entry(
            session,
            wrong,
            reason="Typed 6,400 L for 640 L.",
            actor=admin,
            now=at(corrected_on, 9),
        )
        ledger.record_drawdown(
            session,
            resource=resources["gasoline"],
            quantity=Decimal(640),
            unit=Unit.L,
            occurred_on=typed_on,
            waiver_line=demo.line("MOU-2018-B-0814", "gasoline"),
            purpose=Purpose.OPERATION,
            note="Vehicle fuel (corrected)",
            actor=admin,
            now=at(corrected_on, 9),
        )

    timeline.at(corrected_on, correction)
    return demo
