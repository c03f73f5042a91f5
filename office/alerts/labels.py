"""The one place that knows each kind of notice: whose work it is (the roles it goes to), what
it is called where a user chooses how to receive it, and what a notice of it says, in the
reader's language, from the facts it was raised with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from office.alerts.models import Channel, Notice, NoticeKind
from office.auth.permissions import Role
from office.i18n import _, _l, current_locale_code, label

_WAIVERS = (Role.REVIEWER, Role.ADMIN)

# Who receives each kind: every active user of these roles.
AUDIENCES: dict[NoticeKind, tuple[Role, ...]] = {
    NoticeKind.LINE_75: _WAIVERS,
    NoticeKind.LINE_90: _WAIVERS,
    NoticeKind.RUNS_OUT: _WAIVERS,
    NoticeKind.WAIVER_EXPIRING: _WAIVERS,
    NoticeKind.RETURN_OVERDUE: (Role.ADMIN,),
    NoticeKind.DAY_NOT_SIGNED_OFF: (Role.ADMIN,),
    NoticeKind.QUERY_ASKED: (Role.ADMIN,),
    NoticeKind.QUERY_ANSWERED: (Role.REVIEWER,),
    NoticeKind.ITEM_ESCALATED: (Role.REVIEWER,),
    NoticeKind.RECORDED_ANYWAY: (Role.REVIEWER,),
    NoticeKind.LIST_AMENDED: (Role.SCHEDULER,),
    NoticeKind.RULE_BROKEN: (Role.SCHEDULER,),
}

KIND_LABELS: dict[NoticeKind, Any] = {
    NoticeKind.LINE_75: _l("A waiver line passes %(percent)s%% of its cap", percent=75),
    NoticeKind.LINE_90: _l("A waiver line passes %(percent)s%% of its cap", percent=90),
    NoticeKind.RUNS_OUT: _l("A waiver line runs out before its waiver ends"),
    NoticeKind.WAIVER_EXPIRING: _l("A waiver ends within 30 days"),
    NoticeKind.RETURN_OVERDUE: _l("Equipment is overdue to go back south"),
    NoticeKind.DAY_NOT_SIGNED_OFF: _l("A daily log is not signed off after two days"),
    NoticeKind.QUERY_ASKED: _l("A reviewer asks the office a question"),
    NoticeKind.QUERY_ANSWERED: _l("The office answers a query"),
    NoticeKind.ITEM_ESCALATED: _l("A review item is escalated"),
    NoticeKind.RECORDED_ANYWAY: _l("A refused drawdown is recorded anyway"),
    NoticeKind.LIST_AMENDED: _l("A crossing list changes after it was sent"),
    NoticeKind.RULE_BROKEN: _l("A staffing rule is broken in the coming week"),
}

CHANNEL_LABELS: dict[Channel, Any] = {
    Channel.APP: _l("In the app only"),
    Channel.EMAIL: _l("Also by email"),
    Channel.DIGEST: _l("Also in a daily digest"),
}


def kinds_for(role: Role) -> list[NoticeKind]:
    """The kinds of notice a user of `role` receives, in the order of the settings page."""
    return [kind for kind in NoticeKind if role in AUDIENCES[kind]]


def audience_of(kind: NoticeKind) -> str:
    """The roles of `kind` as a notice stores them: ",admin,reviewer," (one LIKE finds them)."""
    return "," + ",".join(role.value for role in AUDIENCES[kind]) + ","


def _item(facts: dict[str, Any]) -> str:
    # Imported here: reviews sits above the alerts that its own services raise.
    from office.reviews.models import ItemKind

    return f"{label(ItemKind(facts['item_kind']))} #{facts['id']}"


def _rule(facts: dict[str, Any]) -> str:
    from office.staffing.checks import Rule

    return label(Rule(facts["rule"]))


def _side(facts: dict[str, Any]) -> str:
    from office.staffing.models import Side

    return label(Side(facts["side"]))


def _amount(facts: dict[str, Any]) -> str:
    from office.waivers.units import format_amount

    return format_amount(Decimal(facts["quantity"]), facts["unit"])


def _person(facts: dict[str, Any]) -> str:
    if current_locale_code() != "ko" and facts.get("person_en"):
        return str(facts["person_en"])
    return str(facts["person"])


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
        case NoticeKind.QUERY_ASKED:
            return _(
                "%(who)s asks the office about %(item)s: %(words)s",
                who=facts["who"],
                item=_item(facts),
                words=facts["words"],
            )
        case NoticeKind.QUERY_ANSWERED:
            return _(
                "%(who)s answered the query on %(item)s: %(words)s",
                who=facts["who"],
                item=_item(facts),
                words=facts["words"],
            )
        case NoticeKind.ITEM_ESCALATED:
            return _(
                "%(who)s escalated %(item)s: %(words)s",
                who=facts["who"],
                item=_item(facts),
                words=facts["words"],
            )
        case NoticeKind.RECORDED_ANYWAY:
            return _(
                "%(who)s recorded a refused drawdown of %(amount)s of %(resource)s on %(on)s "
                "anyway: %(reason)s",
                who=facts["who"],
                amount=_amount(facts),
                resource=facts["resource"],
                on=facts["on"],
                reason=facts["reason"],
            )
        case NoticeKind.LIST_AMENDED:
            return _(
                "The crossing list of %(day)s was sent, and the stays have changed since: "
                "send it again.",
                **facts,
            )
        case NoticeKind.RULE_BROKEN:
            if facts.get("person"):
                return _(
                    "%(day)s, %(side)s: the rule on %(rule)s is broken for %(person)s.",
                    day=facts["day"],
                    side=_side(facts),
                    rule=_rule(facts),
                    person=_person(facts),
                )
            return _(
                "%(day)s, %(side)s: the rule on %(rule)s is broken.",
                day=facts["day"],
                side=_side(facts),
                rule=_rule(facts),
            )
