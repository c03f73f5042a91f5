"""How the audit trail reads, in Korean and English: what happened (a label for every kind of
event), to what (the target's own name, linked where it has a page), and the details as
labelled fields with their codes named. The trail stores codes; only this module turns them
into words, so a kind of event or a detail it does not know still shows, as its code."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from office.audit.queries import TrailRow
from office.auth.access import can_access
from office.auth.models import User
from office.auth.permissions import Role, role_label
from office.documents import labels as _document_labels  # noqa: F401 (names its kinds)
from office.documents.models import Document, DocumentKind, RecordType
from office.fuel.forms import ACTION_LABELS as DAY_ACTION_LABELS
from office.fuel.forms import USE_LABELS
from office.fuel.models import DailyLog, Generator, Meter, MeterReading
from office.i18n import _, _l, current_locale_code, format_hs_code, format_number, label
from office.repairs.models import WorkOrder, WorkStatus
from office.reviews.labels import ACTION_LABELS as REVIEW_ACTION_LABELS
from office.reviews.models import ItemKind, ReviewAction, ReviewItem, ReviewState
from office.staffing.models import (
    Category,
    CrossingList,
    CrossingStatus,
    PlanProposal,
    Shift,
    Side,
    StaffMember,
    Stay,
)
from office.stock.models import StockMovement, Store, StoreKind
from office.supplies.models import Delivery, DeliveryStatus
from office.waivers.labels import REGIME_SHORT_NAMES
from office.waivers.models import (
    Classification,
    Control,
    DrawdownEntry,
    HsRule,
    Regime,
    Resource,
    Source,
    Waiver,
    WaiverStatus,
)
from office.waivers.petroleum import PetroleumKind
from office.waivers.units import Unit, format_amount

# --- what happened --------------------------------------------------------------------------

ACTION_LABELS = {
    "login.succeeded": _l("Logged in"),
    "login.bad_credentials": _l("Login failed: wrong email or password"),
    "login.inactive": _l("Login refused: the account is inactive"),
    "login.locked_out": _l("Login refused: too many failed attempts"),
    "login.password_accepted": _l("Password accepted; the second step awaited"),
    "login.bad_code": _l("Login failed: wrong two-factor code"),
    "session.logged_out": _l("Logged out"),
    "session.ended": _l("Session ended"),
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "user.created": _l("User created"),
    "user.updated": _l("User changed"),
    "user.deactivated": _l("User deactivated"),
    "user.reactivated": _l("User reactivated"),
    "user.password_changed": _l("Own password changed"),
    "user.password_set": _l("Password set"),
    "user.recovery_code_used": _l("Recovery code used"),
    "user.recovery_codes_replaced": _l("Recovery codes replaced"),
    "user.two_factor_enabled": _l("Two-factor sign-in turned on"),
    "user.two_factor_disabled": _l("Two-factor sign-in turned off"),
    "user.two_factor_reset": _l("Two-factor sign-in reset"),
    "waiver.created": _l("Waiver created"),
    "waiver.updated": _l("Waiver changed"),
    "waiver.line_added": _l("Waiver line added"),
    "waiver.line_granted": _l("Granted quantity set"),
    "waiver.status_changed": _l("Waiver status changed"),
    "drawdown.recorded": _l("Drawdown recorded"),
    "drawdown.overridden": _l("Drawdown recorded anyway"),
    "drawdown.reversed": _l("Drawdown reversed"),
    "resource.saved": _l("Resource saved"),
    "hs_rule.saved": _l("HS rule saved"),
    "regime.updated": _l("Sanctions regime changed"),
    "hs_rule.deleted": _l("HS rule deleted"),
    "hs_rule.defaults_installed": _l("Default HS rules installed"),
    "delivery.saved": _l("Delivery saved"),
    "delivery.line_added": _l("Manifest line added"),
    "delivery.line_removed": _l("Manifest line removed"),
    "delivery.approved": _l("Delivery approved"),
    "delivery.crossed": _l("Delivery crossed"),
    "delivery.crossing_refused": _l("Crossing refused"),
    "delivery.received": _l("Delivery received"),
    "delivery.rejected": _l("Delivery rejected"),
    "store.created": _l("Store or tank added"),
    "generator.added": _l("Generator added"),
    "meter.replaced": _l("Meter replaced"),
    "work_order.saved": _l("Work order saved"),
    "work_order.status": _l("Work order status changed"),
    "work_order.progress": _l("Work order progress recorded"),
    "work_order.material": _l("Material used on a work order"),
    "work_order.cost": _l("Cost recorded on a work order"),
    "work_order.equipment": _l("Equipment assigned to a work order"),
    "month.signed_off": _l("Month signed off"),
    "document.attached": _l("Document attached"),
    "document.superseded": _l("Document replaced by a new version"),
    "document.withdrawn": _l("Document withdrawn"),
    "notices.channels_changed": _l("Notification choices changed"),
    "staff.saved": _l("Person saved"),
    "staff.imported": _l("Roster imported"),
    "staff.feed_renewed": _l("Calendar link renewed"),
    "staffing.rules_changed": _l("Staffing rules changed"),
    "stay.added": _l("Stay added"),
    "stay.changed": _l("Stay changed"),
    "stay.removed": _l("Stay removed"),
    "duty.set": _l("Night duty set"),
    "plan.proposed": _l("Staffing plan proposed"),
    "plan.accepted": _l("Staffing plan accepted"),
    "plan.discarded": _l("Staffing plan discarded"),
}


def action_label(action: str) -> str | None:
    """The words for a kind of event, or None for a kind this version does not know."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    kind, _dot, what = action.partition(".")
    if kind == "day" and what in DAY_ACTION_LABELS:
        return _("Daily log: %(what)s", what=DAY_ACTION_LABELS[what])
    if kind == "review" and what in set(ReviewAction):
        return _("Review: %(what)s", what=REVIEW_ACTION_LABELS[ReviewAction(what)])
    if kind == "crossing_list" and what in set(CrossingStatus):
        return _("Crossing list: %(status)s", status=label(CrossingStatus(what)))
    return None


