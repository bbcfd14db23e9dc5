"""End to end in a real browser: sign up, log in, invite a colleague, switch to Chinese."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import open_menu
from tests.conftest import PASSWORD


@pytest.mark.browser
def test_sign_up_log_in_invite_and_switch_to_chinese(page, live_server):
    page.goto("/")
    page.get_by_role("link", name="Create your account").click()

    page.get_by_label("Company name").fill("Blue Harbour Trading")
    page.get_by_label("Account address").fill("blue-harbour")
    page.get_by_label("Your name").fill("Mei Chen")
    page.get_by_label("Work email").fill("mei@blueharbour.example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-error")).to_contain_text("Use at least 10 characters.")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Industry template").select_option("b2b")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/t/blue-harbour/login"))
    expect(page.get_by_role("status")).to_contain_text("Your account is ready")
    expect(page.get_by_label("Email")).to_have_value("mei@blueharbour.example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Welcome, Mei Chen")).to_be_visible()

    open_menu(page, "Staff")
    page.get_by_label("Email").fill("li.wei@blueharbour.example.com")
    page.get_by_label("Role").select_option("manager")
    page.get_by_role("button", name="Send invitation").click()
    link = page.get_by_role("textbox", name="Invitation link")
    expect(link).to_have_value(re.compile(
        re.escape(live_server.url) + r"/t/blue-harbour/invite/[\w-]+$"))
    invitation = link.input_value()

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="员工", exact=True)).to_be_visible()
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="首页")).to_be_visible()
    expect(nav.get_by_role("link", name="审计日志")).to_be_visible()
    expect(page.get_by_role("button", name="发送邀请")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    colleague = page.context.browser.new_context(locale="en-US")
    try:
        other = colleague.new_page()
        other.goto(invitation)
        expect(other.get_by_text("li.wei@blueharbour.example.com")).to_be_visible()
        other.get_by_label("Your name").fill("Li Wei")
        other.get_by_label("Choose a password").fill("another-good-pass-7")
        other.get_by_role("button", name="Join").click()
        expect(other.get_by_text("Welcome, Li Wei")).to_be_visible()
    finally:
        colleague.close()
