"""Rules for the catalogue (resources, HS rules) and for waivers, their lines and statuses.

The drawdown ledger has its own module, `office.waivers.ledger`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from office.audit.services import record_event
from office.auth.models import User
from office.errors import ConflictError, InvalidInput
from office.i18n import _l, office_date
from office.inputs import FIRST_DAY, check_day
from office.waivers.models import (
    GRANTED_STATUSES,
    STANDING_AUTHORITIES,
    Authority,
    Control,
    DrawdownEntry,
    HsRule,
    Regime,
    Resource,
    Waiver,
    WaiverLine,
    WaiverStatus,
    WaiverStatusChange,
)
from office.waivers.petroleum import PetroleumKind, kind_from_hs
from office.waivers.regimes import (
    lock_catalogue,
    parse_percent,
    refresh_controls,
    regime_by_code,
    regime_for,
)
from office.waivers.units import (
    Unit,
    amount,
    can_convert,
    convert,
    format_quantity,
    parse_quantity,
    unit_name,
)

# Each regime's starting rules (migration 0026 seeds the same). Reviewers edit them.
# UN: the bans of UNSCR 2397 op. 7 (machinery, vehicles, iron, steel and other metals), the
# refined-petroleum cap (op. 5), crude oil (op. 4), condensates and natural gas liquids
# (UNSCR 2375). US: food and medicine need no licence (EAR99); everything else US-made does.
# ROK: no rules, every item needs approval (the regime's default).
DEFAULT_HS_RULES: dict[str, tuple[tuple[str, Control, str], ...]] = {
    "un": (
        *((str(chapter), Control.PROHIBITED, "UNSCR 2397 op. 7") for chapter in range(72, 90)),
        ("2710", Control.CAPPED, "UNSCR 2397 op. 5: refined petroleum"),
        ("2709", Control.CAPPED, "UNSCR 2397 op. 4: crude oil"),
        ("271119", Control.PROHIBITED, "UNSCR 2375 op. 13: natural gas liquids"),
    ),
    "us": (
        *(
            (f"{chapter:02d}", Control.NONE, "EAR: food (EAR99), no licence")
            for chapter in range(1, 25)
        ),
        ("30", Control.NONE, "EAR: medicine (EAR99), no licence"),
    ),
}

ALLOWED_TRANSITIONS: dict[WaiverStatus, frozenset[WaiverStatus]] = {
    WaiverStatus.DRAFT: frozenset({WaiverStatus.REQUESTED, WaiverStatus.WITHDRAWN}),
    WaiverStatus.REQUESTED: frozenset(
        {
            WaiverStatus.GRANTED,
            WaiverStatus.PARTIALLY_GRANTED,
            WaiverStatus.DENIED,
            WaiverStatus.WITHDRAWN,
        }
    ),
    WaiverStatus.GRANTED: frozenset({WaiverStatus.REVOKED, WaiverStatus.EXPIRED}),
    WaiverStatus.PARTIALLY_GRANTED: frozenset({WaiverStatus.REVOKED, WaiverStatus.EXPIRED}),
}
OPEN_STATUSES = frozenset({WaiverStatus.DRAFT, WaiverStatus.REQUESTED})
EARLIEST_DATE = FIRST_DAY
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,59}$")


# --- HS codes and rules -------------------------------------------------------------------


def normalise_hs_code(value: str, *, field: str = "hs_code", min_digits: int = 4) -> str:
    """Return the digits of an HS code ("2710.19" -> "271019"); raise InvalidInput unless
    it has `min_digits` to 10 digits."""
    digits = re.sub(r"[\s.]", "", value or "")
    if not digits.isdigit() or not min_digits <= len(digits) <= 10 or not digits.isascii():
        raise InvalidInput(
            _l("An HS code has %(low)d to 10 digits (dots allowed), e.g. 2710.19.", low=min_digits),
            field=field,
        )
    return digits


def lock_waiver(session: Session, waiver: Waiver) -> Waiver:
    """Lock a waiver, read afresh: its lines and status change one request at a time."""
    session.refresh(waiver, with_for_update=True)
    return waiver


def reclassify_resources(session: Session) -> int:
    """Recompute every resource's controls from the regimes' rules; return how many changed."""
    return refresh_controls(session)


def save_hs_rule(
    session: Session,
    *,
    prefix: str,
    control: Control,
    note: str,
    regime: Regime | None = None,
    actor: User | None,
    now: datetime,
) -> HsRule:
    """Set the control of an HS prefix under `regime` (the UN's when None), adding the rule
    or changing the one there; every resource's controls follow."""
    prefix = normalise_hs_code(prefix, field="prefix", min_digits=2)
    lock_catalogue(session)
    regime = regime or regime_by_code(session, "un")
    rule = session.scalar(
        select(HsRule).where(HsRule.regime_id == regime.id, HsRule.prefix == prefix)
    )
    if rule is None:
        rule = HsRule(regime=regime, prefix=prefix, control=Control(control), note=note.strip())
        session.add(rule)
    else:
        rule.control, rule.note = Control(control), note.strip()
    session.flush()
    changed = reclassify_resources(session)
    record_event(
        session,
        "hs_rule.saved",
        actor=actor,
        target=rule,
        at=now,
        regime=regime.code,
        prefix=prefix,
        control=rule.control.value,
        resources_reclassified=changed,
    )
    return rule


def delete_hs_rule(session: Session, rule: HsRule, *, actor: User | None, now: datetime) -> None:
    """Remove an HS rule; every resource's control class follows."""
    lock_catalogue(session)
    record_event(
        session,
        "hs_rule.deleted",
        actor=actor,
        target=rule,
        at=now,
        regime=rule.regime.code,
        prefix=rule.prefix,
    )
    session.delete(rule)
    session.flush()
    reclassify_resources(session)


def install_default_hs_rules(session: Session, *, actor: User | None, now: datetime) -> None:
    """Add each regime's default HS rules whose prefix has none yet in that regime; every
    resource's controls follow."""
    lock_catalogue(session)
    added = []
    for code, defaults in DEFAULT_HS_RULES.items():
        regime = regime_by_code(session, code)
        taken = set(session.scalars(select(HsRule.prefix).where(HsRule.regime_id == regime.id)))
        for prefix, control, note in defaults:
            if prefix not in taken:
                session.add(HsRule(regime=regime, prefix=prefix, control=control, note=note))
                added.append(f"{code}:{prefix}")
    session.flush()
    changed = reclassify_resources(session)
    record_event(
        session,
        "hs_rule.defaults_installed",
        actor=actor,
        at=now,
        prefixes=added,
        resources_reclassified=changed,
    )


# --- resources ----------------------------------------------------------------------------


def _barrels_per_tonne(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        factor = parse_quantity(value)
    except InvalidInput:
        raise InvalidInput(
            _l("Barrels per tonne is a positive number such as 7.23."), field="barrels_per_tonne"
        ) from None
    return factor


def _petroleum_kind(value: object, hs_digits: str) -> PetroleumKind | None:
    """Return the kind chosen, or when none is the kind the HS code names (or None)."""
    if value in (None, ""):
        return kind_from_hs(hs_digits)
    try:
        return PetroleumKind(str(value))
    except ValueError:
        raise InvalidInput(
            _l(
                "Unknown kind of petroleum product %(kind)s; leave it blank to take it from "
                "the HS code.",
                kind=str(value)[:30],
            ),
            field="petroleum_kind",
        ) from None


def _resource_has_history(session: Session, resource: Resource) -> bool:
    used = select(DrawdownEntry.id).where(DrawdownEntry.resource_id == resource.id).limit(1)
    lined = select(WaiverLine.id).where(WaiverLine.resource_id == resource.id).limit(1)
    return session.scalar(used) is not None or session.scalar(lined) is not None


def save_resource(
    session: Session,
    *,
    code: str,
    name_ko: str,
    name_en: str,
    hs_code: str,
    unit: Unit | str,
    barrels_per_tonne: object = None,
    petroleum_kind: object = None,
    origin: str = "KR",
    us_content_percent: object = 0,
    actor: User | None,
    now: datetime,
    resource: Resource | None = None,
) -> Resource:
    """Add a resource, or change `resource`; its control under each regime comes from the
    regime's rules (and, for the US regime, its origin and US content). Without a
    `petroleum_kind`, it takes the kind its HS code names, if any."""
    code = (code or "").strip().lower()
    if not _CODE.match(code):
        raise InvalidInput(
            _l("A code has 1 to 40 lower-case letters, digits, - or _, e.g. diesel."), "code"
        )
    clash = session.scalar(select(Resource).where(Resource.code == code))
    if clash is not None and clash is not resource:
        raise InvalidInput(
            _l("A resource with the code %(code)s already exists.", code=code), "code"
        )
    name_en = (name_en or "").strip()
    name_ko = (name_ko or "").strip() or name_en
    if not name_en or len(name_en) > 120 or len(name_ko) > 120:
        raise InvalidInput(_l("Enter a name of at most 120 characters."), field="name_en")
    hs = normalise_hs_code(hs_code)
    try:
        unit = Unit(unit)
    except ValueError:
        raise InvalidInput(_l("Unknown unit %(unit)s.", unit=str(unit)[:20]), "unit") from None
    factor = _barrels_per_tonne(barrels_per_tonne)
    kind = _petroleum_kind(petroleum_kind, hs)
    origin = (origin or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", origin):
        raise InvalidInput(
            _l("The origin is a two-letter country code (ISO 3166), e.g. KR or US."), "origin"
        )
    content = parse_percent(us_content_percent, "us_content_percent")
    lock_catalogue(session)
    if resource is not None and resource.unit != unit and _resource_has_history(session, resource):
        raise ConflictError(
            _l(
                "%(code)s already has waiver lines or ledger entries; its unit cannot change.",
                code=resource.code,
            ),
            field="unit",
        )
    if resource is None:
        resource = Resource(code=code, control=Control.NONE)
        session.add(resource)
    resource.code, resource.name_ko, resource.name_en = code, name_ko, name_en
    resource.hs_code, resource.unit, resource.barrels_per_tonne = hs, unit, factor
    resource.petroleum_kind = kind
    resource.origin, resource.us_content_percent = origin, content
    session.flush()
    refresh_controls(session, [resource])
    record_event(
        session,
        "resource.saved",
        actor=actor,
        target=resource,
        at=now,
        code=code,
        hs_code=hs,
        unit=unit.value,
        barrels_per_tonne=format_quantity(factor) if factor is not None else None,
        petroleum_kind=kind,
        origin=origin,
        us_content_percent=content,
        controls=[f"{c.regime.code}: {c.control.value}" for c in resource.controls],
    )
    return resource


def find_resource(session: Session, code: str) -> Resource | None:
    return session.scalar(select(Resource).where(Resource.code == (code or "").strip().lower()))


# --- waivers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSpec:
    resource: Resource
    unit: Unit
    requested_quantity: object
    granted_quantity: object = None
    value_cap_usd_cents: int | None = None


def _check_validity(valid_from: date | None, valid_until: date | None) -> None:
    for value, field in ((valid_from, "valid_from"), (valid_until, "valid_until")):
        check_day(value, field)
    if valid_from and valid_until and valid_until < valid_from:
        raise InvalidInput(
            _l(
                "The waiver cannot end (%(end)s) before it starts (%(start)s).",
                end=valid_until.isoformat(),
                start=valid_from.isoformat(),
            ),
            field="valid_until",
        )


def _set_granted(line: WaiverLine, granted: Decimal | None) -> None:
    line.granted_quantity = granted
    line.granted_base = (
        None
        if granted is None
        else convert(
            granted, line.unit, line.resource.unit, line.resource.effective_barrels_per_tonne
        )
    )


def _build_line(waiver: Waiver, number: int, spec: LineSpec) -> WaiverLine:
    unit = Unit(spec.unit)
    resource = spec.resource
    if not can_convert(unit, resource.unit, resource.effective_barrels_per_tonne):
        raise InvalidInput(
            _l(
                "Line %(n)d: %(unit)s does not convert to %(base)s, the unit of %(code)s.",
                n=number,
                unit=unit_name(unit),
                base=unit_name(resource.unit),
                code=resource.code,
            ),
            field="unit",
        )
    requested = _quantity(spec.requested_quantity, unit, "requested_quantity")
    granted = (
        None
        if spec.granted_quantity in (None, "")
        else _quantity(spec.granted_quantity, unit, "granted_quantity", allow_zero=True)
    )
    if granted is not None and granted > requested:
        raise InvalidInput(
            _l(
                "Line %(n)d: the granted quantity cannot exceed the requested %(q)s.",
                n=number,
                q=amount(requested, unit),
            ),
            field="granted_quantity",
        )
    if spec.value_cap_usd_cents is not None and spec.value_cap_usd_cents < 0:
        raise InvalidInput(_l("A value cap cannot be negative."), field="value_cap_usd")
    line = WaiverLine(
        waiver=waiver,
        line_no=number,
        resource=resource,
        unit=unit,
        requested_quantity=requested,
        value_cap_usd_cents=spec.value_cap_usd_cents,
        used_base=Decimal(0),
    )
    _set_granted(line, granted)
    return line


def _quantity(value: object, unit: Unit, field: str, allow_zero: bool = False) -> Decimal:
    """Parse a quantity, naming `field` (not just "quantity") when it is wrong."""
    try:
        return parse_quantity(value, unit=unit, allow_zero=allow_zero)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=field) from None


def _normalise_reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not _REFERENCE.match(reference):
        raise InvalidInput(
            _l("A reference has 1 to 60 letters, digits, spaces or . _ / -, e.g. MOU-2018-0814."),
            field="reference",
        )
    return reference


def create_waiver(
    session: Session,
    *,
    reference: str,
    authority: Authority | str,
    title: str,
    purpose: str = "",
    status: WaiverStatus | str = WaiverStatus.DRAFT,
    valid_from: date | None = None,
    valid_until: date | None = None,
    lines: Sequence[LineSpec] = (),
    standing: bool | None = None,
    actor: User | None,
    now: datetime,
) -> Waiver:
    """Add a waiver with its lines; one already decided may be entered with its status.

    A standing waiver (by default, a blanket approval) is drawn on by drawdowns that name no
    line under its regime."""
    reference = _normalise_reference(reference)
    if session.scalar(select(Waiver.id).where(Waiver.reference == reference)) is not None:
        raise InvalidInput(
            _l("A waiver with the reference %(ref)s already exists.", ref=reference), "reference"
        )
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise InvalidInput(_l("Enter a title of at most 200 characters."), field="title")
    _check_validity(valid_from, valid_until)
    status = WaiverStatus(status)
    authority = Authority(authority)
    waiver = Waiver(
        reference=reference,
        authority=authority,
        regime=regime_for(session, authority),
        standing=authority in STANDING_AUTHORITIES if standing is None else bool(standing),
        title=title,
        purpose=(purpose or "").strip(),
        status=status,
        valid_from=valid_from,
        valid_until=valid_until,
        created_by_id=actor.id if actor else None,
        created_at=now,
    )
    for number, spec in enumerate(lines, start=1):
        try:
            _build_line(waiver, number, spec)  # joins waiver.lines through the back-reference
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=f"lines.{number - 1}.{exc.field}") from None
    if status in GRANTED_STATUSES:
        _grant_lines(waiver, status)
    session.add(waiver)
    session.add(
        WaiverStatusChange(
            waiver=waiver,
            from_status=None,
            to_status=status,
            changed_at=now,
            changed_by_id=actor.id if actor else None,
            effective_on=valid_from or office_date(now),
            note="",
        )
    )
    session.flush()
    record_event(
        session,
        "waiver.created",
        actor=actor,
        target=waiver,
        at=now,
        reference=reference,
        regime=waiver.regime.code,
        standing=waiver.standing,
        status=status.value,
        lines=len(waiver.lines),
    )
    return waiver


def update_waiver(
    session: Session,
    waiver: Waiver,
    *,
    title: str,
    purpose: str,
    valid_from: date | None,
    valid_until: date | None,
    standing: bool | None = None,
    actor: User | None,
    now: datetime,
) -> Waiver:
    """Change a waiver's title, purpose, validity and, unless `standing` is None, whether it
    is standing.

    Under the waiver's lock: a drawdown that draws on it as standing holds it shared from
    choosing its line until it commits (`ledger.screen`), so the change waits for those in
    flight, and those after it choose their line again."""
    lock_waiver(session, waiver)
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise InvalidInput(_l("Enter a title of at most 200 characters."), field="title")
    _check_validity(valid_from, valid_until)
    was_standing = waiver.standing
    waiver.title, waiver.purpose = title, (purpose or "").strip()
    waiver.valid_from, waiver.valid_until = valid_from, valid_until
    if standing is not None:
        waiver.standing = bool(standing)
    session.flush()
    record_event(
        session,
        "waiver.updated",
        actor=actor,
        target=waiver,
        at=now,
        valid_from=valid_from,
        valid_until=valid_until,
        standing=waiver.standing,
        **({"standing_before": was_standing} if waiver.standing != was_standing else {}),
    )
    return waiver


def _refuse_unless_open(waiver: Waiver) -> None:
    if waiver.status not in OPEN_STATUSES:
        raise ConflictError(
            _l(
                "Waiver %(ref)s is %(status)s; its lines can change only while it is a draft "
                "or requested.",
                ref=waiver.reference,
                status=status_label(waiver.status),
            )
        )


def add_line(
    session: Session, waiver: Waiver, spec: LineSpec, *, actor: User | None, now: datetime
) -> WaiverLine:
    """Add a line to a waiver that is still a draft or requested."""
    lock_waiver(session, waiver)
    _refuse_unless_open(waiver)
    number = (
        session.scalar(
            select(func.max(WaiverLine.line_no)).where(WaiverLine.waiver_id == waiver.id)
        )
        or 0
    ) + 1
    line = _build_line(waiver, number, spec)
    session.add(line)
    session.flush()
    record_event(
        session,
        "waiver.line_added",
        actor=actor,
        target=waiver,
        at=now,
        line_no=number,
        resource=spec.resource.code,
    )
    return line


def set_granted_quantity(
    session: Session, line: WaiverLine, granted: object, *, actor: User | None, now: datetime
) -> WaiverLine:
    """Record how much of a line is granted, before the waiver's decision is entered."""
    lock_waiver(session, line.waiver)
    session.refresh(line)
    _refuse_unless_open(line.waiver)
    value = (
        None
        if granted in (None, "")
        else _quantity(granted, line.unit, "granted_quantity", allow_zero=True)
    )
    if value is not None and value > line.requested_quantity:
        raise InvalidInput(
            _l(
                "The granted quantity cannot exceed the requested %(q)s.",
                q=amount(line.requested_quantity, line.unit),
            ),
            field="granted_quantity",
        )
    _set_granted(line, value)
    session.flush()
    record_event(
        session,
        "waiver.line_granted",
        actor=actor,
        target=line.waiver,
        at=now,
        line_no=line.line_no,
        granted=format_quantity(value) if value is not None else None,
    )
    return line


def _grant_lines(waiver: Waiver, status: WaiverStatus) -> None:
    for line in waiver.lines:
        if line.granted_quantity is not None:
            continue
        if status is WaiverStatus.PARTIALLY_GRANTED:
            raise ConflictError(
                _l(
                    "Set the granted quantity of line %(n)d before recording a partial grant.",
                    n=line.line_no,
                ),
                field="status",
            )
        _set_granted(line, line.requested_quantity)


def change_waiver_status(
    session: Session,
    waiver: Waiver,
    to_status: WaiverStatus | str,
    *,
    effective_on: date,
    note: str = "",
    actor: User | None,
    now: datetime,
) -> Waiver:
    """Move a waiver to `to_status` if the transition is allowed; raise ConflictError if not.

    Granting fills each line's cap with its requested quantity unless one was set; a partial
    grant needs every line's granted quantity set first.
    """
    locked = lock_waiver(session, waiver)
    to_status = WaiverStatus(to_status)
    if to_status not in ALLOWED_TRANSITIONS.get(locked.status, frozenset()):
        raise ConflictError(
            _l(
                "Waiver %(ref)s cannot go from %(old)s to %(new)s.",
                ref=locked.reference,
                old=status_label(locked.status),
                new=status_label(to_status),
            ),
            field="status",
        )
    if not EARLIEST_DATE <= effective_on <= office_date(now):
        raise InvalidInput(
            _l("The effective date must be between 2000-01-01 and today."), field="effective_on"
        )
    if to_status in GRANTED_STATUSES:
        _grant_lines(locked, to_status)
    session.add(
        WaiverStatusChange(
            waiver=locked,
            from_status=locked.status,
            to_status=to_status,
            changed_at=now,
            changed_by_id=actor.id if actor else None,
            effective_on=effective_on,
            note=(note or "").strip(),
        )
    )
    old = locked.status
    locked.status = to_status
    session.flush()
    record_event(
        session,
        "waiver.status_changed",
        actor=actor,
        target=locked,
        at=now,
        from_status=old.value,
        to_status=to_status.value,
        effective_on=effective_on.isoformat(),
    )
    return locked


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineUsage:
    """A line's cap, use and what is left, in the line's own unit."""

    granted: Decimal | None
    used: Decimal
    remaining: Decimal | None
    percent: Decimal | None


def line_usage(line: WaiverLine, used_base: Decimal | None = None) -> LineUsage:
    """The line's usage now, or with `used_base` (its use as of another day)."""
    resource = line.resource
    used_base = line.used_base if used_base is None else used_base
    used = convert(used_base, resource.unit, line.unit, resource.effective_barrels_per_tonne)
    if line.granted_quantity is None:
        return LineUsage(None, used, None, None)
    remaining = line.granted_quantity - used
    percent = (
        (used / line.granted_quantity * 100).quantize(Decimal("0.1"))
        if line.granted_quantity > 0
        else None
    )
    return LineUsage(line.granted_quantity, used, remaining, percent)


def status_label(status: WaiverStatus) -> str:
    from office.waivers.labels import STATUS_LABELS

    return str(STATUS_LABELS[WaiverStatus(status)])
