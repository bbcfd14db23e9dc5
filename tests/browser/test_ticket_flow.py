"""In a real browser: an agent opens a complaint for a customer, adds a note, replies,
assigns it to herself and resolves it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from saas.services import customers
from saas.services import tickets as ticket_service
from tests.browser.helpers import log_in, open_menu


@pytest.mark.browser
def test_work_a_ticket_from_open_to_resolved(page, live_server, make_tenant, app):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        customers.create_customer(db.session, tenant.owner_actor(), {"name": "Zhang Wei"})
        db.session.commit()
        db.session.remove()
    log_in(page, tenant)
    open_menu(page, "Tickets")
    page.get_by_role("link", name="New ticket").click()

    page.get_by_label("Customer").select_option(label="Zhang Wei")
    page.get_by_role("button", name="Open ticket").click()          # no subject yet
    expect(page.locator("#subject-error")).to_contain_text("This field is required.")
    page.get_by_label("Subject").fill("Teapot arrived broken")
    page.get_by_label("Description").fill("The lid is cracked.")
    page.get_by_label("Type").select_option("complaint")
    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Open ticket").click()
    expect(page).to_have_url(re.compile(r"/tickets/[0-9a-f-]{36}$"))
    expect(page.locator("#ticket-status")).to_have_text("New")

    page.get_by_label("Message").fill("Checked stock: replacement available.")
    page.get_by_label("Kind").select_option("note")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".message-note")).to_contain_text("replacement available")

    page.get_by_label("Message").fill("Sorry! A new teapot ships today.")
    page.get_by_label("Kind").select_option("reply")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".message-reply")).to_contain_text("ships today")
    expect(page.locator("#ticket-status")).to_have_text("Open")

    page.get_by_label("Owner").select_option(label="Olivia Owner")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("Ticket updated.")

    page.get_by_role("button", name="Mark as Resolved").click()
    expect(page.locator("#ticket-status")).to_have_text("Resolved")
    expect(page.get_by_role("button", name="Mark as Reopened")).to_be_visible()

    with app.app_context():
        tenant.bind()
        [ticket] = db.session.scalars(ticket_service.query(
            db.session, tenant.owner_actor(), queue="all")).all()
        assert (ticket.status, ticket.type, ticket.priority) == ("resolved", "complaint",
                                                                 "high")
        assert ticket.owner_id == tenant.owner_id and ticket.first_responded_at
        db.session.remove()


@pytest.mark.browser
def test_cause_analysis_draws_pareto_and_trend_charts(page, live_server, make_tenant, app):
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    import time_machine

    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        c = customers.create_customer(db.session, actor, {"name": "Zhang Wei"})
        opened = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        with time_machine.travel(opened, tick=False):
            for cause in ("Delivery", "Delivery", "Delivery", "Billing"):
                ticket_service.create_ticket(db.session, actor, {
                    "customer_id": c.id, "subject": "x", "cause": cause})
        db.session.commit()
        db.session.remove()
    log_in(page, tenant)
    page.goto(f"/t/{tenant.slug}/tickets/analysis?since=2026-11-01&until=2026-12-31")
    page.wait_for_function("() => ['pareto-chart', 'trend-chart'].every("
                           "id => document.getElementById(id).chart)")
    pareto = page.evaluate("() => { const d = document.getElementById('pareto-chart')"
                           ".chart.data; return [d.labels, d.datasets.map(s => [s.type, "
                           "s.data])]; }")
    assert pareto == [["Delivery", "Billing"], [["line", [75, 100]], ["bar", [3, 1]]]]
    trend = page.evaluate("() => { const d = document.getElementById('trend-chart')"
                          ".chart.data; return [d.labels, d.datasets.map(s => [s.label, "
                          "s.data])]; }")
    assert trend == [["2026-11", "2026-12"], [["Delivery", [3, 0]], ["Billing", [1, 0]]]]
    expect(page.locator("#pareto table")).to_contain_text("75%")
    with page.expect_download() as download:
        page.locator("#trend").get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == (
        f"ticket-causes-trend-{date(2026, 11, 1)}-{date(2026, 12, 31)}.csv")
