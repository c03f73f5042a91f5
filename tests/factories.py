"""Small functions that arrange the rows a test needs."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from office.audit.models import AuditEvent
from office.auth.models import User
from office.auth.permissions import Role
from office.staffing import services as staffing
from office.staffing.models import Category, Position, Side, StaffMember, Stay
from office.waivers import ledger, services
from office.waivers.models import (
    Authority,
    DrawdownEntry,
    Purpose,
    Resource,
    Waiver,
    WaiverLine,
    WaiverStatus,
)
from office.waivers.units import Unit

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


@cache
def _password_hash(password: str) -> str:
    # Hashing with scrypt takes tens of milliseconds; tests share one hash per password.
    return generate_password_hash(password, method="scrypt")


def make_user(
    session: Session,
    role: Role | str = Role.ADMIN,
    *,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
    superuser: bool = False,
    active: bool = True,
) -> User:
    number = next(_numbers)
    user = User(
        email=email or f"user{number}@test.example",
        display_name=name or f"Test user {number}",
        role=Role(role),
        is_superuser=superuser,
        is_active=active,
        password_hash=_password_hash(password),
    )
    session.add(user)
    session.commit()
    return user


# --- waivers and the ledger ---------------------------------------------------------------

NOW = datetime(2018, 12, 31, 3, 0, tzinfo=UTC)  # noon in Seoul on the last day of 2018
_references = itertools.count(1)


def make_resource(
    session: Session,
    code: str = "diesel",
    *,
    hs_code: str = "2710.19",
    unit: Unit | str = Unit.L,
    barrels_per_tonne: str | None = "7.23",
    name: str | None = None,
) -> Resource:
    existing = services.find_resource(session, code)
    if existing is not None:
        return existing
    resource = services.save_resource(
        session,
        code=code,
        name_ko=name or code,
        name_en=name or code.title(),
        hs_code=hs_code,
        unit=unit,
        barrels_per_tonne=barrels_per_tonne,
        actor=None,
        now=NOW,
    )
    session.commit()
    return resource


def make_steel(session: Session) -> Resource:
    return make_resource(session, "steel", hs_code="7216.10", unit=Unit.T, barrels_per_tonne=None)


def make_rice(session: Session) -> Resource:
    return make_resource(session, "rice", hs_code="1006.30", unit=Unit.KG, barrels_per_tonne=None)


def make_waiver(
    session: Session,
    lines: list[tuple[Resource, Unit | str, str, str | None]],
    *,
    status: WaiverStatus = WaiverStatus.GRANTED,
    valid_from: date | None = date(2018, 1, 1),
    valid_until: date | None = date(2018, 12, 31),
    reference: str | None = None,
    authority: Authority = Authority.UN_1718_COMMITTEE,
    standing: bool | None = None,
) -> Waiver:
    """A waiver with `lines` of (resource, unit, requested, granted), standing as its
    authority has it unless `standing` says."""
    waiver = services.create_waiver(
        session,
        reference=reference or f"TEST-{next(_references):04d}",
        authority=authority,
        standing=standing,
        title="Test waiver",
        status=status,
        valid_from=valid_from,
        valid_until=valid_until,
        lines=[services.LineSpec(r, Unit(u), q, g) for r, u, q, g in lines],
        actor=None,
        now=NOW,
    )
    session.commit()
    return waiver


def make_approval(
    session: Session,
    lines: list[tuple[Resource, Unit | str, str, str | None]] | None = None,
    *,
    reference: str | None = None,
    blanket: bool = False,
    **kwargs: object,
) -> Waiver:
    """A ministry carry-out approval (individual unless `blanket`) with `lines`, as
    `make_waiver` makes it; the one of that reference if there is one already."""
    if reference is not None:
        existing = session.scalar(select(Waiver).where(Waiver.reference == reference))
        if existing is not None:
            return existing
    authority = Authority.ROK_MOU_BLANKET if blanket else Authority.ROK_MOU_INDIVIDUAL
    return make_waiver(
        session,
        lines or [],
        reference=reference or f"MOU-T-{next(_references):04d}",
        authority=authority,
        **kwargs,  # type: ignore[arg-type]
    )


def draw(
    session: Session,
    resource: Resource,
    quantity: object,
    *,
    unit: Unit | str | None = None,
    line: WaiverLine | None = None,
    on: date = date(2018, 10, 1),
    actor: User | None = None,
    override: str | None = None,
    now: datetime = NOW,
) -> DrawdownEntry:
    entry = ledger.record_drawdown(
        session,
        resource=resource,
        quantity=quantity,
        unit=unit or resource.unit,
        occurred_on=on,
        waiver_line=line,
        purpose=Purpose.OPERATION,
        override_reason=override,
        actor=actor,
        now=now,
    )
    session.commit()
    return entry


# --- staffing -----------------------------------------------------------------------------

_people = itertools.count(1)


def make_person(
    session: Session,
    side: Side | str = Side.SOUTH,
    category: Category | str = Category.OFFICIAL,
    *,
    name: str | None = None,
    qualified: bool = True,
    active_from: date = date(2018, 1, 1),
    active_until: date | None = None,
) -> StaffMember:
    number = next(_people)
    person = staffing.save_person(
        session,
        staffing.PersonInput(
            name_ko=name or f"직원{number}",
            name_latin=f"Staff {number}",
            side=Side(side),
            category=Category(category),
            agency="통일부",
            position=Position.STAFF,
            is_duty_qualified=qualified,
            active_from=active_from,
            active_until=active_until,
        ),
        actor=None,
        now=NOW,
    )
    session.commit()
    return person


def stay(
    session: Session, person: StaffMember, first: date, last: date, pinned: bool = False
) -> Stay:
    result = staffing.add_stay(session, person, first, last, actor=None, now=NOW, pinned=pinned)
    session.commit()
    return result


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    """The audit events recorded as `action`, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def recorded(event: AuditEvent) -> tuple[int | None, datetime, str | None, str | None]:
    """Who recorded `event`, when, and on what: (actor id, time, object type, object id)."""
    return event.actor_id, event.occurred_at, event.object_type, event.object_id
