"""Rules of the review: what a reviewer and the office may do with a flagged item, and the
sign-off that makes a month final."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from office.alerts.models import NoticeKind
from office.alerts.services import raise_notice
from office.audit.services import record_event
from office.auth.models import User
from office.auth.permissions import Permission, has_permission
from office.errors import ConflictError, ForbiddenError, InvalidInput, NotFoundError
from office.i18n import _l, _ln, format_datetime, label
from office.periods import services as periods
from office.periods.models import SignedOffMonth
from office.reviews import labels as _labels  # noqa: F401 (registers the on-screen names)
from office.reviews import queries
from office.reviews.models import ItemKind, ReviewAction, ReviewItem, ReviewNote, ReviewState
from office.waivers import checkpoints
from office.waivers.models import CheckpointKind

NOTE_MAX = 4000
# The actions that notify the other side, in the transaction of the note (`office.alerts`):
# a query goes to the office, its answer and an escalation to the reviewers.
NOTIFIED = {
    ReviewAction.QUERY: NoticeKind.QUERY_ASKED,
    ReviewAction.ANSWER: NoticeKind.QUERY_ANSWERED,
    ReviewAction.ESCALATE: NoticeKind.ITEM_ESCALATED,
}
NOTICE_WORDS = 300  # of a note, quoted in its notice
OPEN, QUERIED, ANSWERED = ReviewState.OPEN, ReviewState.QUERIED, ReviewState.ANSWERED
ESCALATED, ACKNOWLEDGED = ReviewState.ESCALATED, ReviewState.ACKNOWLEDGED

# action: (the states it may start from, the state it leads to (None: unchanged), who may take
# it, whether it needs words)
RULES: dict[ReviewAction, tuple[frozenset[ReviewState], ReviewState | None, Permission, bool]] = {
    ReviewAction.COMMENT: (frozenset(ReviewState), None, Permission.VIEW_REVIEW, True),
    ReviewAction.QUERY: (
        frozenset({OPEN, ANSWERED, ESCALATED}),
        QUERIED,
        Permission.REVIEW_ITEMS,
        True,
    ),
    ReviewAction.ANSWER: (frozenset({QUERIED}), ANSWERED, Permission.ANSWER_QUERIES, True),
    ReviewAction.ESCALATE: (
        frozenset({OPEN, QUERIED, ANSWERED}),
        ESCALATED,
        Permission.REVIEW_ITEMS,
        True,
    ),
    ReviewAction.ACKNOWLEDGE: (
        frozenset({OPEN, QUERIED, ANSWERED, ESCALATED}),
        ACKNOWLEDGED,
        Permission.REVIEW_ITEMS,
        False,
    ),
    ReviewAction.REOPEN: (frozenset({ACKNOWLEDGED}), OPEN, Permission.REVIEW_ITEMS, True),
}


def can_take(user: User, action: ReviewAction, state: ReviewState) -> bool:
    """Whether `user` may take `action` on an item in `state` (for views and templates too)."""
    starts, _to, permission, _words = RULES[action]
    return state in starts and has_permission(user, permission)


def _item_for_update(session: Session, kind: ItemKind, source_id: int) -> ReviewItem | None:
    return session.scalar(
        select(ReviewItem)
        .where(ReviewItem.kind == kind, ReviewItem.source_id == source_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def open_item(
    session: Session, kind: ItemKind, source_id: int, *, now: datetime, today: date
) -> ReviewItem:
    """The review item of the flagged record `kind` `source_id`, to attach a document to its
    thread: made (open) if nobody has taken it up yet, locked until the transaction ends.
    Like a comment, it may be added after the month's sign-off.

    Raises NotFoundError when no such record is flagged.
    """
    record = queries.find_record(session, kind, source_id, today=today)
    if record is None:
        raise NotFoundError(_l("No flagged item %(kind)s #%(id)d.", kind=label(kind), id=source_id))
    item = _item_for_update(session, kind, source_id)
    if item is None:
        item = ReviewItem(
            kind=kind,
            source_id=source_id,
            state=ReviewState.OPEN,
            month=periods.month_of(record.occurred_on),
            updated_at=now,
        )
        session.add(item)
        session.flush()
    return item


def take_action(
    session: Session,
    kind: ItemKind,
    source_id: int,
    action: ReviewAction,
    *,
    body: str,
    actor: User,
    now: datetime,
    today: date,
) -> ReviewItem:
    """Take `action` on the flagged record `kind` `source_id` and note it in its thread.

    Raises NotFoundError when no such record is flagged, ConflictError when the action does not
    fit the item's state or its month is signed off, InvalidInput when words are missing.
    """
    starts, to_state, permission, needs_words = RULES[action]
    if not has_permission(actor, permission):
        raise ForbiddenError(_l("Your role cannot do this."))
    record = queries.find_record(session, kind, source_id, today=today)
    if record is None:
        raise NotFoundError(_l("No flagged item %(kind)s #%(id)d.", kind=label(kind), id=source_id))
    body = (body or "").strip()
    if len(body) > NOTE_MAX:
        raise InvalidInput(_l("Write at most %(n)d characters.", n=NOTE_MAX), "body")
    if needs_words and not body:
        raise InvalidInput(_l("Write what you have to say."), "body")
    if to_state is not None:
        # Held until the commit: the month's sign-off comes before this change or after it.
        periods.lock_month(session, record.occurred_on)
    item = _item_for_update(session, kind, source_id)
    if item is None:
        item = ReviewItem(
            kind=kind,
            source_id=source_id,
            state=ReviewState.OPEN,
            month=periods.month_of(record.occurred_on),
            updated_at=now,
        )
        session.add(item)
        session.flush()
    if item.state not in starts:
        raise ConflictError(
            _l(
                "This item is %(state)s; it cannot be %(action)s now.",
                state=label(item.state),
                action=label(action),
            )
        )
    if to_state is not None and periods.is_signed_off(session, item.month):
        raise ConflictError(
            _l(
                "%(month)s is signed off; the review of its items is closed.",
                month=item.month.strftime("%Y-%m"),
            )
        )
    before = item.state
    item.state = to_state or item.state
    item.updated_at = now
    note = ReviewNote(
        item=item,
        at=now,
        author_id=actor.id,
        action=action,
        from_state=before,
        to_state=item.state,
        body=body,
    )
    session.add(note)
    session.flush()
    record_event(
        session,
        f"review.{action.value}",
        actor=actor,
        target=item,
        at=now,
        kind=kind.value,
        source_id=source_id,
        state=item.state.value,
    )
    notified = NOTIFIED.get(action)
    if notified is not None:
        raise_notice(
            session,
            notified,
            f"review:{action.value}:{note.id}",
            {
                "item_kind": kind.value,
                "id": source_id,
                "who": actor.display_name,
                "words": body[:NOTICE_WORDS],
            },
            "reviews.item",
            {"kind": kind.value, "source_id": source_id},
            now=now,
            actor=actor,
        )
    return item


def sign_off_month(
    session: Session,
    month: date,
    *,
    note: str,
    actor: User,
    now: datetime,
    today: date,
    ledger_keys: checkpoints.LedgerKeys | None = None,
) -> SignedOffMonth:
    """Sign `month` off: from now on nothing dated in it changes. With a signing key in
    `ledger_keys`, sign the ledger's head too: a checkpoint that covers every entry dated in
    the month, which its report prints.

    Raises InvalidInput for a month outside the office's records or not over yet,
    ConflictError when it is already signed off or any of its items is still open.
    """
    month = periods.month_of(month)
    if month < periods.month_of(periods.RECORDS_BEGIN):
        raise InvalidInput(
            _l(
                "The office's records begin in %(month)s.",
                month=periods.RECORDS_BEGIN.strftime("%Y-%m"),
            ),
            "month",
        )
    if periods.next_month(month) > today:
        raise InvalidInput(
            _l(
                "%(month)s is not over yet; a month is signed off once it has ended.",
                month=month.strftime("%Y-%m"),
            ),
            "month",
        )
    # Every write dated in the month holds the month shared until it commits: the sign-off
    # waits for those in flight, and those after it find the month signed off.
    periods.lock_month(session, month, exclusive=True)
    done = session.get(SignedOffMonth, month, populate_existing=True)
    if done is not None:
        raise ConflictError(
            _l(
                "%(month)s was already signed off on %(when)s.",
                month=month.strftime("%Y-%m"),
                when=format_datetime(done.signed_off_at),
            ),
            "month",
        )
    counts = queries.count_by_kind(session, today=today, month=month)
    still_open = sum(
        number
        for states in counts.values()
        for state, number in states.items()
        if state is not ACKNOWLEDGED
    )
    if still_open:
        raise ConflictError(
            _ln(
                "%(month)s still has %(num)d item under review; acknowledge it before "
                "signing the month off.",
                "%(month)s still has %(num)d items under review; acknowledge each before "
                "signing the month off.",
                still_open,
                month=month.strftime("%Y-%m"),
            ),
            "month",
        )
    signed = SignedOffMonth(
        month=month,
        signed_off_at=now,
        signed_off_by_id=actor.id,
        note=(note or "").strip()[:NOTE_MAX],
        summary={
            kind.value: {state.value: n for state, n in states.items() if n}
            for kind, states in counts.items()
        },
    )
    session.add(signed)
    session.flush()
    # Drawdowns dated in the month committed before the month's lock was granted: the head
    # signed now covers them all.
    checkpoint = checkpoints.make_checkpoint(
        session,
        ledger_keys or checkpoints.LedgerKeys(),
        kind=CheckpointKind.SIGN_OFF,
        now=now,
        month=month,
    )
    record_event(
        session,
        "month.signed_off",
        actor=actor,
        at=now,
        month=month.strftime("%Y-%m"),
        **({"ledger_seq": checkpoint.seq} if checkpoint is not None else {}),
    )
    return signed
