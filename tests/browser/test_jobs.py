"""An export in a real browser: ask for the ledger's export, watch its job's page follow the
worker to the end without a reload, download the file, and find it on the jobs page."""

import re

import pytest
from playwright.sync_api import expect

from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in, nav_to, screenshot

pytestmark = pytest.mark.browser

REVIEWER = DEMO_LOGINS[2]


def test_a_reviewer_exports_the_ledger_and_downloads_it_from_the_jobs_page(page):
    log_in(page, REVIEWER)
    nav_to(page, "Ledger")
    page.wait_for_url("**/ledger/")
    page.get_by_label("Flagged").select_option("no")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/ledger/?*flagged=no*")

    page.get_by_role("button", name="Export CSV").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job_page = page.url
    loads: list[str] = []
    page.on("load", lambda _page: loads.append("load"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ledger export")
    offered = page.get_by_test_id("job-download")
    expect(offered).to_be_visible(timeout=60_000)
    expect(page.get_by_role("status")).to_contain_text("Done at")
    expect(page.get_by_text(re.compile(r"rows written"))).to_be_visible()
    assert loads == [] and page.url == job_page
    screenshot(page, "job-export-done")

    with page.expect_download() as download_info:
        offered.click()
    download = download_info.value
    assert re.fullmatch(r"ledger-\d{4}-\d\d-\d\d\.csv", download.suggested_filename)
    text = download.path().read_bytes().decode("utf-8-sig")
    assert text.startswith("seq,") and text.count("\n") > 1

    page.get_by_role("link", name="Jobs", exact=True).click()
    page.wait_for_url("**/jobs/")
    row = page.locator("tr", has=page.get_by_role("link", name=re.compile("Ledger export")))
    expect(row.first).to_contain_text("done")
    expect(row.first.get_by_role("link", name=download.suggested_filename)).to_be_visible()
    screenshot(page, "jobs-page")
