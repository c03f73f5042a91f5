"""Notices: raising them, once each, for the roles whose work they are (and the mails owed
for them to the users who chose mail), reading them, putting them away, and each user's
choice of how to receive each kind.

A notice is raised in the transaction of what it is about: the daily alerts' run
(`office.alerts.daily`) or an event of another feature (a query, a drawdown recorded
anyway...), whose service calls `raise_notice` before its caller commits. The event and its
notice, and the mails owed for it, commit together or not at all. A notice's key names its
event and is unique: an event raised twice (a retry, two workers) raises one notice, owes one
mail per user and channel, and the insert does nothing on a clash.

This module sits low, beside the audit trail: it imports no feature above `auth`, so any
feature's services may raise a notice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, event, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from office.alerts.labels import AUDIENCES, audience_of, kinds_for
from office.alerts.models import (
    Channel,
    DeliveryState,
    Notice,
    NoticeDelivery,
    NoticeDismissal,
    NoticeKind,
    NoticePreference,
)
from office.audit.services import record_event
from office.auth.models import User
from office.auth.permissions import Role
from office.errors import InvalidInput
from office.i18n import DEFAULT_LANGUAGE, LANGUAGES, _l, office_date

logger = logging.getLogger(__name__)

SHOWN = 20  # unread notices on a home page, newest first
LISTED = 200  # notices on the notices page
# Set on a session that owes mail: after its commit, a worker is asked to send it now (the
# sender's sweep every minute sends it anyway).
MAIL_OWED = "office.alerts.mail_owed"


def audience(*roles: Role) -> str:
    return "," + ",".join(role.value for role in roles) + ","


@dataclass(frozen=True)
class Found:
    """An event to notify: its kind, the key that names it, the facts its message says and
    the page it leads to."""

    kind: NoticeKind
    key: str
    facts: dict[str, Any]
    endpoint: str
    endpoint_args: dict[str, Any]


def _dialect(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def _insert_once(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, NoticeKind]]:
    """Insert the notices not raised yet; a key raised already, by an earlier run or one
    running at the same moment, is left as it is. Return the new ones' ids and kinds."""
    if not rows:
        return []
    statement = _dialect(session).insert(Notice).on_conflict_do_nothing(index_elements=["key"])
    return [
        (notice_id, NoticeKind(kind))
        for notice_id, kind in session.execute(
            statement.returning(Notice.id, Notice.kind), rows
        ).all()
    ]


