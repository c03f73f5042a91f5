"""The main navigation. An entry shows only to users whose role may open its page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from office.auth.access import can_access
from office.i18n import _l


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any


NAV_ITEMS = (
    NavItem("home.index", _l("Home")),
    NavItem("reviews.dashboard", _l("Review")),
    NavItem("staffing.index", _l("Staffing")),
    NavItem("staffing.calendar", _l("Calendar")),
    NavItem("operations.today", _l("Daily log")),
    NavItem("operations.index", _l("Fuel and power")),
    NavItem("deliveries.index", _l("Deliveries")),
    NavItem("repairs.index", _l("Repairs")),
    NavItem("waivers.index", _l("Waivers")),
    NavItem("ledger.index", _l("Ledger")),
    NavItem("ledger.new", _l("Record drawdown")),
    NavItem("resources.index", _l("Resources")),
    NavItem("users.index", _l("Users")),
    NavItem("audit.index", _l("Audit trail")),
)


def visible_nav_items() -> list[NavItem]:
    return [item for item in NAV_ITEMS if can_access(item.endpoint)]
