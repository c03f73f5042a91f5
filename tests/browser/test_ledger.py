"""The ledger's two main flows in a real browser: an administrator checks, records and reverses
a drawdown; a reviewer creates a waiver, adds a line and grants it.

The live server and its demo database are shared by every browser test of the run, so these
tests make their own data unique and never count rows."""

import re
import secrets
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in, nav_to, screenshot

pytestmark = pytest.mark.browser

ADMIN, REVIEWER = DEMO_LOGINS[0], DEMO_LOGINS[2]
BLANKET = "MOU-2018-B-0814"  # the demo's blanket approval, granted, valid 2018-08-14 to 2019-08-13
NOTIFIED = "UN1718-P5-2018"  # the refined petroleum notified to the UN, standing
ROK = "ROK carry-out approval (Ministry of Unification)"


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def entry_seq(page) -> int:
    return int(re.fullmatch(r"Entry (\d+)", page.get_by_role("heading", level=1).inner_text())[1])


def test_administrator_checks_records_and_reverses_a_drawdown(page):
    log_in(page, ADMIN)
    nav_to(page, "Record drawdown")
    page.wait_for_url("**/ledger/new")

    page.get_by_label("Resource", exact=True).select_option(label="diesel · Diesel (gas oil) (L)")
    page.get_by_label("Quantity", exact=True).fill("437.5")
    page.get_by_label("Unit", exact=True).select_option("L")
    page.get_by_label("Date", exact=True).fill("2018-12-31")
    # The ministry's line chosen; the UN's standing notification is drawn on by itself.
    line = page.locator("#line_rok option", has_text=f"{BLANKET} · 1 · diesel ·")
    page.get_by_label(ROK, exact=True).select_option(line.get_attribute("value"))
    page.get_by_label("Note", exact=True).fill("Browser test: generator top-up")

    page.get_by_role("button", name="Check", exact=True).click()
    preview = page.get_by_test_id("preview")
    preview.wait_for()
    assert "If recorded now" in preview.inner_text()
    assert preview.locator("header .badge").inner_text() == "covered"
    rows = {
        row.locator("th").inner_text(): row.inner_text()
        for row in preview.locator("tbody tr").all()
    }
    assert f"{NOTIFIED} · line 1 standing" in rows["UN Security Council sanctions (1718 Committee)"]
    ministry = rows[ROK]
    assert f"{BLANKET} · line 1" in ministry and "covered" in ministry
    left = re.search(r"([\d,.]+) L now, ([\d,.]+) L after", ministry)
    assert left is not None
    assert amount(left.group(1)) - amount(left.group(2)) == Decimal("437.5")
    assert page.get_by_label("Quantity", exact=True).input_value() == "437.5"
    screenshot(page, "ledger-preview")

    page.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_url(re.compile(r"/ledger/\d+$"))
    seq = entry_seq(page)
    expect(page.get_by_text(f"Entry {seq} recorded: covered.")).to_be_visible()
    facts = page.locator("dl.facts").inner_text()
    assert "437.5 L" in facts
    regimes = page.locator("table.regimes").inner_text()
    assert f"{BLANKET} · line 1" in regimes and f"{NOTIFIED} · line 1" in regimes
    assert "Browser test: generator top-up" in facts
    assert re.search(r"\b[0-9a-f]{64}\b", facts)
    screenshot(page, "ledger-entry")

    page.get_by_label("Reason", exact=True).fill("Browser test: recorded on the wrong day.")
    page.get_by_role("button", name="Reverse", exact=True).click()
    # Still on an entry page: wait for the reversal's own page, not just any entry page.
    expect(page.get_by_text(re.compile(rf"^Entry {seq} reversed by entry \d+\.$"))).to_be_visible()
    reversal = entry_seq(page)
    assert reversal > seq
    facts = page.locator("dl.facts").inner_text()
    assert "-437.5 L" in facts
    assert f"Entry {seq}: Browser test: recorded on the wrong day." in facts
    assert page.get_by_role("button", name="Reverse", exact=True).count() == 0
    screenshot(page, "ledger-reversal")


def test_reviewer_creates_a_waiver_adds_a_line_and_grants_it(page):
    reference = f"MOU-BT-{secrets.token_hex(3).upper()}"
    log_in(page, REVIEWER)
    nav_to(page, "Waivers")
    page.get_by_role("button", name="New waiver").click()
    page.wait_for_url("**/waivers/new")

    page.get_by_label("Reference").fill(reference)
    page.get_by_label("Authority").select_option("rok_mou_individual")
    page.get_by_label("Title").fill("Browser test: kerosene for the winter")
    page.get_by_label("Valid from").fill("2018-11-01")
    page.get_by_label("Valid until").fill("2019-03-31")
    page.get_by_role("button", name="Create waiver").click()
    page.wait_for_url(re.compile(r"/waivers/\d+$"))
    expect(
        page.get_by_text(f"Waiver {reference} created as a draft; add its lines.")
    ).to_be_visible()

    page.get_by_label("Resource", exact=True).select_option(label="kerosene · Kerosene (L)")
    page.get_by_label("Requested quantity").fill("5000")
    page.get_by_label("Unit", exact=True).select_option("L")
    page.get_by_role("button", name="Add line").click()
    expect(page.get_by_text("Line 1 added.")).to_be_visible()

    page.get_by_label("New status").select_option("requested")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_text(f"Waiver {reference} is now requested.")).to_be_visible()

    page.get_by_label("Line 1 · kerosene (L)").fill("4000")
    page.get_by_role("button", name="Save", exact=True).first.click()
    expect(page.get_by_text("Line 1 saved.")).to_be_visible()

    page.get_by_label("New status").select_option("granted")
    page.get_by_label("Note", exact=True).fill("Browser test: granted 4,000 of 5,000 L.")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_text(f"Waiver {reference} is now granted.")).to_be_visible()

    row = page.locator("table").first.locator("tbody tr").first
    assert row.locator("td").all_inner_texts()[:6] == [
        "1",
        "Kerosene (kerosene)",
        "5,000 L",
        "4,000 L",
        "0 L",
        "4,000 L",
    ]
    history = page.locator("table", has=page.get_by_role("columnheader", name="Effective"))
    expect(history.get_by_text("requested → granted")).to_be_visible()
    expect(history.get_by_text("Browser test: granted 4,000 of 5,000 L.")).to_be_visible()
    screenshot(page, "waiver-granted")