def _owe_mail(
    session: Session, raised: list[tuple[int, NoticeKind]], *, now: datetime, actor: User | None
) -> int:
    """Owe a mail (by itself, or in a digest) for each new notice to each user of its roles
    who chose one for its kind; none to `actor`, who did what it says. Return how many."""
    wanted: dict[NoticeKind, list[tuple[int, Channel]]] = {}
    for kind in {kind for _id, kind in raised}:
        query = (
            select(User.id, NoticePreference.channel)
            .join(NoticePreference, NoticePreference.user_id == User.id)
            .where(
                NoticePreference.kind == kind,
                NoticePreference.channel.in_((Channel.EMAIL, Channel.DIGEST)),
                User.is_active.is_(True),
                User.role.in_(AUDIENCES[kind]),
            )
            .order_by(User.id)
        )
        if actor is not None:
            query = query.where(User.id != actor.id)
        wanted[kind] = [(user_id, Channel(channel)) for user_id, channel in session.execute(query)]
    rows = [
        {
            "notice_id": notice_id,
            "user_id": user_id,
            "channel": channel,
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for notice_id, kind in raised
        for user_id, channel in wanted[kind]
    ]
    if not rows:
        return 0
    session.execute(
        _dialect(session)
        .insert(NoticeDelivery)
        .on_conflict_do_nothing(index_elements=["notice_id", "user_id", "channel"]),
        rows,
    )
    if any(row["channel"] is Channel.EMAIL for row in rows):
        session.info[MAIL_OWED] = True
    return len(rows)


def raise_notices(
    session: Session,
    found: Iterable[Found],
    *,
    today: date,
    now: datetime,
    actor: User | None = None,
) -> int:
    """Raise a notice for each event in `found` not raised before, owe the mails its readers
    chose, and put it away for `actor` (who did what it says); return how many were new.
    The caller commits."""
    rows = [
        {
            "kind": each.kind,
            "key": each.key[:200],
            "audience": audience_of(each.kind),
            "facts": each.facts,
            "endpoint": each.endpoint,
            "endpoint_args": each.endpoint_args,
            "raised_on": today,
            "raised_at": now,
        }
        for each in found
    ]
    raised = _insert_once(session, rows)
    if raised:
        _owe_mail(session, raised, now=now, actor=actor)
        read = [notice_id for notice_id, kind in raised if actor and actor.role in AUDIENCES[kind]]
        if actor is not None and read:
            session.execute(
                _dialect(session)
                .insert(NoticeDismissal)
                .on_conflict_do_nothing(index_elements=["notice_id", "user_id"]),
                [
                    {"notice_id": notice_id, "user_id": actor.id, "dismissed_at": now}
                    for notice_id in read
                ],
            )
    return len(raised)


def raise_notice(
    session: Session,
    kind: NoticeKind,
    key: str,
    facts: dict[str, Any],
    endpoint: str,
    endpoint_args: dict[str, Any],
    *,
    now: datetime,
    actor: User | None,
) -> bool:
    """Raise the notice of one event (named by `key`) in the caller's transaction, unless it
    was raised already; return whether it is new. `facts` are what its message says in
    either language (`office.alerts.labels.notice_message`), `endpoint` the page it opens."""
    found = Found(kind, key, facts, endpoint, endpoint_args)
    return raise_notices(session, [found], today=office_date(now), now=now, actor=actor) == 1


@event.listens_for(Session, "after_commit")
def _mail_owed_committed(session: Session) -> None:
    if not session.info.pop(MAIL_OWED, False):
        return
    from flask import current_app, has_app_context

    if not has_app_context():
        return
    # After the commit, never inside it: a worker that took the message before the commit
    # would find nothing to send. The sweep sends it within a minute if this is lost.
    try:
        from office.jobs.queue import queue_of

        queue_of(current_app).enqueue_mail()
    except Exception:
        logger.exception("mail owed: could not ask a worker to send it now")


@event.listens_for(Session, "after_rollback")
def _mail_owed_rolled_back(session: Session) -> None:
    session.info.pop(MAIL_OWED, None)


def _of(user: User) -> ColumnElement[bool]:
    return Notice.audience.contains(f",{user.role.value},")


def _read_by(user: User) -> ColumnElement[bool]:
    return exists().where(
        NoticeDismissal.notice_id == Notice.id, NoticeDismissal.user_id == user.id
    )


def notices_for(session: Session, user: User, *, limit: int = SHOWN) -> list[Notice]:
    """The notices of `user`'s role that they have not read (put away), newest first."""
    return list(
        session.scalars(
            select(Notice)
            .where(_of(user), ~_read_by(user))
            .order_by(Notice.raised_on.desc(), Notice.id.desc())
            .limit(limit)
        )
    )


def unread_count(session: Session, user: User) -> int:
    """How many notices of `user`'s role they have not read: the header's bell."""
    return session.scalar(select(func.count()).where(_of(user), ~_read_by(user))) or 0


def all_notices(session: Session, user: User, *, limit: int = LISTED) -> list[tuple[Notice, bool]]:
    """The notices of `user`'s role, newest first, each with whether they have read it."""
    return [
        (notice, bool(read))
        for notice, read in session.execute(
            select(Notice, _read_by(user))
            .where(_of(user))
            .order_by(Notice.raised_on.desc(), Notice.id.desc())
            .limit(limit)
        )
    ]


def visible_to(notice: Notice, user: User) -> bool:
    return f",{user.role.value}," in notice.audience


def dismiss(session: Session, notice: Notice, user: User, *, now: datetime) -> None:
    """Put `notice` away for `user` (again: nothing more)."""
    session.execute(
        _dialect(session)
        .insert(NoticeDismissal)
        .values(notice_id=notice.id, user_id=user.id, dismissed_at=now)
        .on_conflict_do_nothing(index_elements=["notice_id", "user_id"])
    )


# --- each user's choice ----------------------------------------------------------------


def choices_of(session: Session, user: User) -> dict[NoticeKind, Channel]:
    """How `user` receives each kind their role receives (in the app only unless chosen)."""
    chosen: dict[NoticeKind, Channel] = {
        kind: channel
        for kind, channel in session.execute(
            select(NoticePreference.kind, NoticePreference.channel).where(
                NoticePreference.user_id == user.id
            )
        )
    }
    return {kind: Channel(chosen.get(kind, Channel.APP)) for kind in kinds_for(user.role)}


def choose_channels(
    session: Session,
    user: User,
    choices: Mapping[str, str],
    *,
    language: str,
    now: datetime,
) -> dict[NoticeKind, Channel]:
    """Record how `user` receives each kind of their role, from `choices` (kind: channel, as
    the page sends them); `language` is the one they read the page in, the mails' language
    until they choose one. Return what changed.

    Raises InvalidInput, changing nothing, when a kind of their role is missing or has no
    known channel, or a kind is not one their role receives.
    """
    kinds = kinds_for(user.role)
    names = {kind.value for kind in kinds}
    unknown = sorted(set(choices) - names)
    if unknown:
        raise InvalidInput(
            _l("Your role does not receive notices of this kind: %(kind)s.", kind=unknown[0])
        )
    channels = {channel.value for channel in Channel}
    wanted: dict[NoticeKind, Channel] = {}
    for kind in kinds:
        value = choices.get(kind.value, "")
        if value not in channels:
            raise InvalidInput(
                _l(
                    "Choose for each kind of notice: in the app only, also by email, or also "
                    "in a daily digest."
                ),
                kind.value,
            )
        wanted[kind] = Channel(value)
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    before = choices_of(session, user)
    changed = {kind: channel for kind, channel in wanted.items() if before[kind] is not channel}
    # One statement that inserts or updates each row: two saves at once end with the later.
    insert = _dialect(session).insert(NoticePreference)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["user_id", "kind"],
            set_={
                "channel": insert.excluded.channel,
                "language": insert.excluded.language,
                "updated_at": insert.excluded.updated_at,
            },
        ),
        [
            {
                "user_id": user.id,
                "kind": kind,
                "channel": channel,
                "language": language,
                "updated_at": now,
            }
            for kind, channel in wanted.items()
        ],
    )
    session.flush()
    if changed:
        record_event(
            session,
            "notices.channels_changed",
            actor=user,
            target=user,
            at=now,
            channels=", ".join(
                f"{kind.value}={channel.value}" for kind, channel in sorted(changed.items())
            ),
        )
    return changed


