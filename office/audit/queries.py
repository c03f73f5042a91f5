"""The audit trail as one list: every recorded action and every login attempt, newest first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    and_,
    cast,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from office.audit.models import AuditEvent
from office.auth.models import LoginAttempt, LoginOutcome, User
from office.i18n import SEOUL

PAGE_SIZE = 100


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    action: str = ""  # a prefix: "delivery." or "login"
    date_from: date | None = None
    date_to: date | None = None


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=SEOUL)


def trail(filters: AuditFilters) -> Select[Any] | CompoundSelect[Any]:
    """A UNION of audit events and login attempts as (occurred_at, source, id, actor_id,
    email, action, object_type, object_id, detail)."""
    events = select(
        AuditEvent.occurred_at.label("occurred_at"),
        literal("event").label("source"),
        AuditEvent.id.label("id"),
        AuditEvent.actor_id.label("actor_id"),
        literal(None).cast(LoginAttempt.email.type).label("email"),
        AuditEvent.action.label("action"),
        AuditEvent.object_type.label("object_type"),
        AuditEvent.object_id.label("object_id"),
        AuditEvent.detail.label("detail"),
    )
    logins = select(
        LoginAttempt.attempted_at,
        literal("login"),
        LoginAttempt.id,
        LoginAttempt.user_id,
        LoginAttempt.email,
        literal("login.", String()).concat(cast(LoginAttempt.outcome, String(20))).label("action"),
        literal(None).cast(AuditEvent.object_type.type),
        LoginAttempt.remote_addr,
        literal(None).cast(AuditEvent.detail.type),
    )
    if filters.actor_id is not None:
        events = events.where(AuditEvent.actor_id == filters.actor_id)
        logins = logins.where(LoginAttempt.user_id == filters.actor_id)
    if filters.date_from is not None:
        events = events.where(AuditEvent.occurred_at >= _instant(filters.date_from))
        logins = logins.where(LoginAttempt.attempted_at >= _instant(filters.date_from))
    if filters.date_to is not None:
        until = _instant(filters.date_to + timedelta(days=1))
        events = events.where(AuditEvent.occurred_at < until)
        logins = logins.where(LoginAttempt.attempted_at < until)
    parts = [events.where(AuditEvent.action.startswith(filters.action, autoescape=True))]
    outcomes = [o for o in LoginOutcome if f"login.{o.value}".startswith(filters.action)]
    if outcomes:
        parts.append(logins.where(LoginAttempt.outcome.in_(outcomes)))
    return union_all(*parts) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class TrailRow:
    occurred_at: datetime
    source: str
    id: int
    actor: User | None
    email: str | None
    action: str
    object_type: str | None
    object_id: str | None
    detail: dict[str, Any] | None


def _rows(session: Session, query: Select[Any]) -> list[TrailRow]:
    values = session.execute(query).all()
    ids = {v.actor_id for v in values if v.actor_id is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    return [
        TrailRow(
            v.occurred_at,
            v.source,
            v.id,
            users.get(v.actor_id),
            v.email,
            v.action,
            v.object_type,
            v.object_id,
            v.detail,
        )
        for v in values
    ]


def _ordered(filters: AuditFilters, after: tuple[datetime, str, int] | None) -> Any:
    inner = trail(filters).subquery("trail")
    query = select(inner)
    if after is not None:
        at, source, row_id = after
        query = query.where(
            or_(
                inner.c.occurred_at < at,
                and_(
                    inner.c.occurred_at == at,
                    or_(
                        inner.c.source > source, and_(inner.c.source == source, inner.c.id < row_id)
                    ),
                ),
            )
        )
    return query.order_by(inner.c.occurred_at.desc(), inner.c.source, inner.c.id.desc())


def trail_page(
    session: Session,
    filters: AuditFilters,
    *,
    after: tuple[datetime, str, int] | None = None,
    size: int = PAGE_SIZE,
) -> tuple[list[TrailRow], tuple[datetime, str, int] | None]:
    """Up to `size` rows of the trail after the cursor, newest first, and the next cursor."""
    rows = _rows(session, _ordered(filters, after).limit(size + 1))
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1] if more and rows else None
    return rows, ((last.occurred_at, last.source, last.id) if last else None)


def iter_trail(session: Session, filters: AuditFilters, batch: int = 1000) -> Iterator[TrailRow]:
    """Every row of the trail, newest first, a batch at a time (for the export)."""
    after = None
    while True:
        rows, after = trail_page(session, filters, after=after, size=batch)
        yield from rows
        if after is None:
            return
