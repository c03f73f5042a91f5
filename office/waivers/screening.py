"""A what-if screening: an item, described by its HS code, origin, US content, quantity, unit
and date, screened under every regime in force before anything is recorded: its control
under each and what decided it, and the authorisation lines that could cover it, each with
the classification a drawdown of the item on that line would get and what it would leave.

Which lines could cover an item: the lines of the regime's authorisations whose resource's
HS code is the item's code or a shorter prefix of it, that is, whose classification holds
the item (a line for steel sections of 7216 holds an item of 7216.10; both are listed for
an item of 7216.10.90). A resource classified more narrowly than the item is not listed
(7216.10 for an item given as 7216): the item might be anything else under 7216, and a
screening that lists what may not cover it misleads. Give the item's code as precisely as
it is known.

Nothing is written, locked or added to the session: the item is screened as a transient
resource, and each line is read as it stands (its use now, its waiver's status now), so the
answer is what recording the item now would find, not a promise: the ledger decides at
recording, under its locks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from office import inputs
from office.errors import InvalidInput
from office.i18n import _l
from office.waivers.ledger import WORST_FIRST, classify_line, worst
from office.waivers.models import (
    Basis,
    Classification,
    Control,
    HsRule,
    Regime,
    Resource,
    Waiver,
    WaiverLine,
)
from office.waivers.regimes import determine, parse_percent, regimes_in_force
from office.waivers.services import normalise_hs_code
from office.waivers.units import Unit, can_convert, convert, parse_quantity, unit_name

FIELDS = ("hs_code", "origin", "us_content_percent", "quantity", "unit", "occurred_on")
_ORIGIN = re.compile(r"[A-Z]{2}")


class InvalidItem(InvalidInput):
    """The item's description does not make sense; `errors` names every field at fault
    (the first one is the error's own field and message)."""

    def __init__(self, errors: dict[str, list[Any]]) -> None:
        first = next(iter(errors))
        super().__init__(errors[first][0], field=first)
        self.errors = errors


@dataclass(frozen=True)
class Item:
    """What is to be screened, as checked: the HS code in digits, the origin as ISO 3166
    alpha-2, the US content in percent, an exact quantity of `unit`."""

    hs_code: str
    origin: str
    us_content_percent: Decimal
    quantity: Decimal
    unit: Unit
    occurred_on: date


def check_item(
    *,
    hs_code: object,
    origin: object,
    us_content_percent: object,
    quantity: object,
    unit: object,
    occurred_on: date | None,
) -> Item:
    """Return the item described; raise InvalidItem naming every field at fault."""
    errors: dict[str, list[Any]] = {}

    def refuse(name: str, message: Any) -> None:
        errors.setdefault(name, []).append(message)

    try:
        code = normalise_hs_code(str(hs_code or ""))
    except InvalidInput as exc:
        refuse("hs_code", exc.message)
    country = str(origin or "").strip().upper()
    if not _ORIGIN.fullmatch(country):
        refuse("origin", _l("The origin is a two-letter country code (ISO 3166), e.g. KR or US."))
    try:
        content = parse_percent(_percent_text(us_content_percent), "us_content_percent")
    except InvalidInput as exc:
        refuse("us_content_percent", exc.message)
    try:
        item_unit: Unit | None = Unit(str(unit))
    except ValueError:
        item_unit = None
        refuse("unit", _l("Unknown unit %(unit)s.", unit=str(unit)[:20]))
    try:
        amount = parse_quantity(quantity, unit=item_unit)
    except InvalidInput as exc:
        refuse("quantity", exc.message)
    if occurred_on is None:
        refuse("occurred_on", _l("Write the date as YYYY-MM-DD, for example 2018-10-31."))
    elif not inputs.in_range(occurred_on):
        refuse("occurred_on", inputs.range_message())
    if errors:
        raise InvalidItem(errors)
    assert item_unit is not None and occurred_on is not None
    return Item(code, country, content, amount, item_unit, occurred_on)


_CENT = Decimal("0.01")


def _percent_text(value: object) -> object:
    # A Decimal (from JSON) as parse_percent reads one typed: plain digits for a share it can
    # take, else as it is (an exponent, which it refuses), never spelt out at any length.
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and 0 <= value <= 100
        and value == value.quantize(_CENT)
    ):
        return format(value.quantize(_CENT), "f")
    return value


@dataclass(frozen=True)
class LineOption:
    """One authorisation line that could cover the item under its regime: the classification
    a drawdown of the item on it would get (None: the item's unit cannot be compared with
    its resource's, and `reason` says why) and what it has left before and after, in the
    line's own unit (None: not granted yet)."""

    line: WaiverLine
    classification: Classification | None
    remaining_before: Decimal | None
    remaining_after: Decimal | None
    reason: Any | None = None

    @property
    def waiver(self) -> Waiver:
        return self.line.waiver

    @property
    def resource(self) -> Resource:
        return self.line.resource

    @property
    def standing(self) -> bool:
        return self.line.waiver.standing

    @property
    def unit(self) -> Unit:
        return self.line.unit


