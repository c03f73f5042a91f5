"""The catalogue and a resource's page in a real browser: the barrels per tonne each petroleum
product converts by, shown as the UNSD default for its kind where it has none of its own
(#17). Read only: the live server's demo is shared by every browser test of the run."""

import pytest
from playwright.sync_api import expect

from office.auth.permissions import Role
from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in, nav_to, screenshot

pytestmark = pytest.mark.browser

REVIEWER = next(login for login in DEMO_LOGINS if login.role is Role.REVIEWER)


def test_the_catalogue_and_a_resource_page_show_the_default_factor_and_the_kind(page):
    log_in(page, REVIEWER)
    nav_to(page, "Resources")
    expect(page.get_by_role("heading", level=1)).to_have_text("Resources")
    rows = page.locator("table").first.locator("tbody tr")

    def row(code: str):
        return rows.filter(has=page.get_by_role("link", name=code, exact=True))

    kerosene = row("kerosene")
    # The factor is each row's last cell.
    expect(kerosene.locator("td").last).to_have_text("7.77, UNSD default for kerosene and jet fuel")
    expect(row("gasoline").locator("td").last).to_have_text("8.5, UNSD default for motor gasoline")
    expect(row("diesel").locator("td").last).to_have_text("7.23")

    kerosene.get_by_role("link", name="kerosene").click()
    expect(page.locator("dl.facts")).to_contain_text(
        "Barrels per tonne used7.77, UNSD default for kerosene and jet fuel"
    )
    expect(page.get_by_label("Kind of petroleum product")).to_have_value("kerosene")
    expect(page.get_by_label("Barrels per tonne (petroleum only)")).to_have_value("")
    screenshot(page, "resource-petroleum-kind")
