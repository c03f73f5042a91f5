"""The main navigation: a few top-level entries, most of them menus of related pages, so the
header fits one row on a laptop and folds into one menu on a phone. An entry shows only to users
whose role may open its page; a menu with one such page is a plain link to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from office.auth.access import can_access
from office.i18n import _l


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any


@dataclass(frozen=True)
class NavGroup:
    label: Any
    items: tuple[NavItem, ...]

    @property
    def blueprints(self) -> frozenset[str]:
        return frozenset(item.endpoint.split(".")[0] for item in self.items)


NAV = (
    NavGroup(_l("Home"), (NavItem("home.index", _l("Home")),)),
    NavGroup(_l("Review"), (NavItem("reviews.dashboard", _l("Review")),)),
    NavGroup(
        _l("Staffing"),
        (NavItem("staffing.index", _l("Staffing")), NavItem("staffing.calendar", _l("Calendar"))),
    ),
    NavGroup(
        _l("Operations"),
        (
            NavItem("operations.today", _l("Daily log")),
            NavItem("operations.index", _l("Fuel and power")),
            NavItem("deliveries.index", _l("Deliveries")),
            NavItem("repairs.index", _l("Repairs")),
        ),
    ),
    NavGroup(
        _l("Waivers"),
        (
            NavItem("waivers.index", _l("Waivers")),
            NavItem("ledger.index", _l("Ledger")),
            NavItem("ledger.new", _l("Record drawdown")),
            NavItem("ledger.screening", _l("What-if screening")),
            NavItem("resources.index", _l("Resources")),
            NavItem("regimes.index", _l("Sanctions regimes")),
        ),
    ),
    NavGroup(
        _l("Administration"),
        (NavItem("users.index", _l("Users")), NavItem("audit.index", _l("Audit trail"))),
    ),
)


def visible_nav() -> list[NavGroup]:
    """The menus the current user may open, each with only the pages they may open."""
    shown = []
    for group in NAV:
        items = tuple(item for item in group.items if can_access(item.endpoint))
        if items:
            shown.append(NavGroup(group.label, items))
    return shown
