"""The office administrator's daily log in a real browser: record a day, sign it off, then
correct it with a reason on its correction page; and the UN petroleum report for the office's
opening month.

The live server and its demo database are shared by every browser test of the run. The demo
left 2018-10-03 unsigned (office/fuel/demo.py, UNSIGNED) and no other browser test touches it.
The demo's later issues used up the lots on site that day, so the day starts with a tanker's
receipt (on the blanket diesel line under the ministry's regime, which no other browser test
counts, and the UN's standing notification) before the boiler issue. A meter of its own keeps
the correction clear of the demo's grid meter, read every day to the end of 2018 (a reading on
10-03 would come before its last one)."""

import re
import secrets
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in, nav_to, screenshot

pytestmark = pytest.mark.browser

ADMIN = DEMO_LOGINS[0]
DAY = "2018-10-03"
BLANKET = "MOU-2018-B-0814"  # the demo's blanket approval, granted, valid 2018-08-14 to 2019-08-13
UN = "UN Security Council sanctions (1718 Committee)"
ROK = "ROK carry-out approval (Ministry of Unification)"
US = "US Export Administration Regulations"
TANKER = "S-Oil Munsan depot / 현대아산 탱크로리 (Hyundai Asan tanker)"


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "").strip())


def test_administrator_logs_a_day_signs_it_off_and_corrects_it(page):
    meter = f"Generator 2 output {secrets.token_hex(2)}"
    log_in(page, ADMIN)

    # The day's meter goes in first thing: a generator's own meter, installed that morning.
    nav_to(page, "Fuel and power")
    page.locator("nav.subnav").get_by_role("link", name="Generators and meters").click()
    page.get_by_text("Add a meter", exact=True).click()
    add_meter = page.locator("form[action='/operations/meters']")
    add_meter.get_by_label("Name", exact=True).fill(meter)
    add_meter.get_by_label("Source").select_option("generator")
    add_meter.get_by_label("Installed on").fill(DAY)
    add_meter.get_by_label("at", exact=True).fill("07:00")
    add_meter.get_by_label("First reading").fill("5000")
    add_meter.get_by_role("button", name="Add meter").click()
    expect(page.get_by_text("Meter added with its first reading.")).to_be_visible()

    nav_to(page, "Daily log")
    page.wait_for_url(re.compile(r"/operations/days/\d{4}-\d{2}-\d{2}$"))
    page.goto(f"/operations/days/{DAY}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Daily log {DAY}")
    expect(page.locator(".actions .badge")).to_have_text("draft")

    # A tanker came that morning: the boiler's fuel comes from what was on site that day.
    receipt = page.locator("article#receipt")
    receipt.get_by_label("Tank").select_option(label="Boiler tank")
    receipt.get_by_label("Quantity").fill("1000")
    # A line under each regime that controls diesel: the blanket approval under the
    # ministry's; none under the UN's, whose standing notification it then draws on.
    expect(receipt.get_by_label(US)).to_have_count(0)
    ministry = receipt.get_by_label(ROK)
    line = ministry.locator("option", has_text=f"{BLANKET} · ").filter(has_text="diesel")
    ministry.select_option(line.get_attribute("value"))
    receipt.get_by_label("Supplier and carrier").fill("Browser test tanker")
    receipt.get_by_role("button", name="Record receipt").click()
    expect(page.get_by_text("Fuel received and drawn on the ledger.")).to_be_visible()
    received = page.locator("section#fuel tbody tr", has_text="Browser test tanker")
    expect(received.locator("td").nth(2)).to_have_text("1,000 L")
    regimes = received.locator("td").nth(4).locator(".regime-badges li")
    expect(regimes.locator(".regime-name")).to_have_text([UN, ROK, US])
    expect(regimes.locator(".badge")).to_have_text(["covered", "covered", "not required"])
    expect(regimes.nth(1)).to_contain_text(f"{BLANKET} · ")

    issue = page.locator("article#issue")
    issue.get_by_label("Tank").select_option(label="Boiler tank")
    issue.get_by_label("Litres").fill("250")
    issue.get_by_label("For").select_option(label="heating boiler")
    issue.get_by_label("Note").fill("Browser test: first cold night")
    issue.get_by_role("button", name="Record issue").click()
    expect(page.get_by_text("Fuel issued.", exact=True)).to_be_visible()
    fuel = page.locator("section#fuel tbody tr", has_text="first cold night")
    expect(fuel.locator("td").nth(2)).to_have_text("250 L")
    expect(fuel.locator("td").nth(4)).to_have_text("250 · covered")

    dip = page.locator("section#dip form")
    dip.get_by_label("Tank").select_option(label="Boiler tank")
    dip.get_by_label("Measured litres").fill("8750")
    dip.get_by_label("Time").fill("21:00")
    dip.get_by_role("button", name="Record dip").click()
    expect(page.get_by_text("Dip reading recorded.")).to_be_visible()
    row = page.locator("section#dip tbody tr", has_text=f"{DAY} 21:00").locator("td")
    expect(row.nth(2)).to_have_text("8,750")
    book, variance = amount(row.nth(3).inner_text()), row.nth(4).inner_text()
    assert amount(variance.split()[0]) == Decimal(8750) - book

    notes = page.locator("section#notes form")
    notes.get_by_label("Incidents").fill("Browser test: boiler lit for the first time.")
    notes.get_by_role("button", name="Save the log").click()
    expect(page.get_by_text("The day's log was saved.")).to_be_visible()
    expect(page.get_by_label("Incidents")).to_have_value(
        "Browser test: boiler lit for the first time."
    )
    screenshot(page, "daily-log-draft")

    page.get_by_role("button", name="Sign off this day").click()
    expect(page.get_by_text(f"The log of {DAY} is signed off.")).to_be_visible()
    expect(page.locator(".actions .badge")).to_have_text(re.compile(r"^signed off 20\d\d-"))
    expect(page.get_by_role("button", name="Sign off this day")).to_have_count(0)
    # The history is folded: the day's work stays in view.
    history = page.locator("section#history tbody tr")
    expect(history.last).to_be_hidden()
    page.locator("section#history summary").click()
    expect(history.last.locator("td").nth(2)).to_have_text("signed off")
    # A signed-off day is read-only: it says so, and where a correction is recorded.
    expect(page.locator("section#reading form")).to_have_count(0)
    expect(page.get_by_text("This day is signed off, so it is shown read-only.")).to_be_visible()
    screenshot(page, "daily-log-signed-off")
    page.get_by_role("link", name="Record a correction").click()
    page.wait_for_url(f"**/operations/days/{DAY}/correct")

    reading = page.locator("section#reading form")
    reading.get_by_label("Meter", exact=True).select_option(label=meter)
    reading.get_by_label("Register", exact=True).fill("5012")
    reading.get_by_label("Time").fill("20:00")
    reading.get_by_role("button", name="Record reading").click()
    refusal = page.locator("#reading-correction_reason-error")
    expect(refusal).to_have_text(
        f"The log of {DAY} is signed off; a change to it is a correction: give the reason."
    )
    expect(reading.get_by_label("Register", exact=True)).to_have_value("5012")
    expect(page.locator("section#reading tbody tr", has_text=f"{DAY} 20:00")).to_have_count(0)

    reason = "Browser test: the evening reading was on the paper log only."
    reading.get_by_label("Reason for the correction (the day is signed off)").fill(reason)
    reading.get_by_role("button", name="Record reading").click()
    expect(page.get_by_text("Meter reading recorded.")).to_be_visible()
    recorded = page.locator("section#reading tbody tr", has_text=f"{DAY} 20:00").locator("td")
    expect(recorded.nth(1)).to_have_text(meter)
    expect(recorded.nth(3)).to_have_text("12")
    page.locator("section#history summary").click()
    correction = page.locator("section#history tbody tr").last.locator("td")
    expect(correction.nth(2)).to_have_text("meter reading correction")
    expect(correction.nth(3)).to_have_text(reason)
    expect(page.locator(".actions .badge")).to_have_text(re.compile(r"^signed off "))
    screenshot(page, "daily-log-correction")


