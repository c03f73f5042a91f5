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
