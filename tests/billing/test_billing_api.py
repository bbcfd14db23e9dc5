"""Plan rules over the API: 402 for a limit or a read-only account, 429 for calls per
minute, and the billing resource itself."""

from __future__ import annotations

import time

from saas.billing.plans import PLANS
from saas.extensions import db
from tests.api.conftest import add_staff, issue_token
from tests.billing.support import checkout_completed, deliver, event, invoice

DAY = 86400


def _token(app, tenant, role: str = "owner", scope: str = "write") -> dict:
    with app.app_context():
        staff_id = tenant.owner_id if role == "owner" else add_staff(tenant, role)
        _tid, raw = issue_token(tenant, staff_id, scope)
        db.session.remove()
    return {"Authorization": f"Bearer {raw}"}


def test_billing_resource_shows_plan_and_usage(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    auth = _token(app, tenant)
    body = client.get("/api/v1/billing", headers=auth).get_json()
    assert body["plan"] == "free" and body["billing_enabled"] is True
    usage = {u["limit"]: u for u in body["usage"]}
    assert usage["seats"] == {"limit": "seats", "used": 1, "allowed": 3}
    assert usage["api_calls"]["used"] == 1  # this very call


def test_billing_resource_needs_settings_permission(app, client, make_tenant):
    tenant = make_tenant()
    auth = _token(app, tenant, "agent")
    assert client.get("/api/v1/billing", headers=auth).status_code == 403


def test_invitation_over_the_seat_limit_is_402_naming_limit_and_plan(app, client,
                                                                     billing_on, make_tenant):
    tenant = make_tenant()
    auth = _token(app, tenant)
    for i in range(2):
        response = client.post("/api/v1/invitations", headers=auth,
                               json={"email": f"p{i}@example.com", "role": "agent"})
        assert response.status_code == 201
    response = client.post("/api/v1/invitations", headers=auth,
                           json={"email": "p9@example.com", "role": "agent"})
    assert response.status_code == 402
    body = response.get_json()
    assert body["code"] == "limit_exceeded" and "seats" in body["errors"]
    assert "Upgrade to Pro" in body["message"]


def test_checkout_over_the_api_returns_the_stripe_page(app, client, billing_on,
                                                       make_tenant):
    tenant = make_tenant()
    auth = _token(app, tenant)
    response = client.post("/api/v1/billing/checkout", headers=auth, json={"plan": "pro"})
    assert response.status_code == 201
    assert response.get_json()["url"].startswith(f"{billing_on.base}/pay/")
    bad = client.post("/api/v1/billing/checkout", headers=auth, json={"plan": "gold"})
    assert bad.status_code == 422 and "plan" in bad.get_json()["errors"]


def test_checkout_over_the_api_is_owner_only(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    auth = _token(app, tenant, "admin")
    response = client.post("/api/v1/billing/checkout", headers=auth, json={"plan": "pro"})
    assert response.status_code == 403


def test_read_only_account_refuses_api_writes_but_serves_reads(app, client, billing_on,
                                                               make_tenant):
    tenant = make_tenant()
    auth = _token(app, tenant)
    deliver(client, event("checkout.session.completed", checkout_completed(tenant.id)))
    deliver(client, event("invoice.payment_failed", invoice(tenant.id),
                          created=int(time.time()) - 8 * DAY))
    response = client.post("/api/v1/invitations", headers=auth,
                           json={"email": "late@example.com", "role": "agent"})
    assert response.status_code == 402
    assert response.get_json()["code"] == "account_read_only"
    assert client.get("/api/v1/billing", headers=auth).get_json()["read_only"] is True


def test_api_calls_beyond_the_plan_per_minute_get_429(app, client, billing_on,
                                                      make_tenant):
    tenant = make_tenant()
    auth = _token(app, tenant)
    cap = PLANS["free"].limits["api_calls"]
    for _ in range(cap):
        assert client.get("/api/v1/me", headers=auth).status_code == 200
    response = client.get("/api/v1/me", headers=auth)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["code"] == "rate_limited"
    other = _token(app, make_tenant())
    assert client.get("/api/v1/me", headers=other).status_code == 200


def test_checkout_body_with_an_unknown_field_is_422(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    auth = _token(app, tenant)
    response = client.post("/api/v1/billing/checkout", headers=auth,
                           json={"plan": "pro", "price": "free please"})
    assert response.status_code == 422 and "price" in response.get_json()["errors"]
    assert billing_on.calls("/v1/checkout/sessions") == []


def test_read_token_cannot_start_a_checkout(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    auth = _token(app, tenant, scope="read")
    response = client.post("/api/v1/billing/checkout", headers=auth, json={"plan": "pro"})
    assert response.status_code == 403
