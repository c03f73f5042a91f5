"""Signing in, in a real browser: a superuser is told why a common password is refused; a new
user sets up two-factor sign-in from the QR page, keeps the recovery codes, and logs in again
with their password and a code from the app (played here by pyotp).

The live server and its demo database are shared by every browser test of the run: this test
makes a user of its own and leaves the demo's accounts as they were."""

import re
import secrets

import pytest

from office.demo import DEMO_LOGINS
from tests.auth.arrange import code_for
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

SUPERUSER = DEMO_LOGINS[0]
PASSWORD = "lantern orchard gravel"


def log_in_with_password(page, email, password):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")


def test_a_new_user_sets_up_two_factor_sign_in_and_logs_in_with_a_code(page):
    email = f"browser-{secrets.token_hex(3)}@liaison.example"
    log_in_with_password(page, SUPERUSER.email, SUPERUSER.password)
    page.wait_for_url("**/")
    page.goto("/users/new")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill("Browser Tester")
    page.get_by_label("Role").select_option("scheduler")
    page.get_by_label("New password", exact=True).fill("password12")
    page.get_by_label("Repeat the new password").fill("password12")
    page.get_by_role("button", name="Create user").click()
    refusal = page.locator("#new_password-error")
    assert "on the list of common passwords" in refusal.inner_text()
    screenshot(page, "sign-in-common-password-refused")

    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the new password").fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url(re.compile(r".*/users/\d+$"))
    log_out(page)

    log_in_with_password(page, email, PASSWORD)
    page.wait_for_url("**/")
    page.get_by_test_id("account-link").click()
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    qr = page.get_by_test_id("totp-qr")
    qr.wait_for()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # drawn, not fetched
    screenshot(page, "sign-in-two-factor-qr")
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")

    # The code the app showed a moment ago: the login below then uses a later one.
    page.get_by_label("Code").fill(code_for(secret, steps_back=1))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "sign-in-recovery-codes")
    page.get_by_role("button", name="I have kept them").click()
    assert page.get_by_text("Unused recovery codes: 10 of 10.").is_visible()
    log_out(page)

    log_in_with_password(page, email, PASSWORD)
    page.wait_for_url("**/login/code")
    page.goto("/")  # the password alone has not logged in
    assert "/login" in page.url
    page.goto("/login/code")  # still awaiting the code
    page.get_by_label("Code").fill(code_for(secret))
    screenshot(page, "sign-in-code-step")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    assert page.get_by_test_id("account-link").inner_text() == "Browser Tester"
