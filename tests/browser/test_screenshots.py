"""Screenshots of the pages people live in, for a person to look at: each role's home page, the
daily log, the review dashboard and a delivery, in English and Korean, on a laptop and a phone,
on the demo as `make run` lays it (its story ends today). They land in
test-artifacts/screenshots/."""

import pytest

from office.demo import DEMO_LOGINS
from tests.browser.conftest import PHONE, log_in, screenshot

pytestmark = pytest.mark.browser

ADMIN, SCHEDULER, REVIEWER = DEMO_LOGINS
LAPTOP = {"width": 1280, "height": 900}


def switch_language(page, to: str) -> None:
    page.set_viewport_size(LAPTOP)  # the switch is in the header, folded away on a phone
    page.get_by_role("button", name="한국어" if to == "ko" else "English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == to


def shoot(page, name: str, path: str) -> None:
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        lang = page.locator("html").get_attribute("lang")
        screenshot(page, f"page-{name}-{lang}-{size}")


@pytest.mark.parametrize(
    ("login", "pages"),
    [
        (ADMIN, {"home": "/", "daily-log": "/operations/today", "delivery": None}),
        (REVIEWER, {"home": "/", "dashboard": "/reviews/"}),
        (SCHEDULER, {"home": "/"}),
    ],
    ids=lambda value: getattr(value, "role", None) and value.role.value,
)
def test_screenshots_of_each_roles_pages_in_both_languages_and_on_a_phone(today_page, login, pages):
    page = today_page
    log_in(page, login)
    if "delivery" in pages:
        page.goto("/deliveries/")
        page.locator("main table a").first.click()
        pages["delivery"] = page.url
    role = login.role.value
    try:
        for language in ("en", "ko"):
            if language == "ko":
                switch_language(page, "ko")
            for name, path in pages.items():
                shoot(page, f"{role}-{name}", path)
    finally:
        if page.locator("html").get_attribute("lang") == "ko":
            switch_language(page, "en")  # the next test's pages are in English
