"""Sanctions regimes and what each asks of a resource.

Each regime (the UN's, the ministry's carry-out approval, the US EAR) has its own HS rules;
the rule with the longest matching prefix gives a resource its control under that regime,
else the regime's default. The US regime reaches only goods of US origin or with US content
above its de minimis share. Controls are kept per resource and regime (`ResourceControl`),
recomputed whenever a resource, a rule or a regime changes, under the catalogue's lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from office.audit.services import record_event
from office.auth.models import User
from office.concurrency import LockSpace, advisory_lock
from office.errors import InvalidInput, NotFoundError
from office.i18n import _l
from office.waivers.models import (
    AUTHORITY_REGIMES,
    GRANTED_STATUSES,
    Authority,
    Basis,
    Control,
    HsRule,
    Regime,
    Resource,
    ResourceControl,
    Waiver,
    WaiverLine,
)

# Strictest first: a regime that controls a resource more tightly asks more of its drawdowns.
STRICTNESS = (Control.PROHIBITED, Control.CAPPED, Control.APPROVAL, Control.NONE)
US = "US"


def lock_catalogue(session: Session) -> None:
    """Hold the catalogue until the transaction ends: a resource's controls are worked out
    from the regimes and their rules as they stand, and a rule's change from the resources."""
    advisory_lock(session, LockSpace.CATALOGUE, 0)


@dataclass(frozen=True)
class Determination:
    regime: Regime
    control: Control
    basis: Basis
    rule: HsRule | None


def determine(regime: Regime, rules: Iterable[HsRule], resource: Resource) -> Determination:
    """Return the resource's control under `regime`: the rule with the longest prefix of its
    HS code, else the regime's default; nothing for goods outside the regime's reach."""
    if regime.us_content_rule and not subject_to_us_rules(resource, regime):
        return Determination(regime, Control.NONE, Basis.NOT_SUBJECT, None)
    matching = [rule for rule in rules if resource.hs_code.startswith(rule.prefix)]
    if not matching:
        return Determination(regime, regime.default_control, Basis.DEFAULT, None)
    rule = max(matching, key=lambda rule: len(rule.prefix))
    return Determination(regime, rule.control, Basis.RULE, rule)


def subject_to_us_rules(resource: Resource, regime: Regime) -> bool:
    """Whether the US regime reaches the resource: US origin, or US content above the share."""
    threshold = regime.us_content_threshold or Decimal(0)
    return resource.origin == US or (resource.us_content_percent or Decimal(0)) > threshold


def all_regimes(session: Session) -> list[Regime]:
    return list(session.scalars(select(Regime).order_by(Regime.position)))


def regimes_in_force(session: Session) -> list[Regime]:
    return list(
        session.scalars(select(Regime).where(Regime.in_force.is_(True)).order_by(Regime.position))
    )


def regime_by_code(session: Session, code: str) -> Regime:
    regime = session.scalar(select(Regime).where(Regime.code == code))
    if regime is None:
        raise NotFoundError(_l("There is no regime %(code)s.", code=str(code)[:20]))
    return regime


def regime_for(session: Session, authority: Authority | str) -> Regime:
    """The regime an authority grants under."""
    return regime_by_code(session, AUTHORITY_REGIMES[Authority(authority)])


def refresh_controls(session: Session, resources: Sequence[Resource] | None = None) -> int:
    """Recompute the controls of `resources` (every resource when None) under every regime,
    and each one's UN control (`Resource.control`); return how many resources changed."""
    regimes = list(
        session.scalars(
            select(Regime)
            .options(selectinload(Regime.rules))
            .order_by(Regime.position)
            .execution_options(populate_existing=True)
        )
    )
    if resources is None:
        resources = list(session.scalars(select(Resource).options(selectinload(Resource.controls))))
    changed = 0
    for resource in resources:
        kept = {control.regime_id: control for control in resource.controls}
        before = {(c.regime_id, c.control, c.basis, c.rule_id) for c in resource.controls} | {
            ("un", resource.control)
        }
        for regime in regimes:
            found = determine(regime, regime.rules, resource)
            row = kept.get(regime.id)
            if row is None:
                # Appended once: `resource=` here would add it through the backref too,
                # and the list would hold it twice until the resource is read again.
                row = ResourceControl(regime=regime)
                resource.controls.append(row)
            row.control, row.basis, row.rule = found.control, found.basis, found.rule
            row.rule_id = found.rule.id if found.rule is not None else None
            if regime.code == "un":
                resource.control = found.control
        after = {(c.regime_id, c.control, c.basis, c.rule_id) for c in resource.controls} | {
            ("un", resource.control)
        }
        changed += before != after
    session.flush()
    return changed


