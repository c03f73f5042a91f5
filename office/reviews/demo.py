"""Demo review: flagged items in each state and one signed-off month (September 2018).

September's items are acknowledged and the month signed off in October; a September entry
corrected afterwards lands in October, linked to what it corrects. October's computers are
queried, answered and escalated; November's dip variance is answered; December's heating
diesel awaits the office's answer; January's paint, used after its waiver ran out, is open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth.models import User
from office.reviews import queries, services
from office.reviews.models import ItemKind, ReviewAction
from office.waivers import checkpoints, ledger
from office.waivers.models import DrawdownEntry

if TYPE_CHECKING:
    from office.demo import StoryCalendar

SIGNED_OFF = date(2018, 9, 1)  # the story's month, moved with the rest of it


def schedule(
    session: Session,
    *,
    admin: User,
    reviewer: User,
    waivers: Any,
    timeline: Any,
    calendar: StoryCalendar,
    ledger_keys: checkpoints.LedgerKeys | None = None,
) -> None:
    """Put the reviewers' work of the story's autumn on `timeline` (the sign-off signs the
    ledger's head with `ledger_keys`, if given)."""
    on = calendar.day

    def flagged(month: date, kind: ItemKind, today: date) -> list[int]:
        rows, _cursor = queries.queue_page(
            session, queries.QueueFilters(month=month, kind=kind), today=today
        )
        return [row.source_id for row in rows]

    def step(
        story_day: date,
        hour: int,
        month: date,
        kind: ItemKind,
        action: ReviewAction,
        actor: User,
        body: str = "",
    ) -> None:
        day = on(story_day)

        def run() -> None:
            for source_id in flagged(month, kind, day):
                services.take_action(
                    session,
                    kind,
                    source_id,
                    action,
                    body=body,
                    actor=actor,
                    now=calendar.at(day, hour),
                    today=day,
                )

        timeline.at(day, run, order=6)

    september, october = on(date(2018, 9, 1)), on(date(2018, 10, 1))
    november, december = on(date(2018, 11, 1)), on(date(2018, 12, 1))
    # September: each item seen and closed, then the month signed off.
    step(
        date(2018, 10, 8),
        10,
        september,
        ItemKind.METER_ANOMALY,
        ReviewAction.ACKNOWLEDGE,
        reviewer,
        "Opening day: the meter's first full day after the test supply. Accepted.",
    )
    step(
        date(2018, 10, 8),
        10,
        september,
        ItemKind.FLAGGED_USE,
        ReviewAction.QUERY,
        reviewer,
        f"Why was diesel from the repair waiver's lot used after it expired on "
        f"{on(date(2018, 9, 13))}?",
    )
    step(
        date(2018, 10, 9),
        9,
        september,
        ItemKind.FLAGGED_USE,
        ReviewAction.ANSWER,
        admin,
        "The generator tank still held the repair-period lot; the next issue came from it "
        f"first in, first out. The blanket approval covers the same use from "
        f"{on(date(2018, 8, 14))}.",
    )
    step(
        date(2018, 10, 10),
        11,
        september,
        ItemKind.FLAGGED_USE,
        ReviewAction.ACKNOWLEDGE,
        reviewer,
        "Accepted: same use, covered by the blanket approval.",
    )
    step(
        date(2018, 10, 10),
        11,
        september,
        ItemKind.OVERDUE_RETURN,
        ReviewAction.ACKNOWLEDGE,
        reviewer,
        f"The second welder stays for the winter repairs; return by {on(date(2019, 3, 31))}.",
    )
    timeline.at(
        on(date(2018, 10, 15)), _sign_off(session, reviewer, ledger_keys, calendar), order=7
    )
    timeline.at(
        on(date(2018, 10, 22)), _correct_september(session, admin, waivers, calendar), order=7
    )
    # October: the office equipment, queried, answered, escalated.
    step(
        date(2018, 10, 16),
        10,
        october,
        ItemKind.OVERRIDE,
        ReviewAction.QUERY,
        reviewer,
        "Which exemption covers these 20 computers? Computers fall under UNSCR 2397.",
    )
    step(
        date(2018, 10, 17),
        15,
        october,
        ItemKind.OVERRIDE,
        ReviewAction.ANSWER,
        admin,
        "None yet: the ministry's position is that office equipment for South personnel "
        "needs no exemption. The request to the 1718 Committee is being drafted.",
    )
    step(
        date(2018, 10, 18),
        9,
        october,
        ItemKind.OVERRIDE,
        ReviewAction.ESCALATE,
        reviewer,
        "Referred to the sanctions team for the US consultation.",
    )
    # November: the leak-like dip variance, answered.
    step(
        date(2018, 11, 21),
        10,
        november,
        ItemKind.DIP_VARIANCE,
        ReviewAction.QUERY,
        reviewer,
        "650 L short: was it recovered, and where did it go?",
    )
    step(
        date(2018, 11, 22),
        14,
        november,
        ItemKind.DIP_VARIANCE,
        ReviewAction.ANSWER,
        admin,
        f"A weeping drain-valve seal; the seal was replaced on {on(date(2018, 11, 19))} and "
        "the spill absorbed. Nothing left the compound.",
    )
    # December: heating diesel drawn on a pending exemption, awaiting the office's answer.
    step(
        date(2018, 12, 27),
        10,
        december,
        ItemKind.OVERRIDE,
        ReviewAction.QUERY,
        reviewer,
        "3,000 L on an exemption still pending: has the 1718 Committee answered, and what was "
        "the temperature log?",
    )


def _sign_off(
    session: Session,
    reviewer: User,
    ledger_keys: checkpoints.LedgerKeys | None,
    calendar: StoryCalendar,
) -> Callable[[], object]:
    month, day = calendar.day(SIGNED_OFF), calendar.day(date(2018, 10, 15))

    def run() -> object:
        return services.sign_off_month(
            session,
            month,
            note=f"All {month:%B} items reviewed.",
            actor=reviewer,
            now=calendar.at(day, 17),
            today=day,
            ledger_keys=ledger_keys,
        )

    return run


def _correct_september(
    session: Session, admin: User, waivers: Any, calendar: StoryCalendar
) -> Callable[[], None]:
    carried, signed_off = calendar.day(date(2018, 9, 20)), calendar.day(SIGNED_OFF)
    first_open = calendar.day(date(2018, 10, 1))

    def run() -> None:
        # The paper carried north on 2018-09-20 was weighed with its pallets.
        paper = session.scalars(
            select(DrawdownEntry).where(
                DrawdownEntry.resource_id == waivers.resources["paper"].id,
                DrawdownEntry.occurred_on == carried,
            )
        ).one()
        now = calendar.at(calendar.day(date(2018, 10, 22)), 10)
        ledger.reverse_entry(
            session,
            paper,
            reason=f"Weighed with its pallets: 405 kg, not 450 kg. {signed_off:%B} is signed off, "
            f"so the correction is in {first_open:%B}.",
            actor=admin,
            now=now,
        )
        ledger.record_drawdown(
            session,
            resource=paper.resource,
            quantity=Decimal(405),
            unit=paper.unit,
            occurred_on=first_open,
            waiver_line=paper.waiver_line,
            purpose=paper.purpose,
            source=paper.source,
            source_ref=paper.source_ref,
            note=f"Corrects entry {paper.seq} ({carried})",
            actor=admin,
            now=now,
        )

    return run