# --- to what --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    endpoint: str | None = None
    args: dict[str, Any] | None = None

    @property
    def url(self) -> str | None:
        """The target's page, if it has one this reader may open."""
        if self.endpoint is None or not can_access(self.endpoint):
            return None
        return url_for(self.endpoint, **(self.args or {}))


def _store_name(store: Store) -> str:
    # The materials store is opened by the app under a name of its own making.
    return store.shown_name


def _store(store: Store) -> Target:
    if store.kind is StoreKind.TANK:
        return Target(store.name, "operations.tank", {"tank_id": store.id})
    return Target(_store_name(store), "deliveries.stock")


def _entry(entry: DrawdownEntry) -> Target:
    return Target(_("Ledger entry %(seq)d", seq=entry.seq), "ledger.detail", {"entry_id": entry.id})


def _review(item: ReviewItem) -> Target:
    return Target(
        _("%(kind)s #%(id)d", kind=label(item.kind), id=item.source_id),
        "reviews.item",
        {"kind": item.kind.value, "source_id": item.source_id},
    )


def _log(log: DailyLog) -> Target:
    day = log.log_on.isoformat()
    return Target(_("Daily log of %(date)s", date=day), "operations.day", {"day": day})


def _movement(movement: StockMovement) -> Target:
    day = movement.occurred_on.isoformat()
    return Target(_("Stock movement #%(id)d", id=movement.id), "operations.day", {"day": day})


def _reading(reading: MeterReading) -> Target:
    day = reading.read_on.isoformat()
    return Target(
        _("Reading of %(meter)s, %(date)s", meter=reading.meter.name, date=day),
        "operations.day",
        {"day": day},
    )


def _crossing(crossing: CrossingList) -> Target:
    day = crossing.crossing_on.isoformat()
    return Target(_("Crossing list of %(date)s", date=day), "staffing.crossing", {"day": day})


def _stay(stay: Stay) -> Target:
    return Target(
        _(
            "%(name)s, %(first)s – %(last)s",
            name=stay.person.name_ko,
            first=stay.first_day.isoformat(),
            last=stay.last_day.isoformat(),
        ),
        "staffing.person",
        {"person_id": stay.staff_member_id},
    )


