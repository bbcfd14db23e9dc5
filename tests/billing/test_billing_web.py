"""The billing page and its Stripe round trips (fake Stripe on 127.0.0.1), the banner,
the read-only guard and a plan limit met in the UI."""

from __future__ import annotations

import time

from saas.billing.state import billing_row
from saas.extensions import db
from saas.models.billing import TenantBilling
from saas.services import staff as staff_service
from tests.billing.support import PRICES, checkout_completed, deliver, event, invoice
from tests.web.helpers import add_staff, login, login_as

DAY = 86400


def _subscribe(client, billing_on, tenant, plan: str = "pro"):
    billing_on.add_subscription("sub_1", "cus_1", PRICES[plan])
    deliver(client, event("checkout.session.completed",
                          checkout_completed(tenant.id, plan), created=int(time.time()) - 30))


def _row(app, tenant) -> TenantBilling:
    with app.app_context():
        row = billing_row(db.session, tenant.id)
        db.session.expunge(row)
        return row


def test_page_shows_plan_and_usage_bars(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/billing/").get_data(as_text=True)
    assert 'data-plan="free"' in html
    assert '<meter min="0" max="3"' in html and 'value="1"' in html  # the owner's seat
    assert 'data-limit="customers"' in html and 'data-limit="messages"' in html
    assert "Subscribe" in html


def test_page_without_billing_shows_the_default_plan_and_no_payment(app, client,
                                                                    make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/billing/").get_data(as_text=True)
    assert 'data-plan="enterprise"' in html
    assert "Billing is not enabled" in html and "Subscribe" not in html


def test_only_owner_and_admins_see_billing_and_only_the_owner_pays(app, client, billing_on,
                                                                  make_tenant):
    tenant = make_tenant()
    login_as(app, client, tenant, "agent")
    assert client.get(f"/t/{tenant.slug}/billing/").status_code == 403
    client.post(f"/t/{tenant.slug}/logout")
    login_as(app, client, tenant, "admin")
    page = client.get(f"/t/{tenant.slug}/billing/")
    assert page.status_code == 200 and "Subscribe" not in page.get_data(as_text=True)
    response = client.post(f"/t/{tenant.slug}/billing/checkout", data={"plan": "pro"})
    assert response.status_code == 403
    assert billing_on.calls("/v1/checkout/sessions") == []


def test_owner_upgrades_through_stripe_checkout(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/checkout", data={"plan": "pro"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{billing_on.base}/pay/cs_")
    [sent] = billing_on.calls("/v1/checkout/sessions")
    assert sent["mode"] == "subscription"
    assert sent["line_items[0][price]"] == PRICES["pro"]
    assert sent["client_reference_id"] == str(tenant.id)
    assert sent["metadata[tenant_id]"] == str(tenant.id)
    assert sent["subscription_data[metadata][plan]"] == "pro"
    assert sent["customer_email"] == tenant.owner_email
    assert sent["success_url"].endswith(f"/t/{tenant.slug}/billing/?checkout=success")


def test_unknown_plan_is_refused_with_a_message(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/checkout", data={"plan": "gold"})
    assert response.status_code == 422
    assert "Choose one of: pro, enterprise" in response.get_data(as_text=True)
    assert billing_on.calls("/v1/checkout/sessions") == []


def test_stripe_unreachable_gives_a_clear_error(app, client, billing_on, make_tenant,
                                                monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/checkout", data={"plan": "pro"})
    assert response.status_code == 502
    assert "payment provider" in response.get_data(as_text=True)


def test_stripe_refusal_gives_a_clear_error(app, client, billing_on, make_tenant,
                                            monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_wrong")
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/checkout", data={"plan": "pro"})
    assert response.status_code == 502


def test_portal_needs_a_billing_account_first(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/portal")
    assert response.status_code == 409
    assert "subscribe to a plan first" in response.get_data(as_text=True)


def test_owner_opens_the_customer_portal(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    _subscribe(client, billing_on, tenant)
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/portal")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{billing_on.base}/portal/bps_")
    [sent] = billing_on.calls("/v1/billing_portal/sessions")
    assert sent["customer"] == "cus_1"
    assert sent["return_url"].endswith(f"/t/{tenant.slug}/billing/")


def test_subscribed_owner_cannot_start_a_second_checkout(app, client, billing_on,
                                                         make_tenant):
    tenant = make_tenant()
    _subscribe(client, billing_on, tenant)
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/checkout",
                           data={"plan": "enterprise"})
    assert response.status_code == 409


def test_owner_changes_plan(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    _subscribe(client, billing_on, tenant)
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/change", data={"plan": "enterprise"})
    assert response.status_code == 303
    [sent] = billing_on.calls("/v1/subscriptions/sub_1")[-1:]
    assert sent["items[0][id]"] == "si_sub_1"
    assert sent["items[0][price]"] == PRICES["enterprise"]
    assert _row(app, tenant).plan == "enterprise"
    # The webhook of an earlier state arriving now does not undo the change.
    stale = deliver(client, event("customer.subscription.updated", {
        **billing_on.subscriptions["sub_1"], "items": {"data": [
            {"id": "si_sub_1", "price": {"id": PRICES["pro"]}}]}},
        created=int(time.time()) - 20))
    assert stale.get_json()["outcome"] == "stale"
    assert _row(app, tenant).plan == "enterprise"


def test_downgrade_is_refused_while_usage_exceeds_the_smaller_plan(app, client, billing_on,
                                                                   make_tenant):
    tenant = make_tenant()
    _subscribe(client, billing_on, tenant, "enterprise")
    with app.app_context():
        tenant.bind()
        for i in range(25):
            staff_service.invite(db.session, tenant.owner_actor(), f"p{i}@example.com",
                                 "agent", 1, "http://127.0.0.1", tenant.slug)
        db.session.commit()
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/change", data={"plan": "pro"})
    assert response.status_code == 409
    assert "staff seats" in response.get_data(as_text=True)
    assert _row(app, tenant).plan == "enterprise"


def test_owner_cancels_at_period_end_and_sees_the_notice(app, client, billing_on,
                                                         make_tenant):
    tenant = make_tenant()
    _subscribe(client, billing_on, tenant)
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/billing/cancel")
    assert response.status_code == 303
    assert billing_on.subscriptions["sub_1"]["cancel_at_period_end"] is True
    row = _row(app, tenant)
    assert row.cancel_at_period_end and row.plan == "pro"
    html = client.get(f"/t/{tenant.slug}/billing/").get_data(as_text=True)
    assert "free plan&#39;s limits apply" in html and "Keep my subscription" in html
    client.post(f"/t/{tenant.slug}/billing/cancel", data={"resume": "1"})
    assert billing_on.subscriptions["sub_1"]["cancel_at_period_end"] is False
    assert not _row(app, tenant).cancel_at_period_end


def test_cancel_without_subscription_is_refused(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    assert client.post(f"/t/{tenant.slug}/billing/cancel").status_code == 409


def test_failed_payment_shows_the_grace_banner(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    _subscribe(client, billing_on, tenant)
    deliver(client, event("invoice.payment_failed", invoice(tenant.id)))
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/billing/").get_data(as_text=True)
    assert "billing-banner" in html and "A payment failed" in html


def test_read_only_tenant_cannot_write_in_the_ui_until_paid(app, client, billing_on,
                                                            make_tenant):
    tenant = make_tenant()
    _subscribe(client, billing_on, tenant)
    deliver(client, event("invoice.payment_failed", invoice(tenant.id),
                          created=int(time.time()) - 8 * DAY))
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/staff/invite",
                           data={"email": "new@example.com", "role": "agent"})
    assert response.status_code == 402
    assert "read-only" in response.get_data(as_text=True)
    assert client.get(f"/t/{tenant.slug}/billing/").status_code == 200
    assert client.post(f"/t/{tenant.slug}/billing/portal").status_code == 303
    deliver(client, event("invoice.paid", invoice(tenant.id)))
    response = client.post(f"/t/{tenant.slug}/staff/invite",
                           data={"email": "new@example.com", "role": "agent"})
    assert response.status_code == 201


def test_seat_limit_in_the_ui_names_the_plan_that_lifts_it(app, client, billing_on,
                                                           make_tenant):
    tenant = make_tenant()
    add_staff(app, tenant, "agent")
    add_staff(app, tenant, "agent")
    login(client, tenant)
    response = client.post(f"/t/{tenant.slug}/staff/invite",
                           data={"email": "fourth@example.com", "role": "agent"})
    assert response.status_code == 402
    html = response.get_data(as_text=True)
    assert "The Free plan allows 3 staff seats" in html and "Upgrade to Pro" in html


def test_billing_page_speaks_chinese(app, client, billing_on, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    login(client, tenant)
    client.post("/language", data={"locale": "zh_CN", "next": "/"})
    html = client.get(f"/t/{tenant.slug}/billing/").get_data(as_text=True)
    assert "员工席位" in html and "免费版" in html
