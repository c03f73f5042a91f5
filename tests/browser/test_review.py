"""The Ministry's review in a real browser: a reviewer goes from the dashboard to a flagged
item, queries the office, an administrator answers in the thread, the reviewer acknowledges,
signs the month off and downloads its PDF; a month with open items cannot be signed off; the
dashboard shows the books as of a past day.

The live server and its demo database are shared by every browser test of the run. The walk
uses January 2019, whose only flagged item the demo leaves open (paint used from a lot after
its waiver ran out) and which no other browser test writes in. December 2018, whose heating
diesel the demo leaves queried, is only ever refused: other tests record drawdowns in it."""

import re
from collections.abc import Iterator

import pypdfium2
import pytest
from playwright.sync_api import expect

from office.demo import DEMO_LOGINS
from tests.browser.conftest import ARTIFACTS, log_in, nav_to, screenshot

pytestmark = pytest.mark.browser

ADMIN, REVIEWER = DEMO_LOGINS[0], DEMO_LOGINS[2]
MONTH = "2019-01"
PAINT = "120 kg of Paint used from lot #"  # the demo's January item, flagged_use
QUERY = "Browser test: the paint waiver ran out on 2018-12-31; which approval covers this use?"
ANSWER = "Browser test: the 2019 repair waiver is requested; the paint was on site already."
ACKNOWLEDGEMENT = "Browser test: accepted, pending the 2019 waiver."


def flashed(page, message) -> None:
    expect(page.locator(".flashes").get_by_text(message)).to_be_visible()


def month_row(page, month: str):
    return page.get_by_test_id("months").locator(f'tr[data-month="{month}"]')


def thread(page):
    return page.get_by_test_id("thread").locator("li")


