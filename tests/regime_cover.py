"""Steel taken north in October 2018 under every regime, the way the dispute went: on the
ministry's approval with no UN exemption (recorded anyway), on both, and two entries written
before the regimes, each screened under one regime only (the other "not checked at the time").

Steel (HS 7216.10) is prohibited under the UN's rules, needs the ministry's approval like every
item, and is outside the US EAR (Korean, no US content): "not required" there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from office.auth.models import User
from office.waivers import ledger
from office.waivers.models import Authority, DrawdownEntry, Purpose, Regime, WaiverLine
from tests.factories import NOW, make_steel, make_waiver

MINISTRY_APPROVAL = "MOU-CO-2018-07"
UN_EXEMPTION = "1718-EX-2018-03"
REASON = "The government's position: the ministry's approval suffices for repairs."


@dataclass
class Story:
    ministry_line: WaiverLine
    un_line: WaiverLine
    # Screened under the ministry's regime alone (before the others were in force): covered.
    old_ministry: DrawdownEntry
    # Screened under the UN's alone: covered by the exemption.
    old_un: DrawdownEntry
    # Every regime in force: the ministry's approval, no UN exemption, recorded anyway.
    ministry_only: DrawdownEntry
    # Every regime in force: covered under the UN's and the ministry's.
    both: DrawdownEntry

    def ids(self, *names: str) -> list[int]:
        return [getattr(self, name).id for name in names]


def in_force(session: Session, codes: Sequence[str]) -> None:
    session.execute(update(Regime).values(in_force=Regime.code.in_(list(codes))))
    session.commit()


def record(
    session: Session,
    lines: Sequence[WaiverLine],
    tonnes: str,
    on: date,
    *,
    actor: User | None = None,
    override: str | None = None,
) -> DrawdownEntry:
    entry = ledger.record_drawdown(
        session,
        resource=lines[0].resource,
        quantity=tonnes,
        unit="t",
        occurred_on=on,
        authorisations=lines,
        purpose=Purpose.REPAIR,
        override_reason=override,
        actor=actor,
        now=NOW,
    )
    session.commit()
    return entry


def ministry_without_un(session: Session, admin: User) -> Story:
    """The story above, every regime in force at the end (take the `every_regime` fixture)."""
    steel = make_steel(session)
    ministry = make_waiver(
        session,
        [(steel, "t", "100", "100")],
        reference=MINISTRY_APPROVAL,
        authority=Authority.ROK_MOU_INDIVIDUAL,
    ).lines[0]
    un = make_waiver(session, [(steel, "t", "50", "50")], reference=UN_EXEMPTION).lines[0]
    in_force(session, ["rok"])
    old_ministry = record(session, [ministry], "2", date(2018, 10, 1))
    in_force(session, ["un"])
    old_un = record(session, [un], "3", date(2018, 10, 2))
    in_force(session, ["un", "rok", "us"])
    ministry_only = record(
        session, [ministry], "5", date(2018, 10, 3), actor=admin, override=REASON
    )
    both = record(session, [ministry, un], "7", date(2018, 10, 4))
    story = Story(ministry, un, old_ministry, old_un, ministry_only, both)
    assert [len(e.screenings) for e in (old_ministry, old_un, ministry_only, both)] == [1, 1, 3, 3]
    assert ministry_only.flagged and not both.flagged
    assert ministry_only.base_quantity == Decimal(5)
    return story
