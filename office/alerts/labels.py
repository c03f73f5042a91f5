"""What a notice says, in the reader's language, from the facts it was raised with."""

from __future__ import annotations

from office.alerts.models import Notice, NoticeKind
from office.i18n import _


def notice_message(notice: Notice) -> str:
    facts = notice.facts
    match notice.kind:
        case NoticeKind.LINE_75:
            return _(
                "%(waiver)s line %(line)s (%(resource)s) has passed 75%% of its cap: "
                "%(percent)s%% used.",
                **facts,
            )
        case NoticeKind.LINE_90:
            return _(
                "%(waiver)s line %(line)s (%(resource)s) has passed 90%% of its cap: "
                "%(percent)s%% used.",
                **facts,
            )
        case NoticeKind.RUNS_OUT:
            return _(
                "%(waiver)s line %(line)s (%(resource)s) runs out on %(on)s at the last 30 "
                "days' pace, before its waiver ends.",
                **facts,
            )
        case NoticeKind.WAIVER_EXPIRING:
            return _("Waiver %(waiver)s ends on %(until)s.", **facts)
        case NoticeKind.RETURN_OVERDUE:
            return _("%(resource)s was due back south by %(by)s and is still on site.", **facts)
        case NoticeKind.DAY_NOT_SIGNED_OFF:
            return _("The daily log of %(day)s is not signed off two days on.", **facts)
