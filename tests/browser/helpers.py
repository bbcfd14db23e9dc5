"""Steps most browser tests begin with, written once."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.conftest import PASSWORD


def log_in(page: Page, tenant, email: str | None = None, password: str = PASSWORD) -> None:
    """Sign in on the tenant's login page (the owner unless `email` is given)."""
    page.goto(f"/t/{tenant.slug}/login")
    page.get_by_label("Email").fill(email or tenant.owner_email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def open_menu(page: Page, label: str) -> None:
    """Follow an entry of the main navigation by its exact label."""
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name=label, exact=True).click()
