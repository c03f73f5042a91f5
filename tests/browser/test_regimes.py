"""The sanctions regimes in a real browser: a reviewer reads the regimes, adds a rule under one
and removes it, and reads a resource's control under each regime; every page visited is
checked with axe-core in both languages and at phone width (tests/browser/conftest.py).

The live server's demo database is shared by every browser test of the run: the regime is
changed and put back, and the rule added is removed."""

import re
import secrets

import pytest
from playwright.sync_api import expect

from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in, nav_to, screenshot

pytestmark = pytest.mark.browser

ADMIN, REVIEWER = DEMO_LOGINS[0], DEMO_LOGINS[2]
US = "US Export Administration Regulations"
ROK = "ROK carry-out approval (Ministry of Unification)"


def test_reviewer_reads_the_regimes_changes_one_and_a_rule_under_another(page):
    log_in(page, REVIEWER)
    nav_to(page, "Sanctions regimes")
    page.wait_for_url("**/regimes/")
    headings = page.locator("section.regime h2").all_inner_texts()
    assert [h.split(". ", 1)[0] for h in headings] == ["1", "2", "3"]
    assert "Goods made in the United States, or with more than 10% US content." in (
        page.locator("#regime-us").inner_text()
    )
    screenshot(page, "regimes")

    # The US regime's note, changed and put back.
    page.locator("#regime-us").get_by_role("link", name="Change the regime").click()
    page.wait_for_url(re.compile(r"/regimes/\d+$"))
    note = page.get_by_label("Note", exact=True)
    kept = note.input_value()
    note.fill(f"{kept}\nBrowser test {secrets.token_hex(3)}.")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/regimes/#regime-us")
    expect(page.get_by_text(f"{US} saved; resources reclassified.")).to_be_visible()
    page.locator("#regime-us").get_by_role("link", name="Change the regime").click()
    page.get_by_label("Note", exact=True).fill(kept)
    page.get_by_label("US content above which it applies (%)").fill("abc")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#us_content_threshold-error")).to_contain_text("Enter a share in percent")
    page.get_by_label("US content above which it applies (%)").fill("10")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/regimes/#regime-us")

    # A rule under the ministry's regime, then removed (the page asks first).
    page.locator("#regime-rok").get_by_role("link", name="Add a rule under this regime").click()
    assert page.get_by_label("Regime", exact=True).input_value() == "rok"
    page.get_by_label("HS prefix", exact=True).fill("4802")
    page.get_by_label("Control", exact=True).select_option("none")
    page.get_by_label("Note", exact=True).fill("Browser test: paper")
    page.get_by_role("button", name="Save rule").click()
    saved = re.compile(rf"^Rule for HS 4802 under {re.escape(ROK)} saved")
    expect(page.get_by_text(saved)).to_be_visible()
    row = page.locator("#regime-rok tr", has_text="Browser test: paper")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Remove").click()
    expect(page.get_by_text(re.compile(r"^Rule for HS 4802 under .* removed"))).to_be_visible()
    assert page.confirm_questions[-1] == f"Remove the rule for HS 4802 under {ROK}?"
    expect(page.locator("#regime-rok tr", has_text="Browser test: paper")).to_have_count(0)


def test_administrator_reads_a_resources_control_under_each_regime(page):
    log_in(page, ADMIN)
    nav_to(page, "Resources")
    page.wait_for_url("**/resources/")
    header = page.locator("table.catalogue thead th").all_inner_texts()
    assert header[4:7] == ["UN", "ROK", "US"]
    page.locator("table.catalogue").get_by_role("link", name="steel", exact=True).click()
    page.wait_for_url(re.compile(r"/resources/\d+$"))
    table = page.get_by_test_id("determinations")
    assert "HS rule 72: UNSCR 2397 op. 7" in table.inner_text()
    assert "Not subject: made in South Korea" in table.inner_text()
    assert page.get_by_role("button", name="Save").count() == 0
    screenshot(page, "resource-controls")
