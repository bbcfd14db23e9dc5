"""In a real browser: an agent opens a complaint for a customer, adds a note, replies,
assigns it to herself and resolves it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from saas.services import customers
from saas.services import tickets as ticket_service
from tests.conftest import PASSWORD


@pytest.mark.browser
def test_work_a_ticket_from_open_to_resolved(page, live_server, make_tenant, app):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        customers.create_customer(db.session, tenant.owner_actor(), {"name": "Zhang Wei"})
        db.session.commit()
        db.session.remove()
    page.goto(f"/t/{tenant.slug}/login")
    page.get_by_label("Email").fill(tenant.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Tickets").click()
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
