"""In a real browser (CSRF on): staff pick a saved segment in the customer list's
filters, see only its members, save the view and export exactly those rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from saas.services import measures, segments
from tests.browser.helpers import log_in
from tests.services.tiers_world import World


@pytest.mark.browser
def test_staff_filter_the_list_by_a_segment_save_it_and_export(page, live_server,
                                                               make_tenant, app):
    tenant = make_tenant(template="retail")
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        w.order(w.customer("Loyal buyer", tags=["vip"]), 800, days_ago=3)
        w.customer("Window shopper", tags=["vip"])
        w.customer("Someone else")
        measures.refresh_all(db.session)
        segments.create_segment(db.session, tenant.owner_actor(), {
            "name": "Buying VIPs", "rule": {"all": [
                {"tag": "vip"}, {"measure": "order_count", "op": ">=", "value": 1}]}})
        db.session.commit()
        db.session.remove()
    log_in(page, tenant)
    page.goto(f"/t/{tenant.slug}/customers/")
    rows = page.locator("table.customers tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_label("Segment").select_option(label="Buying VIPs")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Loyal buyer")

    page.get_by_label("View name").fill("VIP buyers")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator(".alert-success")).to_contain_text("View saved")
    page.goto(f"/t/{tenant.slug}/customers/")
    expect(rows).to_have_count(3)
    page.get_by_role("link", name="VIP buyers").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Segment")).to_have_value(
        page.get_by_label("Segment").locator("option", has_text="Buying VIPs")
        .get_attribute("value"))

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert [r["name"] for r in csv.DictReader(io.StringIO(text))] == ["Loyal buyer"]
