"""Demo review: flagged items in each state and one signed-off month (September 2018).

September's items are acknowledged and the month signed off in October; a September entry
corrected afterwards lands in October, linked to what it corrects. October's computers are
queried, answered and escalated; November's dip variance is answered; December's heating
diesel awaits the office's answer; January's paint, used after its waiver ran out, is open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.auth.models import User
from office.i18n import SEOUL
from office.reviews import queries, services
from office.reviews.models import ItemKind, ReviewAction
from office.waivers import checkpoints, ledger
from office.waivers.models import DrawdownEntry

SIGNED_OFF = date(2018, 9, 1)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SEOUL).astimezone(UTC)


def schedule(
    session: Session,
    *,
    admin: User,
    reviewer: User,
    waivers: Any,
    timeline: Any,
    ledger_keys: checkpoints.LedgerKeys | None = None,
) -> None:
    """Put the reviewers' work of autumn 2018 on `timeline` (the sign-off signs the ledger's
    head with `ledger_keys`, if given)."""

    def flagged(month: date, kind: ItemKind) -> list[int]:
        rows, _cursor = queries.queue_page(
            session, queries.QueueFilters(month=month, kind=kind), today=date(2019, 2, 1)
        )
        return [row.source_id for row in rows]

    def step(
        day: date,
        hour: int,
        month: date,
        kind: ItemKind,
        action: ReviewAction,
        actor: User,
        body: str = "",
    ) -> None:
        def run() -> None:
            for source_id in flagged(month, kind):
                services.take_action(
                    session,
                    kind,
                    source_id,
                    action,
                    body=body,
                    actor=actor,
                    now=_at(day, hour),
                    today=day,
                )

        timeline.at(day, run, order=6)

    september, october = date(2018, 9, 1), date(2018, 10, 1)
    november, december = date(2018, 11, 1), date(2018, 12, 1)
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
        "Why was diesel from the repair waiver's lot used after it expired on 2018-09-13?",
    )
    step(
        date(2018, 10, 9),
        9,
        september,
        ItemKind.FLAGGED_USE,
        ReviewAction.ANSWER,
        admin,
        "The generator tank still held the repair-period lot; the next issue came from it "
        "first in, first out. The blanket approval covers the same use from 2018-08-14.",
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
        "The second welder stays for the winter repairs; return by 2019-03-31.",
    )
    timeline.at(date(2018, 10, 15), _sign_off(session, reviewer, ledger_keys), order=7)
    timeline.at(date(2018, 10, 22), _correct_september(session, admin, waivers), order=7)
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
        "A weeping drain-valve seal; the seal was replaced on 2018-11-19 and the spill "
        "absorbed. Nothing left the compound.",
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
    session: Session, reviewer: User, ledger_keys: checkpoints.LedgerKeys | None
) -> Callable[[], object]:
    def run() -> object:
        return services.sign_off_month(
            session,
            SIGNED_OFF,
            note="All September items reviewed.",
            actor=reviewer,
            now=_at(date(2018, 10, 15), 17),
            today=date(2018, 10, 15),
            ledger_keys=ledger_keys,
        )

    return run


def _correct_september(session: Session, admin: User, waivers: Any) -> Callable[[], None]:
    def run() -> None:
        # The paper carried north on 2018-09-20 was weighed with its pallets.
        paper = session.scalars(
            select(DrawdownEntry).where(
                DrawdownEntry.resource_id == waivers.resources["paper"].id,
                DrawdownEntry.occurred_on == date(2018, 9, 20),
            )
        ).one()
        now = _at(date(2018, 10, 22), 10)
        ledger.reverse_entry(
            session,
            paper,
            reason="Weighed with its pallets: 405 kg, not "
            "450 kg. September is signed off, so the correction is in October.",
            actor=admin,
            now=now,
        )
        ledger.record_drawdown(
            session,
            resource=paper.resource,
            quantity=Decimal(405),
            unit=paper.unit,
            occurred_on=date(2018, 10, 1),
            waiver_line=paper.waiver_line,
            purpose=paper.purpose,
            source=paper.source,
            source_ref=paper.source_ref,
            note=f"Corrects entry {paper.seq} (2018-09-20)",
            actor=admin,
            now=now,
        )

    return run