def test_the_petroleum_report_for_the_opening_month(page):
    log_in(page, ADMIN)
    nav_to(page, "Fuel and power")
    page.locator("nav.subnav").get_by_role("link", name="UN petroleum report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Refined petroleum transferred north")
    # The periods offered are those of the year shown; 2018's come with a date in 2018.
    page.goto("/operations/petroleum?start=2018-08-29")

    expect(page.get_by_role("heading", level=2)).to_have_text("2018-08-29 – 2018-09-27")
    expect(page.get_by_label("Period")).to_have_value("2018-08-29")
    diesel = page.locator("table").first.locator("tbody tr", has_text="Diesel")
    expect(diesel.locator("td").nth(1)).to_have_text("2710.19")
    expect(diesel.locator("td").nth(5)).to_have_text("7.23, the product's own")
    opening = page.locator("table").nth(1).locator("tbody tr", has_text="2018-09-14")
    # 6,000 L of diesel: 37.74 bbl at 158.987 L, 5.22 t at 7.23 bbl/t
    assert opening.locator("td").all_inner_texts()[:7] == [
        "2018-09-14",
        "diesel",
        "6,000",
        "5.22",
        "37.74",
        "UN1718-P5-2018",  # the UN op. 5 notification it was drawn on under the UN
        TANKER,
    ]
    transfers = page.locator("table").nth(1).locator("tbody tr", has_text="diesel").all()
    litres = [amount(row.locator("td").nth(2).inner_text()) for row in transfers]
    assert sum(litres) == amount(diesel.locator("td").nth(2).inner_text())
    expect(page.get_by_role("link", name="CSV")).to_have_attribute(
        "href", "/operations/petroleum.csv?start=2018-08-29"
    )
    screenshot(page, "petroleum-report")

    page.get_by_label("Period").select_option("2018-09-28")
    page.locator("form", has=page.get_by_label("Period")).get_by_role("button").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("2018-09-28 – 2018-10-27")

    # Any 30 days: from the day the office opened.
    page.get_by_label("Or 30 days from any day").fill("2018-09-14")
    page.locator("form", has=page.get_by_label("Or 30 days")).get_by_role("button").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("2018-09-14 – 2018-10-13")
    expect(page.get_by_label("Period")).to_have_value("2018-09-14")
    page.get_by_role("link", name="Next 30 days").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("2018-10-14 – 2018-11-12")
