"""In a real browser: a manager builds a small campaign (a template error first, shown
with its line), launches it and watches the progress bar reach 100%."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from saas.services import customers, segments
from tests.browser.helpers import log_in, open_menu
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered


@pytest.mark.browser
def test_manager_creates_launches_and_sees_progress_reach_100(page, live_server,
                                                              make_tenant, app):
    plugin = EchoPlugin()
    with registered(live_server.app, plugin, "echo"), registered(app, plugin, "echo"):
        tenant = make_tenant()
        configure(app, tenant, "echo", GOOD_SETTINGS)
        with app.app_context():
            tenant.bind()
            actor = tenant.owner_actor()
            for name in ("Ann", "Bo", "Chen"):
                customers.create_customer(db.session, actor, {"name": name,
                                                              "tags": ["tea"]})
            segments.create_segment(db.session, actor, {
                "name": "Tea lovers", "rule": {"all": [{"tag": "tea"}]}})
            db.session.commit()
            db.session.remove()
        log_in(page, tenant)
        open_menu(page, "Campaigns")
        page.get_by_role("link", name="New campaign").first.click()
        page.locator("#name").fill("Tea week")
        page.get_by_label("Audience (segment)").select_option(label="Tea lovers")
        page.get_by_label("Channel").select_option("echo")
        body = page.locator("#variants-0-body")
        body.fill("Hello {{ customer.name }}\n{% if %}")
        page.get_by_role("button", name="Save campaign").click()
        expect(page.locator("#variants-0-body-error")).to_contain_text("Line 2")
        body.fill("Hello {{ customer.name }}, new teas are in!")
        page.get_by_role("button", name="Save campaign").click()
        expect(page.locator(".alert-success")).to_contain_text("Campaign saved.")
        expect(page.locator("#campaign-status")).to_have_text("Draft")
        page.locator("#launch-button").click()
        expect(page.locator("#campaign-status")).to_have_text("Completed")
        expect(page.locator("#campaign-progress")).to_have_attribute("value", "100")
        expect(page.locator("#campaign-counts [data-k=sent]")).to_have_text("3")
        expect(page.locator("#campaign-results")).to_contain_text("A")
        assert sorted(m.body for m in plugin.sent) == [
            "Hello Ann, new teas are in!", "Hello Bo, new teas are in!",
            "Hello Chen, new teas are in!"]
        open_menu(page, "Campaigns")
        expect(page.locator("table progress")).to_have_attribute("value", "100")
        expect(page).to_have_url(re.compile(r"/campaigns/$"))
