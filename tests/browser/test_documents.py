"""Documents in a real browser: a reviewer attaches the exemption letter to a waiver, finds it
on the waiver's page and downloads it, byte for byte the file attached."""

import hashlib

import pytest
from playwright.sync_api import expect

from office.demo import DEMO_LOGINS
from office.documents.demo import pdf_file
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

REVIEWER = DEMO_LOGINS[2]
WAIVER = "MOU-2018-0903-V"  # the cars' approval: no other browser test attaches to it
TITLE = "Browser test: approval letter for the cars"


def test_a_reviewer_attaches_a_pdf_to_a_waiver_and_downloads_it(page, tmp_path):
    letter = tmp_path / "approval-cars.pdf"
    letter.write_bytes(pdf_file(["Ministry of Unification", f"Carry-out approval {WAIVER}"]))
    log_in(page, REVIEWER)
    page.goto("/waivers/")
    page.get_by_role("link", name=WAIVER).first.click()

    panel = page.locator("section#documents")
    panel.get_by_text("Attach a document").click()
    panel.get_by_label("File", exact=True).set_input_files(str(letter))
    panel.get_by_label("Title (if blank, the file's name)").fill(TITLE)
    panel.get_by_label("Kind of document").select_option("approval")
    panel.get_by_role("button", name="Attach").click()

    expect(page.locator(".flashes").get_by_text(f"{TITLE} attached.")).to_be_visible()
    attached = page.get_by_test_id("document").filter(has_text=TITLE)
    expect(attached).to_contain_text("approval-cars.pdf")
    screenshot(page, "documents-waiver")
    with page.expect_download() as download:
        attached.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "approval-cars.pdf"
    assert download.value.path().read_bytes() == letter.read_bytes()

    attached.get_by_role("link", name=TITLE).click()
    expect(page.get_by_test_id("document-sha256")).to_have_text(
        hashlib.sha256(letter.read_bytes()).hexdigest()
    )
    screenshot(page, "documents-detail")
