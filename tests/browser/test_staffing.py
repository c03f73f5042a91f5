"""The scheduler's quarter in a real browser: look at the calendar's broken rules, plan the South
for 92 days, accept the proposal, see the calendar hold, and publish a crossing list; and a
stay that overlaps another is refused with its message.

The live server and its demo database are shared by every browser test of the run: the demo's
officials have no stays in 2019, so the plan takes the first quarter of 2019, which nothing else
touches. The demo's rotation stops on 2018-12-31 for 16 of the 20 South officials, who must then
rest two days: a plan from 2019-01-01 is refused, naming the day; the plan starts on 01-03."""

import re

import pytest
from playwright.sync_api import expect

from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in, nav_to, screenshot

pytestmark = pytest.mark.browser

SCHEDULER = DEMO_LOGINS[1]
PLANNING = 60_000  # the planner searches for a few seconds (OFFICE_PLANNER_SECONDS)


def open_staffing_page(page, name: str) -> None:
    page.locator("nav.subnav").get_by_role("link", name=name, exact=True).click()


def side_table(page, side: str):
    """The calendar table under the heading of `side` (South or North)."""
    return page.locator(f"h2:text-is('{side}') + div table.calendar")


def on_site_days(table) -> list[list[bool]]:
    """For each person's row of a calendar table, whether they are on site each day (from 1)."""
    rows = table.locator("tbody tr").all()[2:]  # after the headcount and night duty rows
    return [[False] + ["●" in t for t in row.locator("td").all_inner_texts()] for row in rows]


def test_scheduler_plans_checks_and_publishes_a_quarter(page):
    log_in(page, SCHEDULER)
    nav_to(page, "Staffing")
    page.wait_for_url("**/staffing/")
    open_staffing_page(page, "Calendar")
    page.get_by_label("Month (YYYY-MM)").fill("2018-10")
    page.get_by_role("button", name="Go").click()
    page.wait_for_url("**/staffing/calendar?month=2018-10")

    expect(page.get_by_role("heading", level=1)).to_have_text("2018-10")
    expect(page.get_by_text("3 broken rules")).to_be_visible()
    south = side_table(page, "South")
    ryu = south.locator("tr", has=page.get_by_role("link", name="Ryu Sungmin"))
    marks = ryu.locator("td.violation abbr.mark")
    expect(marks).to_have_count(3)
    assert [marks.nth(n).get_attribute("title") for n in range(3)] == [
        "consecutive days",
        "consecutive days",
        "rest days",
    ]
    assert "13 days in a row on 2018-10-27" in ryu.locator("td.violation").first.get_attribute(
        "title"
    )
    screenshot(page, "staffing-calendar")

    open_staffing_page(page, "Plan a period")
    page.wait_for_url("**/staffing/plan")
    page.get_by_label("Side").select_option("south")
    page.get_by_label("First day", exact=True).fill("2019-01-01")
    page.get_by_label("Number of days").fill("92")
    page.get_by_role("button", name="Propose a plan").click()
    # A worker searches; the job's page follows it without a reload, then links the proposal.
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job_page = page.url
    loads: list[str] = []
    page.on("load", lambda _page: loads.append("load"))
    expect(page.get_by_role("status")).to_contain_text(re.compile("Waiting for a worker|Running"))
    screenshot(page, "staffing-plan-job")
    opened = page.get_by_test_id("job-result")
    expect(opened).to_be_visible(timeout=PLANNING)
    expect(page.get_by_role("status")).to_contain_text("Done at")
    assert loads == [] and page.url == job_page  # it followed the job without reloading
    screenshot(page, "staffing-plan-job-done")
    opened.click()
    page.wait_for_url(re.compile(r"/staffing/plans/\d+$"))

    # The demo's rotation runs to 2018-12-31: the plan continues those stays into the quarter.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Proposed plan: South, 2019-01-01 – 2019-04-02"
    )
    changes = page.locator("table tbody tr")
    expect(changes).to_have_count(20)  # the demo's South officials
    added = changes.locator("td.added").all_inner_texts()
    assert all(re.match(r"2019-0[1-4]-\d\d", text) for text in added)
    nights = changes.locator("td.num:last-child").all_inner_texts()
    assert sum(int(n) for n in nights) == 92  # one officer each night
    screenshot(page, "staffing-proposal")

    page.get_by_role("button", name="Accept this plan").click()
    page.wait_for_url("**/staffing/calendar?month=2019-01")
    expect(page.get_by_text("The plan is in place.")).to_be_visible()
    south = side_table(page, "South")
    expect(south.locator("td.on").first).to_be_visible()
    expect(south.locator("td.violation")).to_have_count(0)  # every rule holds
    expect(side_table(page, "North").locator("td.violation").first).to_be_visible()
    screenshot(page, "staffing-planned")

    # Publish: the first day of the plan on which someone crosses north.
    presence = on_site_days(south)
    day = next(d for d in range(2, 32) if any(row[d] and not row[d - 1] for row in presence))
    south.locator("thead").get_by_role("link", name=str(day), exact=True).click()
    when = f"2019-01-{day:02d}"
    page.wait_for_url(f"**/staffing/days/{when}")
    crossing = page.locator("article", has=page.get_by_role("heading", name="Crossing name list"))
    north_bound = crossing.locator("div.grid > div").first.get_by_role("link")
    assert north_bound.count() >= 1
    names = north_bound.all_inner_texts()
    expect(crossing.locator(".badge")).to_have_text("draft")

    crossing.get_by_role("button", name="Mark sent to the North").click()
    expect(page.get_by_text(f"Crossing list of {when} is now sent.")).to_be_visible()
    crossing = page.locator("article", has=page.get_by_role("heading", name="Crossing name list"))
    expect(crossing.locator(".badge")).to_have_text("sent")

    crossing.get_by_role("link", name="Printable list").click()
    page.wait_for_url(f"**/staffing/crossings/{when}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Inter-Korean Liaison Office · Crossing name list"
    )
    expect(page.get_by_text("Status: sent")).to_be_visible()
    listed = page.locator("table").first.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert listed == names
    screenshot(page, "crossing-list")


def test_scheduler_sees_an_overlapping_stay_refused(page):
    log_in(page, SCHEDULER)
    page.goto("/staffing/people")
    page.get_by_role("link", name="김기술").click()  # a technician: the planner leaves him be
    page.wait_for_url(re.compile(r"/staffing/people/\d+$"))
    stays = page.locator("form.stay-row")
    before = stays.count()
    assert before > 0
    first = stays.first.get_by_label("First day on site").input_value()
    last = stays.first.get_by_label("Last day on site").input_value()

    adding = page.locator("article", has=page.get_by_role("heading", name="Add a stay"))
    adding.get_by_label("First day on site").fill(first)
    adding.get_by_label("Last day on site").fill(last)
    adding.get_by_role("button", name="Add stay").click()

    message = f"김기술 already has a stay from {first} to {last}; stays cannot overlap."
    expect(adding.get_by_text(message)).to_be_visible()
    expect(adding.get_by_label("First day on site")).to_have_value(first)
    expect(page.locator("form.stay-row")).to_have_count(before)
    screenshot(page, "staffing-overlap-refused")