def _hs_rule(rule: HsRule) -> Target:
    return Target(
        _(
            "HS %(prefix)s under %(regime)s",
            prefix=format_hs_code(rule.prefix),
            regime=rule.regime.name(current_locale_code()),
        ),
        "regimes.index",
        {"_anchor": f"regime-{rule.regime.code}"},
    )


# Each kind of target: its model and how it is named and linked.
_TARGETS: dict[str, tuple[type[Any], Callable[[Any], Target]]] = {
    "User": (User, lambda u: Target(u.display_name, "users.detail", {"user_id": u.id})),
    "Waiver": (Waiver, lambda w: Target(w.reference, "waivers.detail", {"waiver_id": w.id})),
    "DrawdownEntry": (DrawdownEntry, _entry),
    "Resource": (
        Resource,
        lambda r: Target(r.name(current_locale_code()), "resources.detail", {"resource_id": r.id}),
    ),
    "Regime": (
        Regime,
        lambda r: Target(
            r.name(current_locale_code()), "regimes.index", {"_anchor": f"regime-{r.code}"}
        ),
    ),
    "HsRule": (HsRule, _hs_rule),
    "Delivery": (
        Delivery,
        lambda d: Target(d.reference, "deliveries.detail", {"delivery_id": d.id}),
    ),
    "Store": (Store, _store),
    "Generator": (Generator, lambda g: Target(g.name, "operations.equipment")),
    "Meter": (Meter, lambda m: Target(m.name, "operations.equipment")),
    "DailyLog": (DailyLog, _log),
    "StockMovement": (StockMovement, _movement),
    "WorkOrder": (
        WorkOrder,
        lambda w: Target(w.number, "repairs.detail", {"work_order_id": w.id}),
    ),
    "ReviewItem": (ReviewItem, _review),
    "Document": (
        Document,
        lambda d: Target(d.title, "documents.detail", {"document_id": d.id}),
    ),
    "StaffMember": (
        StaffMember,
        lambda p: Target(p.name_ko, "staffing.person", {"person_id": p.id}),
    ),
    "Stay": (Stay, _stay),
    "MeterReading": (MeterReading, _reading),
    "CrossingList": (CrossingList, _crossing),
    "PlanProposal": (
        PlanProposal,
        lambda p: Target(
            _("Staffing plan #%(id)d", id=p.id), "staffing.proposal", {"proposal_id": p.id}
        ),
    ),
}


# A target no longer there is named by its kind and id.
TYPE_LABELS = {
    "User": _l("user"),
    "Waiver": _l("waiver"),
    "DrawdownEntry": _l("ledger entry"),
    "Resource": _l("resource"),
    "Regime": _l("sanctions regime"),
    "HsRule": _l("HS rule"),
    "Delivery": _l("delivery"),
    "Store": _l("store"),
    "Generator": _l("generator"),
    "Meter": _l("meter"),
    "DailyLog": _l("daily log"),
    "StockMovement": _l("stock movement"),
    "WorkOrder": _l("work order"),
    "ReviewItem": _l("review item"),
    "Document": _l("document"),
    "StaffMember": _l("person"),
    "Stay": _l("stay"),
    "CrossingList": _l("crossing list"),
    "PlanProposal": _l("staffing plan"),
    "MeterReading": _l("meter reading"),
}


def targets(session: Session, rows: Iterable[TrailRow]) -> dict[tuple[str, str], Target]:
    """The target of each event row, by (type, id): one query per kind of target."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        if (
            row.source == "event"
            and row.object_type in _TARGETS
            and (row.object_id or "").isdigit()
        ):
            wanted[row.object_type].add(int(row.object_id or 0))
    found: dict[tuple[str, str], Target] = {}
    for kind, ids in wanted.items():
        model, name = _TARGETS[kind]
        for obj in session.scalars(select(model).where(model.id.in_(ids))):
            found[(kind, str(obj.id))] = name(obj)
    return found


def target_of(row: TrailRow, found: dict[tuple[str, str], Target]) -> Target | None:
    """What the row's event was done to, named; a target since deleted, by its kind and id."""
    if row.source == "login":
        return Target(_("from %(address)s", address=row.object_id)) if row.object_id else None
    if not row.object_type:
        return None
    known = found.get((row.object_type, row.object_id or ""))
    if known is not None:
        return known
    kind = str(TYPE_LABELS.get(row.object_type, row.object_type))
    return Target(f"{kind} #{row.object_id}" if row.object_id else kind)


