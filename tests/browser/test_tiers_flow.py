"""In a real browser (CSRF on, no internet): an admin fixes a bad tier rule, previews the
moves, saves and applies, and the dashboard draws its charts with the local Chart.js."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from saas.services import measures
from tests.browser.helpers import log_in, open_menu
from tests.services.tiers_world import World


@pytest.mark.browser
def test_admin_edits_previews_applies_and_sees_the_charts(page, live_server, make_tenant, app):
    tenant = make_tenant(template="retail")
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        w.order(w.customer("Big spender"), 20000, days_ago=3)
        w.customer("Browser")
        measures.refresh_all(db.session)
        db.session.commit()
        db.session.remove()
    log_in(page, tenant)
    open_menu(page, "Tiers")
    page.get_by_role("link", name="Edit tiers").click()

    page.locator("#t0-g0-c0-value").fill("a lot")
    page.get_by_role("button", name="Save tiers").click()
    expect(page.locator("#t0-g0-c0-value-error")).to_contain_text("number")

    page.locator("#t0-g0-c0-value").fill("15000")
    page.get_by_role("button", name="Preview moves").click()
    expect(page.locator("#preview")).to_contain_text("2 of 2 customers would change tier")
    page.get_by_role("button", name="Save tiers").click()
    page.get_by_role("button", name="Apply the saved tiers").click()
    expect(page.locator(".alert-success")).to_contain_text("2 customers moved")

    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.locator("canvas.distribution-chart")).to_have_count(4)
    page.wait_for_function("() => document.querySelectorAll('canvas.distribution-chart')"
                           ".length === 4 && [...document.querySelectorAll("
                           "'canvas.distribution-chart')].every(c => c.chart)")
    assert page.evaluate("() => document.getElementById('chart-tiers').chart.data"
                         ".datasets[0].data") == [1, 0, 1, 0]
