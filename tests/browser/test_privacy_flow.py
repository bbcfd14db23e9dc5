"""In a real browser (CSRF on): an admin hides a customer field from agents, and an agent
then sees neither the value on the 360 page nor the input on the edit form; an admin
masks phones, and an agent sees them masked and reveals one (recorded in the read audit)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from saas.services import customers as customer_service
from tests.browser.helpers import open_menu
from tests.conftest import PASSWORD
from tests.web.helpers import add_staff


def _log_in(page, tenant, email: str) -> None:
    page.goto(f"/t/{tenant.slug}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.browser
def test_admin_hides_wechat_id_from_agents(page, browser, live_server, make_tenant, app):
    tenant = make_tenant()
    _admin_id, admin_email = add_staff(app, tenant, "admin")
    _agent_id, agent_email = add_staff(app, tenant, "agent")
    with app.app_context():
        tenant.bind()
        customer = customer_service.create_customer(db.session, tenant.owner_actor(), {
            "name": "Ann", "wechat_id": "ann_wechat_42"})
        db.session.commit()
        cid = customer.id
        db.session.remove()

    _log_in(page, tenant, admin_email)
    open_menu(page, "Privacy")
    page.locator("select[name='agent|wechat_id']").select_option("hidden")
    page.get_by_role("button", name="Save field permissions").click()
    expect(page.locator(".alert-success")).to_contain_text("Field permissions saved")
    expect(page.locator("select[name='agent|wechat_id']")).to_have_value("hidden")

    agent = browser.new_context(base_url=live_server.url, locale="en-US")
    agent.set_default_timeout(10_000)
    tab = agent.new_page()
    try:
        _log_in(tab, tenant, agent_email)
        tab.goto(f"/t/{tenant.slug}/customers/{cid}")
        expect(tab.locator("h1")).to_contain_text("Ann")
        expect(tab.get_by_text("ann_wechat_42")).to_have_count(0)
        tab.goto(f"/t/{tenant.slug}/customers/{cid}/edit")
        expect(tab.locator("input[name=wechat_id]")).to_have_count(0)
        expect(tab.locator("input[name=name]")).to_have_value("Ann")
    finally:
        agent.close()


@pytest.mark.browser
def test_admin_masks_phones_and_an_agent_reveals_one_which_is_logged(page, browser,
                                                                     live_server,
                                                                     make_tenant, app):
    from saas.services import read_audit

    tenant = make_tenant()
    _admin_id, admin_email = add_staff(app, tenant, "admin")
    agent_id, agent_email = add_staff(app, tenant, "agent")
    with app.app_context():
        tenant.bind()
        customer = customer_service.create_customer(db.session, tenant.owner_actor(), {
            "name": "Ann", "phones": ["13800138000"]})
        db.session.commit()
        cid = customer.id
        db.session.remove()

    _log_in(page, tenant, admin_email)
    page.goto(f"/t/{tenant.slug}/privacy/")
    page.locator("select[name='agent|phones']").select_option("masked")
    page.get_by_role("button", name="Save field permissions").click()
    expect(page.locator(".alert-success")).to_contain_text("Field permissions saved")

    agent = browser.new_context(base_url=live_server.url, locale="en-US")
    agent.set_default_timeout(10_000)
    tab = agent.new_page()
    try:
        _log_in(tab, tenant, agent_email)
        tab.goto(f"/t/{tenant.slug}/customers/{cid}")
        expect(tab.get_by_text("+86138****8000")).to_have_count(1)
        expect(tab.get_by_text("+8613800138000")).to_have_count(0)
        tab.get_by_role("button", name="Reveal Phones").click()
        expect(tab.locator("#revealed")).to_contain_text("+8613800138000")
    finally:
        agent.close()
    with app.app_context():
        tenant.bind()
        reveals = [(e.actor_id, e.changes["field"]) for e in read_audit.who_saw(
            db.session, cid) if e.action == "customer.field_revealed"]
        db.session.remove()
    assert reveals == [(agent_id, "phones")]
