"""Recording audit events; every service that changes something calls `record_event`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from office.audit.models import AuditEvent


def record_event(
    session: Session,
    action: str,
    *,
    actor: Any | None,
    target: Any | None = None,
    at: datetime,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event for `action` by `actor` on `target` (a mapped object with an id),
    timed `at` (the `now` its service was given)."""
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        object_type=type(target).__name__ if target is not None else None,
        object_id=str(target.id) if target is not None else None,
        occurred_at=at,
        detail={key: _plain(value) for key, value in detail.items()},
    )
    session.add(event)
    return event


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
