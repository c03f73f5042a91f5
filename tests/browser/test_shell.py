"""Each role logs in, sees its own navigation, switches to Korean and logs out."""

import pytest

from office.demo import DEMO_LOGINS
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

NAV_BY_ROLE = {
    # the demo administrator is also the superuser
    "admin": {
        "Home",
        "Review",
        "Staffing",
        "Calendar",
        "Daily log",
        "Fuel and power",
        "Deliveries",
        "Repairs",
        "Waivers",
        "Ledger",
        "Record drawdown",
        "What-if screening",
        "Resources",
        "Sanctions regimes",
        "Users",
        "Audit trail",
    },
    "scheduler": {"Home", "Staffing", "Calendar"},
    "reviewer": {
        "Home",
        "Review",
        "Staffing",
        "Calendar",
        "Daily log",
        "Fuel and power",
        "Deliveries",
        "Repairs",
        "Waivers",
        "Ledger",
        "What-if screening",
        "Resources",
        "Sanctions regimes",
        "Audit trail",
    },
}


@pytest.mark.parametrize("login", DEMO_LOGINS, ids=lambda login: login.role.value)
def test_role_logs_in_sees_its_navigation_switches_to_korean_and_logs_out(page, login):
    log_in(page, login)
    nav = page.locator("ul.main-nav a")
    assert {text.strip() for text in nav.all_text_contents()} == NAV_BY_ROLE[login.role.value]
    assert page.get_by_test_id("account-link").inner_text() == login.name
    screenshot(page, f"shell-{login.role.value}-en")

    page.get_by_role("button", name="한국어").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.get_by_role("button", name="로그아웃").is_visible()
    screenshot(page, f"shell-{login.role.value}-ko")

    page.get_by_role("button", name="로그아웃").click()
    page.wait_for_url("**/login")
    assert page.get_by_role("heading", name="로그인").is_visible()
    page.goto("/")
    assert "/login" in page.url

    # The choice is kept on the user: logging in again from a new browser, the pages are Korean.
    other = page.context.browser.new_context(base_url=page.url.split("/login")[0], locale="en-US")
    again = other.new_page()
    log_in(again, login, english=False)
    assert again.locator("html").get_attribute("lang") == "ko"
    again.get_by_role("button", name="English").click()  # as the other tests expect it
    again.wait_for_load_state()
    assert again.locator("html").get_attribute("lang") == "en"
    other.close()


def test_wrong_password_shows_the_generic_message(page):
    page.goto("/login")
    page.get_by_label("Email").fill(DEMO_LOGINS[0].email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("The email or password is not right.").is_visible()
    assert page.get_by_label("Email").input_value() == DEMO_LOGINS[0].email
    screenshot(page, "login-failed")


def test_layout_fits_a_tablet(page):
    page.set_viewport_size({"width": 768, "height": 1024})
    log_in(page, DEMO_LOGINS[0])
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False
    screenshot(page, "shell-tablet")


def _rows(page) -> int:
    """How many rows the header's entries take: entries whose middles lie apart are in two."""
    middles = page.locator(
        "header nav > ul > li, header .main-nav > li, header .user-nav > li"
    ).evaluate_all(
        "items => items.map(i => i.getBoundingClientRect()).map(r => r.top + r.height / 2)"
    )
    rows = 1
    for before, after in zip(sorted(middles), sorted(middles)[1:], strict=False):
        rows += after - before > 16
    return rows


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_header_fits_one_row_on_a_laptop(page, language):
    log_in(page, DEMO_LOGINS[0])  # the administrator sees every menu
    if language == "ko":
        page.get_by_role("button", name="한국어").click()
        page.wait_for_load_state()
    page.set_viewport_size({"width": 1366, "height": 768})
    screenshot(page, f"header-1366-{language}")

    assert _rows(page) == 1
    words = page.locator("header nav a, header nav summary").evaluate_all(
        "items => items.filter(i => i.getClientRects().length > 1).map(i => i.textContent)"
    )
    assert words == []  # no entry breaks onto two lines
    operations = "Operations" if language == "en" else "운영"
    page.locator("ul.main-nav summary", has_text=operations).click()
    page.keyboard.press("Escape")
    assert page.locator("ul.main-nav details[open]").count() == 0
    if language == "ko":
        page.get_by_role("button", name="English").click()  # kept on the user: put it back
        page.wait_for_load_state()


def test_the_header_folds_into_one_menu_on_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, DEMO_LOGINS[0])
    screenshot(page, "header-390-en")
    toggle = page.get_by_role("button", name="Menu")

    assert toggle.is_visible()
    assert not page.locator("ul.main-nav").is_visible()
    header = page.locator("header.site-header").bounding_box()
    assert header is not None and header["height"] < 120  # the first screen is the page's own

    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.locator("ul.main-nav summary", has_text="Operations").click()
    screenshot(page, "header-390-menu-en")
    page.locator("ul.main-nav a", has_text="Daily log").click()
    page.wait_for_url("**/operations/days/*")
