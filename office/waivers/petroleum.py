"""Kinds of petroleum product and the UN Statistics Division's barrels per tonne for each.

The 1718 Committee counts refined petroleum in barrels and tonnes; its own conversion method
is not published, so a product without a factor of its own is converted by its kind's UNSD
factor, and every page and report that shows the factor says it is that default.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class PetroleumKind(StrEnum):
    GAS_DIESEL_OIL = "gas_diesel_oil"
    MOTOR_GASOLINE = "motor_gasoline"
    KEROSENE = "kerosene"  # kerosene and kerosene-type jet fuel
    LPG = "lpg"
    RESIDUAL_FUEL_OIL = "residual_fuel_oil"
    CRUDE_OIL = "crude_oil"


# UN Statistics Division, Energy Statistics Yearbook conversion factors (barrels per metric
# tonne); ../shared/domain.md section 6.
UNSD_BARRELS_PER_TONNE: dict[PetroleumKind, Decimal] = {
    PetroleumKind.GAS_DIESEL_OIL: Decimal("7.23"),
    PetroleumKind.MOTOR_GASOLINE: Decimal("8.50"),
    PetroleumKind.KEROSENE: Decimal("7.77"),
    PetroleumKind.LPG: Decimal("11.65"),
    PetroleumKind.RESIDUAL_FUEL_OIL: Decimal("6.62"),
    PetroleumKind.CRUDE_OIL: Decimal("7.32"),
}

# HS prefixes (digits) that say the kind, longest first. 2710.19 holds lubricants and fuel
# oils too: the guess is gas/diesel oil, the office's fuel, and anyone may choose otherwise.
_KIND_BY_HS: tuple[tuple[str, PetroleumKind], ...] = (
    ("271112", PetroleumKind.LPG),  # propane
    ("271113", PetroleumKind.LPG),  # butanes
    ("271119", PetroleumKind.LPG),  # other liquefied gases
    ("271012", PetroleumKind.MOTOR_GASOLINE),  # light oils
    ("271019", PetroleumKind.GAS_DIESEL_OIL),  # medium and heavy oils
    ("2709", PetroleumKind.CRUDE_OIL),
)


def kind_from_hs(hs_digits: str) -> PetroleumKind | None:
    """Return the kind of petroleum product an HS code (digits only) names; None when it
    names none of them."""
    return next((kind for prefix, kind in _KIND_BY_HS if hs_digits.startswith(prefix)), None)
