"""In a real browser: a manager logs in, lands on the dashboard and every chart is drawn
by the vendored Chart.js (a Chart instance on each canvas, with non-zero size); a bad
date shows its form message."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.analytics import dashboard
from saas.extensions import db
from tests.analytics import dashboard_world
from tests.browser.helpers import log_in

FIGURES = 9


@pytest.mark.browser
def test_manager_sees_every_chart_drawn(page, live_server, make_tenant, app):
    tenant = make_tenant()
    shop = dashboard_world.build(app, tenant)
    with app.app_context():
        tenant.bind()
        dashboard.refresh(db.session)
        db.session.commit()
        db.session.remove()
    log_in(page, tenant)
    expect(page.locator("canvas.dashboard-chart")).to_have_count(FIGURES)
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas.dashboard-chart')]"
        ".every(c => c.chart && c.width > 0 && c.height > 0)")
    sizes = page.evaluate("() => [...document.querySelectorAll('canvas.dashboard-chart')]"
                          ".map(c => [c.id, c.chart.width, c.chart.height])")
    assert len(sizes) == FIGURES and all(w > 0 and h > 0 for _id, w, h in sizes)
    tiers = page.evaluate("() => { const c = document.getElementById('chart-customers_tier')"
                          ".chart; return [c.data.datasets.map(d => d.label), "
                          "c.data.datasets[0].data.at(-1)]; }")
    assert tiers == [["A", "B", "C"], 2]
    expect(page.locator("#dashboard-stamp")).to_contain_text("Last computed")

    page.get_by_label("Owner").select_option(str(shop.ann_id))
    page.get_by_role("button", name="Apply").click()
    page.wait_for_function("() => document.getElementById('chart-customers_tier')?.chart")
    assert page.evaluate("() => document.getElementById('chart-customers_tier').chart"
                         ".data.datasets.map(d => d.label)") == ["A"]

    page.goto(f"/t/{tenant.slug}/?start=2025-02-30")
    expect(page.locator("#start-error")).to_contain_text("YYYY-MM-DD")
    expect(page.locator("canvas.dashboard-chart")).to_have_count(0)