@pytest.fixture
def second_page(browser, live_server) -> Iterator[object]:
    """A page in a browser context of its own: another person at another desk."""
    context = browser.new_context(
        base_url=live_server, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_reviewer_queries_an_item_acknowledges_the_answer_signs_off_and_downloads_the_pdf(
    page, second_page
):
    log_in(page, REVIEWER)
    nav_to(page, "Review")
    page.wait_for_url("**/reviews/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Supply usage")
    awaiting = page.get_by_test_id("awaiting-total")
    expect(awaiting).to_have_text(re.compile(r"^\d+ items? awaits? review$"))
    assert int(awaiting.inner_text().split()[0]) >= 1
    uses = page.locator("ul.counts li", has_text="use no longer covered")
    expect(uses.locator("strong")).not_to_have_text("0")
    # The demo's waivers have all run out by today: look at the books as January closed.
    page.get_by_label("As of").fill("2019-01-31")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/reviews/?as_of=2019-01-31")
    expect(page.get_by_test_id("as-of")).to_have_text(
        "As the books stood at the end of 2019-01-31."
    )
    expect(
        page.get_by_test_id("waiver-lines").locator("tr", has_text="MOU-2018-B-0814 · 1")
    ).to_have_count(1)
    screenshot(page, "review-dashboard")

    # From the count of items awaiting review to the queue, narrowed to January.
    awaiting.click()
    page.wait_for_url("**/reviews/queue")
    expect(page.get_by_label("State")).to_have_value("awaiting")
    page.get_by_label("Month").fill(MONTH)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(rf"/reviews/queue\?.*month={MONTH}"))
    rows = page.get_by_test_id("queue").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td")).to_have_text(
        ["2019-01-15", "use no longer covered", re.compile(re.escape(PAINT)), "open"]
    )
    expect(page.get_by_test_id("state-counts")).to_contain_text("open 1")
    screenshot(page, "review-queue")

    # The item: query the office, with words.
    rows.get_by_role("link").click()
    # The item carries the queue's filters, to step to the items beside it.
    page.wait_for_url(re.compile(r"/reviews/items/flagged_use/\d+\?queue=.*month%3D2019-01"))
    item_url = page.url
    item_path = re.escape(item_url.split("?")[0])
    expect(page.get_by_test_id("item-state")).to_have_text("open")
    expect(page.locator("dl.facts")).to_contain_text("2019-01-15")
    expect(page.locator("dl.facts")).to_contain_text(PAINT)
    expect(thread(page)).to_have_text(["Nobody has taken this item up yet."])
    page.get_by_role("button", name="Query the office").click()  # without words: refused
    expect(page.get_by_text("Write what you have to say.")).to_be_visible()
    expect(page.get_by_test_id("item-state")).to_have_text("open")
    page.get_by_label("Comment").fill(QUERY)
    page.get_by_role("button", name="Query the office").click()
    flashed(page, "Query sent to the office.")
    expect(page.get_by_test_id("item-state")).to_have_text("queried")
    expect(thread(page)).to_have_count(1)
    expect(thread(page).first).to_contain_text(f"{REVIEWER.name} queried open → queried")
    expect(thread(page).first).to_contain_text(QUERY)
    # A reviewer does not answer for the office.
    expect(page.get_by_role("button", name="Answer", exact=True)).to_have_count(0)

    # At another desk, the office administrator finds the queried item and answers it.
    admin = second_page
    log_in(admin, ADMIN)
    nav_to(admin, "Review")
    admin.get_by_role("link", name="Review queue", exact=True).click()
    admin.get_by_label("State").select_option("queried")
    admin.get_by_role("button", name="Filter").click()
    admin.wait_for_url(re.compile(r"/reviews/queue\?.*state=queried"))
    queried = admin.get_by_test_id("queue").locator("tbody tr", has_text=PAINT)
    expect(queried).to_have_count(1)
    expect(queried.locator("td").nth(3)).to_have_text("queried")
    queried.get_by_role("link").click()
    admin.wait_for_url(re.compile(rf"^{item_path}\?queue=state%3Dqueried$"))
    expect(thread(admin).first).to_contain_text(QUERY)
    expect(admin.get_by_role("button", name="Acknowledge")).to_have_count(0)
    admin.get_by_label("Comment").fill(ANSWER)
    admin.get_by_role("button", name="Answer", exact=True).click()
    flashed(admin, "Answer sent to the reviewer.")
    expect(admin.get_by_test_id("item-state")).to_have_text("answered")

    # The reviewer sees the answer in the thread and acknowledges.
    page.reload()
    expect(page.get_by_test_id("item-state")).to_have_text("answered")
    expect(thread(page)).to_have_count(2)
    expect(thread(page).nth(1)).to_contain_text(f"{ADMIN.name} answered queried → answered")
    expect(thread(page).nth(1)).to_contain_text(ANSWER)
    page.get_by_label("Comment").fill(ACKNOWLEDGEMENT)
    page.get_by_role("button", name="Acknowledge").click()
    flashed(page, "Acknowledged.")
    expect(page.get_by_test_id("item-state")).to_have_text("acknowledged")
    expect(thread(page).nth(2)).to_contain_text(
        f"{REVIEWER.name} acknowledged answered → acknowledged"
    )
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    screenshot(page, "review-item-acknowledged")

    # Sign the month off. A second tab still shows the month as open, to try it twice.
    page.get_by_role("link", name="Months and reports").click()
    page.wait_for_url("**/reviews/months")
    january = month_row(page, MONTH)
    expect(january.locator("td").nth(1)).to_have_text("0")
    stale = page.context.new_page()
    stale.goto("/reviews/months")
    january.get_by_role("button", name=f"Sign off {MONTH}").click()
    flashed(page, f"{MONTH} is signed off.")
    expect(january.locator(".badge.ok")).to_have_text("signed off")
    signing_again = january.get_by_role("button", name=re.compile("^Sign off"))
    expect(signing_again).to_have_count(0)  # not offered again
    screenshot(page, "review-month-signed-off")

    month_row(stale, MONTH).get_by_role("button", name=f"Sign off {MONTH}").click()
    flashed(
        stale,
        re.compile(rf"^{MONTH} was already signed off on \d{{4}}-\d\d-\d\d \d\d:\d\d\.$"),
    )
    expect(
        month_row(stale, MONTH).get_by_role("button", name=re.compile("^Sign off"))
    ).to_have_count(0)
    stale.close()

    # The item's month is closed: its review can no longer change.
    page.goto(item_url)
    expect(page.locator(".actions .badge.muted")).to_have_text("month signed off")
    page.get_by_label("Comment").fill("Browser test: reopening a signed-off month's item.")
    page.get_by_role("button", name="Reopen").click()
    expect(
        page.get_by_text(f"{MONTH} is signed off; the review of its items is closed.")
    ).to_be_visible()
    expect(page.get_by_test_id("item-state")).to_have_text("acknowledged")

    # The month's report says so, and its PDF downloads.
    page.get_by_role("link", name="Months and reports").click()
    month_row(page, MONTH).get_by_role("link", name="HTML").click()
    page.wait_for_url(f"**/reviews/reports/{MONTH}")
    report = page.locator("article.report")
    expect(report.get_by_role("heading", level=1)).to_have_text(f"Supply-usage report, {MONTH}")
    expect(report).to_contain_text("Signed off on")
    flag = report.locator("tr", has_text=PAINT)
    expect(flag).to_contain_text("acknowledged")
    expect(flag).to_contain_text(ACKNOWLEDGEMENT)

    # A worker prints it: the job's page follows it and offers the file.
    page.get_by_role("link", name="Months and reports").click()
    month_row(page, MONTH).get_by_role("button", name="PDF").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    offered = page.get_by_test_id("job-download")
    expect(offered).to_be_visible(timeout=60_000)
    with page.expect_download() as download_info:
        offered.click()
    download = download_info.value
    assert download.suggested_filename == f"supply-usage-{MONTH}-en.pdf"
    data = download.path().read_bytes()
    assert data.startswith(b"%PDF-")
    pdf = pypdfium2.PdfDocument(data)
    first = pdf[0]
    text = first.get_textpage().get_text_range()
    assert f"Supply-usage report, {MONTH}" in text
    assert "Signed off on" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    first.render(scale=2).to_pil().save(ARTIFACTS / "review-report-pdf-page-1.png")
    pdf.close()

    # The sign-off is on the audit trail.
    page.goto("/reviews/months")  # from the job's page, back among the review's pages
    page.locator("nav.subnav").get_by_role("link", name="Audit trail").click()
    page.wait_for_url("**/audit/")
    signed = page.get_by_test_id("audit").locator("tbody tr", has_text="Month signed off")
    expect(signed.filter(has_text=MONTH)).to_have_count(1)
    expect(signed.filter(has_text=MONTH).locator("td").nth(1)).to_have_text(REVIEWER.name)


