"""Helpers for billing tests: Stripe-signed webhook deliveries and event payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

WEBHOOK_SECRET = "whsec_test_" + "s" * 24
API_KEY = "sk_test_fake_key"
PRICES = {"pro": "price_pro_test", "enterprise": "price_ent_test"}
WEBHOOK = "/billing/stripe/webhook"


def sign(body: str, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """Stripe's scheme: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def event(type_: str, obj: dict, created: int | None = None,
          event_id: str | None = None) -> dict:
    return {"id": event_id or f"evt_{uuid.uuid4().hex[:16]}", "object": "event",
            "type": type_, "created": int(time.time()) if created is None else created,
            "data": {"object": obj}}


def deliver(client, evt: dict, secret: str = WEBHOOK_SECRET, signature: str | None = None):
    body = json.dumps(evt)
    return client.post(WEBHOOK, data=body, content_type="application/json",
                       headers={"Stripe-Signature": signature or sign(body, secret)})


def subscription(sub_id: str, tenant_id, plan: str = "pro", status: str = "active",
                 customer: str = "cus_1", period_end: int | None = None,
                 cancel_at_period_end: bool = False) -> dict:
    return {"id": sub_id, "object": "subscription", "customer": customer, "status": status,
            "cancel_at_period_end": cancel_at_period_end,
            "current_period_end": period_end or int(time.time()) + 30 * 86400,
            "metadata": {"tenant_id": str(tenant_id), "plan": plan},
            "items": {"data": [{"id": f"si_{sub_id}", "price": {"id": PRICES[plan]}}]}}


def checkout_completed(tenant_id, plan: str = "pro", customer: str = "cus_1",
                       sub_id: str = "sub_1") -> dict:
    return {"id": "cs_1", "object": "checkout.session", "mode": "subscription",
            "payment_status": "paid", "client_reference_id": str(tenant_id),
            "customer": customer, "subscription": sub_id,
            "metadata": {"tenant_id": str(tenant_id), "plan": plan}}


def invoice(tenant_id=None, customer: str = "cus_1", sub_id: str = "sub_1") -> dict:
    """An invoice of a subscription; Stripe copies the subscription's metadata into
    `subscription_details` (without `tenant_id`, billing asks Stripe for it)."""
    details = {"subscription": sub_id,
               "metadata": {"tenant_id": str(tenant_id)} if tenant_id else {}}
    return {"id": f"in_{uuid.uuid4().hex[:10]}", "object": "invoice", "customer": customer,
            "subscription": sub_id, "subscription_details": details}
