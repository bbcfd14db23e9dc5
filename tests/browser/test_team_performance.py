"""In a real browser: a manager opens Team performance from the menu, sorts by a KPI,
then the at-risk list shows reasons in words; the recompute form posts with CSRF on."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from tests.analytics import kpi_world
from tests.api.conftest import add_staff
from tests.browser.helpers import log_in, open_menu


@pytest.mark.browser
def test_manager_sorts_the_leaderboard_and_reads_the_at_risk_list(page, live_server,
                                                                  make_tenant, app):
    tenant = make_tenant()
    with app.app_context():
        kpi_world.build(tenant, add_staff)
        db.session.remove()
    log_in(page, tenant)
    open_menu(page, "Team performance")
    page.get_by_label("From").fill("2026-11-01")
    page.get_by_label("To").fill("2026-11-30")
    page.get_by_role("button", name="Show").click()
    rows = page.locator("#kpis tbody tr")
    expect(rows.first).to_contain_text("Alice")      # most revenue
    page.get_by_role("link", name="Resolution (h)").click()
    expect(rows.first).to_contain_text("Alice")      # best (fastest) first on one click
    expect(rows.nth(1)).to_contain_text("Bob")
    page.get_by_role("link", name="Resolution (h) ↓").click()
    expect(rows.first).to_contain_text("Bob")        # the other way round on the next
    expect(page.get_by_label("From")).to_have_value("2026-11-01")  # period kept

    open_menu(page, "At-risk customers")
    page.get_by_label("Owner").select_option("all")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("button", name="Recompute").click()
    expect(page.locator(".alert-success")).to_contain_text("recomputed")
