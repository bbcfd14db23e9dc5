"""In a real browser: an admin configures the email plugin (with a field error first),
enables it, and a message goes out through a real SMTP server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saas.extensions import db
from saas.services import plugins as plugin_service
from tests.browser.helpers import log_in, open_menu
from tests.plugins.servers import smtp_server


@pytest.mark.browser
def test_admin_configures_and_enables_the_email_plugin(page, live_server, make_tenant, app):
    tenant = make_tenant()
    log_in(page, tenant)
    open_menu(page, "Plugins")
    row = page.locator("#plugin-email")
    expect(row).to_contain_text("Disabled")
    row.get_by_role("button", name="Enable").click()
    expect(page).to_have_url(re.compile(r"/plugins/email/settings$"))
    expect(page.get_by_role("alert").or_(page.locator(".alert-error"))).to_contain_text(
        "Complete the settings of email")

    with smtp_server("none", users={"mailer": "smtp-pass-123"}) as (port, box):
        page.get_by_label("SMTP host").fill("127.0.0.1")
        page.get_by_label("SMTP port").fill("not a port")
        page.get_by_label("Connection security").select_option("none")
        page.get_by_label("User name").fill("mailer")
        page.get_by_label("Password").fill("smtp-pass-123")
        page.get_by_label("From address").fill("care@shop.example.com")
        page.get_by_role("button", name="Save settings").click()
        expect(page.locator("#port-error")).to_contain_text("Not a valid integer.")

        page.get_by_label("SMTP port").fill(str(port))
        page.get_by_label("Password").fill("smtp-pass-123")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_role("status").or_(page.locator(".alert-success"))
               ).to_contain_text("Settings of email saved.")
        expect(page.get_by_label("Password")).to_have_value("")
        expect(page.get_by_label("Password")).to_have_attribute("placeholder", "••••")

        page.get_by_role("link", name="All plugins").click()
        page.locator("#plugin-email").get_by_role("button", name="Enable").click()
        expect(page.locator("#plugin-email")).to_contain_text("Enabled")

        with app.app_context():
            tenant.bind()
            plugin_service.send_via_channel(db.session, tenant.id, "email",
                                            {"to": "li.lei@example.com", "subject": "Hi",
                                             "body": "Your tea has shipped."})
            db.session.commit()
        assert box.logins == ["mailer"]
        assert box.messages[0]["Subject"] == "Hi"
