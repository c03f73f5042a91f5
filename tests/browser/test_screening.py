"""The what-if screening in a real browser: a reviewer opens a shared result, an administrator
screens an item through the menu's form and corrects a bad quantity. Each kind of page visited
(the result first) is checked with axe-core in both languages and at phone width.

The live server's demo is shared by every browser test of the run: nothing here writes."""

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in, nav_to, screenshot

pytestmark = pytest.mark.browser

ADMIN, REVIEWER = DEMO_LOGINS[0], DEMO_LOGINS[2]
# Five tonnes of Korean steel sections on 2018-10-01: banned by the UN (HS 72), approved by
# the ministry (the demo's repair materials, MOU-2018-0611), outside the US EAR.
STEEL = (
    "/ledger/screening?hs_code=7216.10&origin=KR&us_content_percent=0&quantity=5&unit=t"
    "&occurred_on=2018-10-01"
)


def control_of(page, code: str) -> str:
    return page.get_by_test_id(f"regime-{code}").get_by_test_id("control").inner_text()


def test_a_shared_screening_opens_with_each_regime_and_its_lines(page):
    log_in(page, REVIEWER)
    page.goto(STEEL)

    expect(page.get_by_role("heading", name="What-if screening", level=1)).to_be_visible()
    assert page.get_by_label("HS code").input_value() == "7216.10"
    assert (control_of(page, "un"), control_of(page, "rok"), control_of(page, "us")) == (
        "prohibited",
        "approval required",
        "not controlled",
    )
    un = page.get_by_test_id("regime-un")
    expect(un.get_by_text("by the rule for HS 72")).to_be_visible()
    assert un.get_by_test_id("best").inner_text() == "uncovered"
    rok = page.get_by_test_id("regime-rok")
    row = rok.locator("tbody tr", has_text="MOU-2018-0611")
    expect(row).to_have_count(1)
    left_now, left_after = (
        Decimal(cell.replace(",", "").removesuffix(" t"))
        for cell in row.locator("td.num").all_inner_texts()
    )
    assert left_now - left_after == 5
    # The demo's repairs drew on the approval: what it has left decides.
    classification = "covered" if left_after >= 0 else "over cap"
    assert row.locator(".badge").all_inner_texts() == ["granted", classification]
    assert page.get_by_test_id("overall").inner_text() == "uncovered"
    screenshot(page, "screening-steel")

    page.get_by_role("button", name="한국어").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="사전 심사", level=1)).to_be_visible()
    assert control_of(page, "un") == "금지"
    screenshot(page, "screening-steel-ko")
    page.get_by_role("button", name="English").click()  # as the other tests expect it
    page.wait_for_load_state()


def test_an_administrator_screens_an_item_from_the_menu_and_corrects_a_bad_quantity(page):
    log_in(page, ADMIN)
    nav_to(page, "What-if screening")
    page.wait_for_url("**/ledger/screening")
    expect(page.get_by_test_id("screening")).to_have_count(0)

    page.get_by_label("HS code").fill("8471.50")
    page.get_by_label("Origin").fill("US")
    page.get_by_label("Quantity").fill("-3")
    page.get_by_label("Unit").select_option("piece")
    page.get_by_label("Date").fill("2018-12-20")
    page.get_by_role("button", name="Screen", exact=True).click()
    page.wait_for_load_state()

    quantity = page.get_by_label("Quantity")
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#quantity-error")).to_have_text("The quantity must be greater than zero.")
    expect(page.get_by_test_id("screening")).to_have_count(0)

    quantity.fill("3")
    page.get_by_role("button", name="Screen", exact=True).click()
    page.get_by_test_id("screening").wait_for()
    # The result is an address: it can be bookmarked and shared.
    asked = parse_qs(urlsplit(page.url).query)
    assert asked["hs_code"] == ["8471.50"] and asked["quantity"] == ["3"]
    assert control_of(page, "us") == "approval required"
    us = page.get_by_test_id("regime-us")
    expect(us.locator("tbody tr", has_text="US-2018-LO-IT")).to_have_count(1)
    un = page.get_by_test_id("regime-un")
    expect(un.locator("tbody tr", has_text=re.compile(r"UN1718-2018-LO-01"))).to_have_count(1)
    screenshot(page, "screening-computers")