def controls_of(resource: Resource) -> dict[int, ResourceControl]:
    """The resource's control under each regime, by regime id."""
    return {control.regime_id: control for control in resource.controls}


def control_under(regime: Regime, resource: Resource) -> Control:
    """The resource's control under `regime`: as kept, else worked out from its rules."""
    kept = controls_of(resource).get(regime.id)
    return kept.control if kept is not None else determine(regime, regime.rules, resource).control


def controlling(regimes: Iterable[Regime], resources: Iterable[Resource]) -> list[Regime]:
    """Those of `regimes` that control at least one of `resources`, in their order."""
    resources = list(resources)
    return [
        regime
        for regime in regimes
        if any(control_under(regime, resource) is not Control.NONE for resource in resources)
    ]


def update_regime(
    session: Session,
    regime: Regime,
    *,
    name_en: str,
    name_ko: str,
    in_force: bool,
    default_control: Control | str,
    us_content_threshold: object,
    note: str,
    actor: User | None,
    now: datetime,
) -> Regime:
    """Change a regime's names, whether it is in force, its default control and (the US
    regime) its de minimis share; every resource's controls follow."""
    name_en, name_ko = (name_en or "").strip(), (name_ko or "").strip()
    if not name_en or len(name_en) > 120 or len(name_ko) > 120:
        raise InvalidInput(_l("Enter a name of at most 120 characters."), field="name_en")
    try:
        default = Control(default_control)
    except ValueError:
        raise InvalidInput(_l("Choose a control."), field="default_control") from None
    threshold = None
    if regime.us_content_rule:
        threshold = parse_percent(us_content_threshold, "us_content_threshold")
    lock_catalogue(session)
    session.refresh(regime)
    regime.name_en, regime.name_ko = name_en, name_ko or name_en
    regime.in_force, regime.default_control = bool(in_force), default
    regime.us_content_threshold, regime.note = threshold, (note or "").strip()
    session.flush()
    changed = refresh_controls(session)
    record_event(
        session,
        "regime.updated",
        actor=actor,
        target=regime,
        at=now,
        code=regime.code,
        in_force=regime.in_force,
        default_control=default.value,
        us_content_threshold=threshold,
        resources_reclassified=changed,
    )
    return regime


def parse_percent(value: object, field: str) -> Decimal:
    """A share in percent, 0 to 100 with at most two decimals."""
    text = str(value if value is not None else "").strip()
    try:
        if not text or not text.replace(".", "", 1).isdigit() or not text.isascii():
            raise ValueError
        percent = Decimal(text)
    except (ValueError, ArithmeticError):
        raise InvalidInput(_l("Enter a share in percent from 0 to 100, e.g. 10."), field) from None
    if percent > 100 or percent != percent.quantize(Decimal("0.01")):
        raise InvalidInput(_l("Enter a share in percent from 0 to 100, e.g. 10."), field)
    return percent


# --- authorisations -------------------------------------------------------------------------


def standing_line(
    session: Session, regime: Regime, resource: Resource, day: date, base_quantity: Decimal
) -> WaiverLine | None:
    """The standing authorisation's line a drawdown draws on under `regime` when it names
    none: a granted standing authorisation under it, valid on `day`, with a line for the
    resource and room for the quantity, the one ending first (then the oldest); None if
    there is none."""
    candidates = session.scalars(
        select(WaiverLine)
        .join(Waiver, Waiver.id == WaiverLine.waiver_id)
        .where(
            Waiver.regime_id == regime.id,
            Waiver.standing.is_(True),
            Waiver.status.in_(GRANTED_STATUSES),
            WaiverLine.resource_id == resource.id,
            WaiverLine.granted_base.is_not(None),
            (Waiver.valid_from.is_(None)) | (Waiver.valid_from <= day),
            (Waiver.valid_until.is_(None)) | (Waiver.valid_until >= day),
        )
        .order_by(Waiver.valid_until.is_(None), Waiver.valid_until, WaiverLine.id)
    ).all()
    for line in candidates:
        if line.used_base + base_quantity <= (line.granted_base or Decimal(0)):
            return line
    return None
