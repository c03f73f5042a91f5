"""Units of measure, exact conversions between them, and the exact quantity column type.

Quantities are `Decimal`s. In the database they are integers counting millionths of the unit
(`Quantity` column type), so sums are exact on SQLite and PostgreSQL alike. Conversions are
rounded half-even to six places; entered quantities carry at most three.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, TypeDecorator
from sqlalchemy.engine import Dialect

from office.errors import InvalidInput
from office.i18n import LazyText, _, _l, format_number, ngettext
from office.inputs import decimal_from

SCALE = 6
STEP = Decimal(1).scaleb(-SCALE)
ENTRY_PLACES = 3
MAX_QUANTITY = Decimal(10) ** 12  # a trillion of any unit: well past anything real


class Unit(StrEnum):
    L = "L"
    BBL = "bbl"
    T = "t"
    KG = "kg"
    G = "g"
    KWH = "kWh"
    MWH = "MWh"
    PIECE = "piece"


class Dimension(StrEnum):
    VOLUME = "volume"
    MASS = "mass"
    ENERGY = "energy"
    COUNT = "count"


# Each unit as a multiple of its dimension's reference unit (L, kg, kWh, piece).
# A US oil barrel is 42 US gallons of 3.785411784 L, exactly.
_UNITS: dict[Unit, tuple[Dimension, Decimal]] = {
    Unit.L: (Dimension.VOLUME, Decimal(1)),
    Unit.BBL: (Dimension.VOLUME, Decimal("158.987294928")),
    Unit.T: (Dimension.MASS, Decimal(1000)),
    Unit.KG: (Dimension.MASS, Decimal(1)),
    Unit.G: (Dimension.MASS, Decimal("0.001")),
    Unit.KWH: (Dimension.ENERGY, Decimal(1)),
    Unit.MWH: (Dimension.ENERGY, Decimal(1000)),
    Unit.PIECE: (Dimension.COUNT, Decimal(1)),
}
_BARREL_LITRES = _UNITS[Unit.BBL][1]


def dimension_of(unit: Unit) -> Dimension:
    return _UNITS[Unit(unit)][0]


def quantize(value: Decimal) -> Decimal:
    return value.quantize(STEP, rounding=ROUND_HALF_EVEN)


def can_convert(from_unit: Unit, to_unit: Unit, barrels_per_tonne: Decimal | None) -> bool:
    a, b = dimension_of(from_unit), dimension_of(to_unit)
    return a == b or ({a, b} == {Dimension.VOLUME, Dimension.MASS} and bool(barrels_per_tonne))


def convert(
    quantity: Decimal, from_unit: Unit, to_unit: Unit, barrels_per_tonne: Decimal | None = None
) -> Decimal:
    """Return `quantity` of `from_unit` in `to_unit`; raise InvalidInput if they do not convert.

    Volume and mass convert only through a petroleum product's barrels per tonne.
    """
    from_unit, to_unit = Unit(from_unit), Unit(to_unit)
    if not can_convert(from_unit, to_unit, barrels_per_tonne):
        raise InvalidInput(
            _l("%(a)s cannot be converted to %(b)s.", a=from_unit.value, b=to_unit.value),
            field="unit",
        )
    from_dim, from_factor = _UNITS[from_unit]
    to_dim, to_factor = _UNITS[to_unit]
    reference = quantity * from_factor  # in L, kg, kWh or piece
    if from_dim != to_dim:
        assert barrels_per_tonne is not None
        litres_per_kg = barrels_per_tonne * _BARREL_LITRES / 1000
        reference = (
            reference * litres_per_kg if from_dim is Dimension.MASS else (reference / litres_per_kg)
        )
    return quantize(reference / to_factor)


def parse_quantity(value: object, *, unit: Unit | None = None, allow_zero: bool = False) -> Decimal:
    """Return `value` as an exact positive quantity; raise InvalidInput (field `quantity`).

    Accepts a Decimal, an int or a decimal string in ASCII digits ("1000.5"); refuses floats,
    booleans, NaN, infinities, more than three decimal places, and anything from a trillion up.
    """
    if isinstance(value, (bool, float)):
        raise InvalidInput(_l("Enter the quantity as a decimal number."), field="quantity")
    number = (
        value
        if isinstance(value, Decimal)
        else Decimal(value)
        if isinstance(value, int)
        else decimal_from(str(value).strip())
    )
    if number is None:
        raise InvalidInput(_l("Enter the quantity as a decimal number."), field="quantity")
    if not number.is_finite():
        raise InvalidInput(_l("The quantity must be a finite number."), field="quantity")
    if number < 0 or (number == 0 and not allow_zero):
        raise InvalidInput(_l("The quantity must be greater than zero."), field="quantity")
    if abs(number) >= MAX_QUANTITY:
        raise InvalidInput(_l("The quantity is too large."), field="quantity")
    if number != number.quantize(Decimal(1).scaleb(-ENTRY_PLACES), rounding=ROUND_HALF_EVEN):
        raise InvalidInput(
            _l("The quantity can have at most %(n)d decimal places.", n=ENTRY_PLACES),
            field="quantity",
        )
    if unit is not None and Unit(unit) is Unit.PIECE and number != number.to_integral_value():
        raise InvalidInput(_l("Pieces are counted in whole numbers."), field="quantity")
    return number


# --- how people read units ------------------------------------------------------------------
# The stored codes (L, bbl, t, piece...) never change; pages, forms, reports and messages show
# each unit as its readers say it. Symbols are the same in both languages, with a space
# (2,000 L, 300 kg); a tonne, a barrel and a piece are counted in words in Korean, without
# one (45톤, 1,500배럴, 20개), and a piece takes its plural in English (20 pieces).


def _unit_name(unit: Unit | str) -> str:
    unit = Unit(unit)
    if unit is Unit.PIECE:
        return _("pieces")
    if unit is Unit.T:
        return _("t")
    if unit is Unit.BBL:
        return _("bbl")
    return unit.value


def unit_name(unit: Unit | str) -> LazyText:
    """The unit on its own, as a column heading or a choice shows it: 개 / pieces, 톤 / t."""
    return LazyText(_unit_name, unit)


def format_amount(value: Decimal | int | None, unit: Unit | str, places: int | None = None) -> str:
    """Return `value` of `unit` as it is read: "2,000 L", "20개" / "20 pieces", "45톤"."""
    if value is None:
        return ""
    number = format_number(value, places)
    unit = Unit(unit)
    if unit is Unit.PIECE:
        return ngettext("%(n)s piece", "%(n)s pieces", 1 if value == 1 else 2, n=number)
    if unit is Unit.T:
        return _("%(n)s t", n=number)
    if unit is Unit.BBL:
        return _("%(n)s bbl", n=number)
    return f"{number} {unit.value}"


def amount(value: Decimal | int | None, unit: Unit | str, places: int | None = None) -> LazyText:
    """`format_amount`, in the language of whoever reads it (for messages made before)."""
    return LazyText(format_amount, value, unit, places)


def format_quantity(value: Decimal | None) -> str:
    """Return `value` as a plain decimal string without trailing zeros ("1000.5", "12")."""
    if value is None:
        return ""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class Quantity(TypeDecorator[Decimal]):
    """An exact quantity stored as a count of millionths in a BIGINT."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(SCALE)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {SCALE} decimal places")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-SCALE)