# --- the details ----------------------------------------------------------------------------

DETAIL_LABELS = {
    "amount_krw": _l("Amount"),
    "approval": _l("Approval number"),
    "barrels_per_tonne": _l("Barrels per tonne"),
    "capacity": _l("Capacity"),
    "category": _l("Category"),
    "classification": _l("Classification"),
    "code": _l("Code"),
    "consecutive": _l("Most days in a row"),
    "control": _l("Control"),
    "counted": _l("Counted"),
    "controls": _l("Controls"),
    "day": _l("Day"),
    "default_control": _l("Control of other goods"),
    "effective_on": _l("Effective on"),
    "email": _l("Email"),
    "filename": _l("File"),
    "first": _l("First day"),
    "from_status": _l("From"),
    "generator": _l("Generator"),
    "granted": _l("Granted"),
    "hours": _l("Run hours"),
    "hs_code": _l("HS code"),
    "in_force": _l("In force"),
    "is_superuser": _l("Superuser"),
    "kind": _l("Kind"),
    "last": _l("Last day"),
    "left": _l("Left"),
    "line_no": _l("Line"),
    "lines": _l("Lines"),
    "lot": _l("Lot"),
    "max_headcount": _l("Most people on site"),
    "measured": _l("Measured"),
    "media_type": _l("Type"),
    "meter": _l("Meter"),
    "month": _l("Month"),
    "movement": _l("Movement"),
    "name": _l("Name"),
    "night": _l("Night"),
    "number": _l("Number"),
    "on": _l("On"),
    "opened_on": _l("Opened on"),
    "opening": _l("Opening stock"),
    "origin": _l("Origin"),
    "people": _l("People"),
    "person": _l("Person"),
    "petroleum_kind": _l("Kind of petroleum product"),
    "prefix": _l("Prefix"),
    "prefixes": _l("HS prefixes"),
    "progress": _l("Progress"),
    "quantity": _l("Quantity"),
    "rated_lph": _l("Rated litres an hour"),
    "reason": _l("Reason"),
    "record": _l("Attached to"),
    "reference": _l("Reference"),
    "regime": _l("Regime"),
    "regimes": _l("Under each regime"),
    "replaced_at": _l("Replaced at"),
    "replaces": _l("Replaces"),
    "replaced_sha256": _l("SHA-256 of the version replaced"),
    "resource": _l("Resource"),
    "resources_reclassified": _l("Resources reclassified"),
    "rest": _l("Rest days"),
    "reversal_seq": _l("Reversal entry"),
    "role": _l("Role"),
    "rows": _l("Rows"),
    "seq": _l("Ledger entry"),
    "session_id": _l("Session"),
    "sha256": _l("SHA-256"),
    "shift": _l("Shift"),
    "side": _l("Side"),
    "size": _l("Size in bytes"),
    "source": _l("Source"),
    "source_id": _l("Record"),
    "standing_before": _l("Standing before"),
    "standing": _l("Standing"),
    "state": _l("State"),
    "status": _l("Status"),
    "stays": _l("Stays"),
    "tank": _l("Tank"),
    "title": _l("Title"),
    "to_status": _l("To"),
    "token": _l("Token"),
    "unit": _l("Unit"),
    "us_content_percent": _l("US content (%)"),
    "us_content_threshold": _l("US content above which it applies (%)"),
    "use": _l("Used for"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "value": _l("Reading"),
    "weekday_min": _l("Fewest on a weekday"),
    "weekend_min": _l("Fewest on a weekend day"),
}

# Details whose values are codes of a closed vocabulary, by the kind of event where one code
# means different things (a waiver's status, a work order's, a delivery's).
_CODES: dict[str, type[StrEnum]] = {
    "category": Category,
    "classification": Classification,
    "control": Control,
    "petroleum_kind": PetroleumKind,
    "shift": Shift,
    "side": Side,
    "source": Source,
    "state": ReviewState,
}
_STATUS_CODES: dict[str, type[StrEnum]] = {
    "waiver": WaiverStatus,
    "work_order": WorkStatus,
    "delivery": DeliveryStatus,
    "crossing_list": CrossingStatus,
}
_KIND_CODES: dict[str, type[StrEnum]] = {
    "review": ItemKind,
    "store": StoreKind,
    "document": DocumentKind,
}
# Details listing "regime: code" per regime, and the vocabulary of their codes.
_PER_REGIME: dict[str, type[StrEnum]] = {"regimes": Classification, "controls": Control}


def _per_regime(vocabulary: type[StrEnum], items: list[Any]) -> str:
    shown = []
    for item in items:
        code, _sep, value = str(item).partition(": ")
        regime = REGIME_SHORT_NAMES.get(code, code)
        shown.append(f"{regime}: {_coded(vocabulary, value) or value}")
    return ", ".join(shown) or "-"


def _coded(vocabulary: type[StrEnum], value: object) -> str | None:
    try:
        return label(vocabulary(str(value)))
    except (ValueError, KeyError):
        return None


def _number(value: object) -> str:
    try:
        return format_number(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


def _value(key: str, value: Any, action: str, detail: dict[str, Any]) -> str:
    """A detail's value as words: codes named, numbers grouped, quantities with their unit."""
    kind = action.partition(".")[0]
    if value is None or value == "None":
        return "-"
    if isinstance(value, list):
        if key in _PER_REGIME:
            return _per_regime(_PER_REGIME[key], value)
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool) or value in ("True", "False"):
        return _("yes") if value in (True, "True") else _("no")
    vocabulary = (
        _STATUS_CODES.get(kind)
        if key in ("status", "from_status", "to_status")
        else _KIND_CODES.get(kind)
        if key == "kind"
        else _CODES.get(key)
    )
    if vocabulary is not None:
        return _coded(vocabulary, value) or str(value)
    if key == "role" and value in set(Role):
        return role_label(Role(str(value)))
    if key == "regime" and value in REGIME_SHORT_NAMES:
        return str(REGIME_SHORT_NAMES[value])
    if key == "default_control":
        return _coded(Control, value) or str(value)
    if key == "use" and value in USE_LABELS:
        return str(USE_LABELS[value])
    if key in ("quantity", "capacity", "opening", "measured", "granted", "left"):
        unit = detail.get("unit")
        if unit in set(Unit):
            try:
                return format_amount(Decimal(str(value)), Unit(unit))
            except InvalidOperation:
                return str(value)
        return _number(value)
    if key == "amount_krw":
        return _("%(amount)s won", amount=_number(value))
    if key in ("hs_code", "prefix"):
        return format_hs_code(str(value))
    if key == "record":
        record_type, _space, record_id = str(value).partition(" ")
        if record_type in set(RecordType):
            return f"{label(RecordType(record_type))} #{record_id}"
        return str(value)
    if key in ("hours", "value", "progress", "rated_lph", "size"):
        return _number(value)
    return str(value)


@dataclass(frozen=True)
class Field:
    label: str
    value: str
    known: bool = True
    is_code: bool = False  # a value to be typed or matched as it is (a token's prefix)


# Details whose values are codes to match as they are, not words.
_CODE_VALUES = frozenset(
    {"token", "prefix", "code", "resource", "sha256", "replaced_sha256", "media_type"}
)


def fields(row: TrailRow) -> list[Field]:
    """The row's details as labelled fields, in the order of the labels; a detail this
    version does not know keeps its key as its label."""
    detail = row.detail or {}
    shown = [k for k in DETAIL_LABELS if k in detail and not (k == "unit" and _has_amount(detail))]
    unknown = sorted(k for k in detail if k not in DETAIL_LABELS)
    return [
        Field(
            str(DETAIL_LABELS[k]),
            _value(k, detail[k], row.action, detail),
            is_code=k in _CODE_VALUES,
        )
        for k in shown
    ] + [Field(k, str(detail[k]), known=False) for k in unknown]


def _has_amount(detail: dict[str, Any]) -> bool:
    return detail.get("unit") in set(Unit) and any(
        k in detail for k in ("quantity", "capacity", "opening", "measured", "granted", "left")
    )