# --- the mails owed ----------------------------------------------------------------------

# A mail that could not be sent is tried again after 1, 2, 4 and 8 minutes, then given up
# (failed, with its error kept); its notice stays in the app whatever happens.
MAIL_ATTEMPTS = 5
# A claim older than this is a worker that died at the SMTP server: the mail is owed again
# (it may have gone out: at most once more, never lost).
SENDING_STALE = timedelta(minutes=10)


def retry_after(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def _rowcount(result: Any) -> int:
    return cast("CursorResult[Any]", result).rowcount


def due_mails(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """The mails (by themselves) owed and due now, oldest first."""
    return list(
        session.scalars(
            select(NoticeDelivery.id)
            .where(
                NoticeDelivery.channel == Channel.EMAIL,
                NoticeDelivery.state == DeliveryState.PENDING,
                NoticeDelivery.next_attempt_at <= now,
            )
            .order_by(NoticeDelivery.next_attempt_at, NoticeDelivery.id)
            .limit(limit)
        )
    )


def claim_mail(session: Session, delivery_id: int, *, now: datetime) -> NoticeDelivery | None:
    """Take the owed mail `delivery_id` for this worker (pending to sending, counting an
    attempt); None when another worker has it, or it is sent, or not due. One conditional
    UPDATE: of two workers at once, one changes the row and the other finds it changed."""
    claimed = session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.id == delivery_id,
            NoticeDelivery.state == DeliveryState.PENDING,
            NoticeDelivery.next_attempt_at <= now,
        )
        .values(state=DeliveryState.SENDING, attempts=NoticeDelivery.attempts + 1, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(claimed) != 1:
        return None
    return session.scalars(
        select(NoticeDelivery)
        .where(NoticeDelivery.id == delivery_id)
        .execution_options(populate_existing=True)
    ).one()


def _digest_due(now: datetime, retries_only: bool) -> list[ColumnElement[bool]]:
    due = [
        NoticeDelivery.channel == Channel.DIGEST,
        NoticeDelivery.state == DeliveryState.PENDING,
        NoticeDelivery.next_attempt_at <= now,
    ]
    if retries_only:
        due.append(NoticeDelivery.attempts > 0)
    return due


def claim_digest(
    session: Session, user_id: int, *, now: datetime, retries_only: bool = False
) -> list[int]:
    """Take every digest line owed to `user_id` and due (with `retries_only`, those of a
    digest that failed) for this worker; return their ids (none when another worker took
    them: one conditional UPDATE)."""
    return list(
        session.scalars(
            update(NoticeDelivery)
            .where(NoticeDelivery.user_id == user_id, *_digest_due(now, retries_only))
            .values(
                state=DeliveryState.SENDING, attempts=NoticeDelivery.attempts + 1, claimed_at=now
            )
            .returning(NoticeDelivery.id)
            .execution_options(synchronize_session=False)
        )
    )


def digest_readers(session: Session, *, now: datetime, retries_only: bool = False) -> list[int]:
    """The users owed digest lines due now (with `retries_only`, of a digest that failed)."""
    return list(
        session.scalars(
            select(NoticeDelivery.user_id)
            .where(*_digest_due(now, retries_only))
            .group_by(NoticeDelivery.user_id)
            .order_by(NoticeDelivery.user_id)
        )
    )


def mails_sent(session: Session, delivery_ids: list[int], *, now: datetime) -> None:
    """Mark the claimed `delivery_ids` sent."""
    session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.id.in_(delivery_ids), NoticeDelivery.state == DeliveryState.SENDING)
        .values(state=DeliveryState.SENT, sent_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )


def mails_not_sent(session: Session, delivery_ids: list[int], error: str, *, now: datetime) -> None:
    """Owe the claimed `delivery_ids` again after a wait that grows with each attempt, or
    give them up (failed) after the last; keep the error for the administrators."""
    rows = session.scalars(
        select(NoticeDelivery)
        .where(NoticeDelivery.id.in_(delivery_ids), NoticeDelivery.state == DeliveryState.SENDING)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for row in rows:
        row.last_error = error[:500]
        if row.attempts >= MAIL_ATTEMPTS:
            row.state = DeliveryState.FAILED
        else:
            row.state = DeliveryState.PENDING
            row.next_attempt_at = now + retry_after(row.attempts)
    session.flush()


def mails_dropped(session: Session, delivery_ids: list[int], reason: str) -> None:
    """Give up the claimed `delivery_ids` without sending them (their reader is gone)."""
    session.execute(
        update(NoticeDelivery)
        .where(NoticeDelivery.id.in_(delivery_ids), NoticeDelivery.state == DeliveryState.SENDING)
        .values(state=DeliveryState.FAILED, last_error=reason[:500])
        .execution_options(synchronize_session=False)
    )


def release_stale_mails(session: Session, *, now: datetime) -> int:
    """Owe again the mails whose worker died while sending them; return how many."""
    released = session.execute(
        update(NoticeDelivery)
        .where(
            NoticeDelivery.state == DeliveryState.SENDING,
            NoticeDelivery.claimed_at < now - SENDING_STALE,
        )
        .values(state=DeliveryState.PENDING, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(released)
