"""What every form does in a real browser: a refused form leaves the address of its own page."""

import pytest

from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_a_refused_form_shows_its_pages_address_and_a_reload_opens_that_page(page):
    log_in(page, DEMO_LOGINS[0])  # the demo administrator is a superuser
    page.goto("/users/")
    page.get_by_role("link", name=DEMO_LOGINS[1].name).click()  # the scheduler
    page.wait_for_url("**/users/*")
    user_page = page.url

    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("short")
    page.get_by_role("button", name="Set password").click()
    page.wait_for_load_state()

    assert page.get_by_label("New password", exact=True).get_attribute("aria-invalid") == "true"
    assert page.url == user_page  # not the address that only takes posts

    response = page.reload()

    assert response is not None and response.status == 200
    assert page.get_by_role("heading", name="Set a new password").is_visible()


def test_signing_off_a_day_asks_first_and_no_changes_nothing(page):
    log_in(page, DEMO_LOGINS[0])
    page.goto("/operations/today")
    sign_off = page.get_by_role("button", name="Sign off this day")

    page.confirm_answers.append(False)
    sign_off.click()

    assert "The day is then locked" in page.confirm_questions[0]
    assert sign_off.is_visible()  # still a draft: nothing was posted
    assert page.locator(".badge", has_text="draft").is_visible()

    sign_off.click()  # and yes
    page.wait_for_load_state()

    assert page.locator(".badge", has_text="signed off").is_visible()
    assert len(page.confirm_questions) == 2


def test_a_date_field_shows_and_takes_yyyy_mm_dd_in_an_en_us_browser(page):
    log_in(page, DEMO_LOGINS[0])
    page.goto("/operations/days/2018-10-02")
    field = page.get_by_label("Go to the day")

    assert field.input_value() == "2018-10-02"  # not 10/02/2018
    assert field.get_attribute("placeholder") == "YYYY-MM-DD"

    field.click()
    calendar = page.locator(".flatpickr-calendar.open")
    calendar.get_by_label("October 9, 2018").click()
    assert field.input_value() == "2018-10-09"

    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/operations/days/2018-10-09")