def test_signing_off_a_month_with_open_items_is_refused_in_korean(page):
    log_in(page, REVIEWER)
    page.goto("/reviews/months")
    december = month_row(page, "2018-12")
    expect(december.get_by_role("button", name="Sign off 2018-12")).to_be_visible()
    expect(december).to_contain_text(re.compile(r"\d+ items? still open"))

    page.get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    december.get_by_role("button", name="2018-12 마감").click()
    flashed(
        page,
        re.compile(
            r"^2018-12에 아직 검토 중인 항목이 \d+건 있습니다\. "
            r"마감 전에 각각 확인 처리하십시오\.$"
        ),
    )
    expect(december.locator(".badge.ok")).to_have_count(0)
    screenshot(page, "review-sign-off-refused-ko")

    # Nothing changed: the month is still open and its sign-off still offered.
    page.goto("/reviews/months")
    december = month_row(page, "2018-12")
    expect(december.locator(".badge.ok")).to_have_count(0)
    expect(december.get_by_role("button", name="2018-12 마감")).to_be_visible()
    expect(december).to_contain_text(re.compile(r"\d+건"))


def test_dashboard_shows_the_books_as_of_a_past_day(page):
    log_in(page, REVIEWER)
    page.goto("/reviews/")
    expect(page.get_by_test_id("as-of")).to_have_count(0)
    page.get_by_label("As of").fill("2018-12-31")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/reviews/?as_of=2018-12-31")
    expect(page.get_by_test_id("as-of")).to_have_text(
        "As the books stood at the end of 2018-12-31."
    )
    expect(page.get_by_label("As of")).to_have_value("2018-12-31")

    lines = page.get_by_test_id("waiver-lines").locator("tbody tr")
    blanket = lines.filter(has_text="MOU-2018-B-0814 · 1")
    expect(blanket.locator("td").nth(1)).to_have_text("Diesel (gas oil)")
    expect(blanket.locator("td").nth(2)).to_have_text("300,000 L")
    expect(blanket.locator("td").nth(6)).to_have_text("2019-08-13")
    expect(blanket.locator("progress")).to_have_count(1)
    repairs = lines.filter(has_text="MOU-2018-0611 · 1")
    expect(repairs.locator("td").nth(1)).to_have_text("Steel sections")
    expect(page.get_by_test_id("alerts")).to_contain_text("MOU-2018-0611 expires on 2018-12-31.")
    screenshot(page, "review-dashboard-as-of")

    # A day before the office's records is refused with the range to choose from.
    page.goto("/reviews/?as_of=2018-01-01")
    expect(
        page.get_by_text(re.compile(r"The office's records run from 2018-04-27 to today"))
    ).to_be_visible()

    page.goto("/reviews/?as_of=2018-12-31")
    page.get_by_role("link", name="Today", exact=True).click()
    page.wait_for_url(re.compile(r"/reviews/$"))
    expect(page.get_by_test_id("as-of")).to_have_count(0)