@dataclass(frozen=True)
class RegimeAnswer:
    """The item under one regime: its control, what decided it, and the lines that could
    cover it, the best first."""

    regime: Regime
    control: Control
    basis: Basis
    rule: HsRule | None
    lines: tuple[LineOption, ...] = field(default=())

    @property
    def best(self) -> Classification:
        """The best classification the office could get under this regime: not required
        when the regime does not control the item, else the best line's, else uncovered."""
        if self.control is Control.NONE:
            return Classification.NOT_REQUIRED
        found = [o.classification for o in self.lines if o.classification is not None]
        return max(found, key=WORST_FIRST.index, default=Classification.UNCOVERED)

    @property
    def best_line(self) -> LineOption | None:
        """The line that gives `best` (the first such), when the regime controls the item."""
        if self.control is Control.NONE:
            return None
        return next((o for o in self.lines if o.classification is self.best), None)


@dataclass(frozen=True)
class Screening:
    item: Item
    regimes: tuple[RegimeAnswer, ...]

    @property
    def overall(self) -> Classification:
        """The classification a drawdown of the item would get if the office picked the
        best line under each regime (the worst of the regimes' bests)."""
        return worst([answer.best for answer in self.regimes])


def _transient_resource(item: Item) -> Resource:
    # Never added to the session: `determine` reads its code, origin and US content only.
    return Resource(
        hs_code=item.hs_code,
        origin=item.origin,
        us_content_percent=item.us_content_percent,
    )


def candidate_lines(
    session: Session, regimes: Sequence[Regime], hs_code: str
) -> dict[int, list[WaiverLine]]:
    """The lines of authorisations under `regimes` whose resource's HS code is `hs_code` or
    a prefix of it, by regime id (with their waivers and resources loaded)."""
    if not regimes:
        return {}
    prefixes = [hs_code[:n] for n in range(2, len(hs_code) + 1)]
    lines = session.scalars(
        select(WaiverLine)
        .join(WaiverLine.waiver)
        .join(WaiverLine.resource)
        .where(
            Waiver.regime_id.in_([regime.id for regime in regimes]),
            Resource.hs_code.in_(prefixes),
        )
        .options(contains_eager(WaiverLine.waiver), contains_eager(WaiverLine.resource))
        .order_by(Waiver.reference, Waiver.id, WaiverLine.line_no, WaiverLine.id)
    ).all()
    found: dict[int, list[WaiverLine]] = {}
    for line in lines:
        found.setdefault(line.waiver.regime_id, []).append(line)
    return found


def _remaining(line: WaiverLine, base: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """What `line` has left now and after `base` of its resource, in the line's unit."""
    resource = line.resource
    factor = resource.effective_barrels_per_tonne
    if line.granted_base is None or not can_convert(resource.unit, line.unit, factor):
        return None, None
    left = line.granted_base - line.used_base
    return (
        convert(left, resource.unit, line.unit, factor),
        convert(left - base, resource.unit, line.unit, factor),
    )


def option(line: WaiverLine, item: Item) -> LineOption:
    """The item drawn on `line` on its date: its classification and what the line keeps."""
    resource = line.resource
    factor = resource.effective_barrels_per_tonne
    if not can_convert(item.unit, resource.unit, factor):
        before, _after = _remaining(line, Decimal(0))
        return LineOption(
            line,
            None,
            before,
            None,
            _l(
                "Cannot compare: the item is given in %(unit)s, and %(name)s is counted in "
                "%(own)s with no factor between them.",
                unit=unit_name(item.unit),
                name=resource.shown_name,
                own=unit_name(resource.unit),
            ),
        )
    base = convert(item.quantity, item.unit, resource.unit, factor)
    if base <= 0:
        before, _after = _remaining(line, Decimal(0))
        return LineOption(
            line,
            None,
            before,
            None,
            _l(
                "Cannot compare: the quantity is too small to count in %(own)s.",
                own=unit_name(resource.unit),
            ),
        )
    before, after = _remaining(line, base)
    classification = classify_line(line.waiver, line, base, item.occurred_on)
    return LineOption(line, classification, before, after)


def _rank(found: LineOption) -> tuple[int, bool, str, int]:
    # Best first; a line that cannot be compared last; a standing authorisation before an
    # individual one, as a drawdown naming none draws on it.
    rank = (
        len(WORST_FIRST) - WORST_FIRST.index(found.classification)
        if found.classification is not None
        else len(WORST_FIRST) + 1
    )
    return rank, not found.standing, found.waiver.reference, found.line.line_no


def screen_item(session: Session, item: Item) -> Screening:
    """Screen `item` under every regime in force, in their order, with the lines that could
    cover it; write and lock nothing."""
    regimes = regimes_in_force(session)
    resource = _transient_resource(item)
    lines = candidate_lines(session, regimes, item.hs_code)
    answers = []
    for regime in regimes:
        found = determine(regime, regime.rules, resource)
        options = sorted((option(line, item) for line in lines.get(regime.id, ())), key=_rank)
        answers.append(RegimeAnswer(regime, found.control, found.basis, found.rule, tuple(options)))
    return Screening(item, tuple(answers))
