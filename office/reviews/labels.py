"""On-screen names of the review's vocabulary, in Korean and English."""

from __future__ import annotations

from office.i18n import _l, register_labels
from office.reviews.models import ItemKind, ReviewAction, ReviewState

KIND_LABELS = {
    ItemKind.OVERRIDE: _l("drawdown recorded anyway"),
    ItemKind.FLAGGED_USE: _l("use no longer covered"),
    ItemKind.DIP_VARIANCE: _l("dip variance"),
    ItemKind.METER_ANOMALY: _l("meter anomaly"),
    ItemKind.OVERDUE_RETURN: _l("overdue return"),
}
STATE_LABELS = {
    ReviewState.OPEN: _l("open"),
    ReviewState.QUERIED: _l("queried"),
    ReviewState.ANSWERED: _l("answered"),
    ReviewState.ESCALATED: _l("escalated"),
    ReviewState.ACKNOWLEDGED: _l("acknowledged"),
}
ACTION_LABELS = {
    ReviewAction.COMMENT: _l("commented on"),
    ReviewAction.QUERY: _l("queried"),
    ReviewAction.ANSWER: _l("answered"),
    ReviewAction.ESCALATE: _l("escalated"),
    ReviewAction.ACKNOWLEDGE: _l("acknowledged"),
    ReviewAction.REOPEN: _l("reopened"),
}
STATE_TONES = {
    ReviewState.OPEN: "bad",
    ReviewState.QUERIED: "warn",
    ReviewState.ANSWERED: "warn",
    ReviewState.ESCALATED: "bad",
    ReviewState.ACKNOWLEDGED: "ok",
}

register_labels({ItemKind: KIND_LABELS, ReviewState: STATE_LABELS, ReviewAction: ACTION_LABELS})
