"""Stripe webhooks sent, signed, to the real endpoint: plan, dunning and cancellation."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas.billing.state import billing_row, tenant_state
from saas.extensions import db
from saas.models.base import utcnow
from saas.models.billing import BillingEvent, TenantBilling
from saas.services import limits
from saas.services.errors import LimitExceeded
from tests.billing.support import (
    checkout_completed,
    deliver,
    event,
    invoice,
    sign,
    subscription,
)

DAY = 86400


def _billing(app, tenant) -> TenantBilling | None:
    with app.app_context():
        row = billing_row(db.session, tenant.id)
        if row is not None:
            db.session.expunge(row)
        return row


def _events(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(BillingEvent))


def _state(app, tenant, now=None):
    with app.app_context():
        return tenant_state(db.session, tenant.id, now=now)


def test_bad_signature_is_refused_and_changes_nothing(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    evt = event("checkout.session.completed", checkout_completed(tenant.id))
    response = deliver(client, evt, secret="whsec_someone_else")
    assert response.status_code == 400
    assert "Stripe-Signature" in response.get_json()["errors"]
    assert _events(app) == 0 and _billing(app, tenant) is None


def test_payload_changed_after_signing_is_refused(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    body = json.dumps(event("checkout.session.completed", checkout_completed(tenant.id)))
    forged = body.replace('"pro"', '"enterprise"')
    response = client.post("/billing/stripe/webhook", data=forged,
                           content_type="application/json",
                           headers={"Stripe-Signature": sign(body)})
    assert response.status_code == 400
    assert _events(app) == 0


def test_old_signature_timestamp_is_refused(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    body = json.dumps(event("checkout.session.completed", checkout_completed(tenant.id)))
    response = client.post("/billing/stripe/webhook", data=body,
                           content_type="application/json",
                           headers={"Stripe-Signature": sign(body, at=int(time.time()) - 3600)})
    assert response.status_code == 400


def test_missing_signature_is_refused(app, client, billing_on):
    response = client.post("/billing/stripe/webhook", data="{}",
                           content_type="application/json")
    assert response.status_code == 400


def test_webhook_is_absent_while_billing_is_off(app, client, make_tenant):
    tenant = make_tenant()
    response = deliver(client, event("checkout.session.completed",
                                     checkout_completed(tenant.id)))
    assert response.status_code == 404


def test_completed_checkout_puts_the_tenant_on_the_paid_plan(app, client, billing_on,
                                                            make_tenant):
    tenant = make_tenant()
    assert _state(app, tenant).plan.key == "free"
    response = deliver(client, event("checkout.session.completed",
                                     checkout_completed(tenant.id, "pro")))
    assert response.status_code == 200 and response.get_json()["outcome"] == "applied"
    row = _billing(app, tenant)
    assert (row.plan, row.stripe_customer_id, row.stripe_subscription_id) == (
        "pro", "cus_1", "sub_1")
    assert _state(app, tenant).plan.key == "pro"


def test_unpaid_checkout_does_not_upgrade(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    obj = {**checkout_completed(tenant.id), "payment_status": "unpaid"}
    deliver(client, event("checkout.session.completed", obj))
    assert _state(app, tenant).plan.key == "free"


def test_replayed_event_changes_nothing_twice(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    deliver(client, event("checkout.session.completed", checkout_completed(tenant.id)))
    now = int(time.time())
    failed = event("invoice.payment_failed", invoice(tenant.id), created=now - 2 * DAY)
    assert deliver(client, failed).get_json()["outcome"] == "applied"
    first_grace = _billing(app, tenant).grace_until
    deliver(client, event("invoice.paid", invoice(tenant.id), created=now - DAY))
    assert _billing(app, tenant).grace_until is None
    replay = deliver(client, failed)
    assert replay.status_code == 200 and replay.get_json()["outcome"] == "duplicate"
    assert _billing(app, tenant).grace_until is None
    assert first_grace is not None and _events(app) == 3


def test_older_subscription_event_arriving_late_is_ignored(app, client, billing_on,
                                                           make_tenant):
    tenant = make_tenant()
    now = int(time.time())
    newer = event("customer.subscription.updated",
                  subscription("sub_1", tenant.id, "enterprise"), created=now)
    older = event("customer.subscription.updated",
                  subscription("sub_1", tenant.id, "pro"), created=now - 60)
    assert deliver(client, newer).get_json()["outcome"] == "applied"
    assert deliver(client, older).get_json()["outcome"] == "stale"
    assert _billing(app, tenant).plan == "enterprise"


def test_subscription_created_before_checkout_completed_arrives(app, client, billing_on,
                                                                make_tenant):
    tenant = make_tenant()
    now = int(time.time())
    deliver(client, event("customer.subscription.created",
                          subscription("sub_1", tenant.id, "pro"), created=now))
    late = deliver(client, event("checkout.session.completed",
                                 checkout_completed(tenant.id, "enterprise"),
                                 created=now - 5))
    assert late.get_json()["outcome"] == "stale"
    row = _billing(app, tenant)
    assert row.plan == "pro" and row.stripe_customer_id == "cus_1"


def test_invoice_applies_to_the_tenant_in_its_subscription_metadata(app, client, billing_on,
                                                                    make_tenant):
    tenant, other = make_tenant(), make_tenant()
    deliver(client, event("checkout.session.completed",
                          checkout_completed(tenant.id, customer="cus_A", sub_id="sub_A")))
    deliver(client, event("checkout.session.completed",
                          checkout_completed(other.id, customer="cus_B", sub_id="sub_B")))
    deliver(client, event("invoice.payment_failed", invoice(other.id, "cus_B", "sub_B")))
    assert _billing(app, other).grace_until is not None
    assert _billing(app, tenant).grace_until is None


def test_invoice_without_metadata_asks_stripe_for_the_subscription(app, client, billing_on,
                                                                   make_tenant):
    tenant = make_tenant()
    deliver(client, event("checkout.session.completed", checkout_completed(tenant.id)))
    billing_on.add_subscription("sub_1", "cus_1", "price_pro_test",
                                metadata={"tenant_id": str(tenant.id)})
    response = deliver(client, event("invoice.payment_failed", invoice(None)))
    assert response.get_json()["outcome"] == "applied"
    assert billing_on.calls("/v1/subscriptions/sub_1")
    assert _billing(app, tenant).grace_until is not None


def test_invoice_of_a_subscription_stripe_does_not_know_is_unmatched(app, client,
                                                                    billing_on):
    response = deliver(client, event("invoice.paid", invoice(None, "cus_x", "sub_gone")))
    assert response.status_code == 200 and response.get_json()["outcome"] == "unmatched"


def test_stripe_unreachable_while_resolving_an_invoice_fails_so_stripe_retries(
        app, client, billing_on, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")
    evt = event("invoice.paid", invoice(None))
    assert deliver(client, evt).status_code == 502
    assert _events(app) == 0


def test_event_for_an_unknown_tenant_is_recorded_and_changes_nothing(app, client,
                                                                     billing_on):
    nobody = uuid.uuid4()
    response = deliver(client, event("invoice.payment_failed", invoice(nobody, "cus_x")))
    assert response.status_code == 200 and response.get_json()["outcome"] == "unmatched"
    bogus = deliver(client, event("checkout.session.completed",
                                  checkout_completed("not-a-uuid")))
    assert bogus.get_json()["outcome"] == "unmatched"
    assert _events(app) == 2


def test_event_types_not_handled_are_recorded_only(app, client, billing_on):
    response = deliver(client, event("customer.created", {"id": "cus_9"}))
    assert response.get_json()["outcome"] == "ignored"


def test_grace_then_read_only_then_paid(app, client, billing_on, make_tenant):
    tenant = make_tenant()
    deliver(client, event("checkout.session.completed", checkout_completed(tenant.id)))
    failed_at = int(time.time()) - 3 * DAY
    deliver(client, event("invoice.payment_failed", invoice(tenant.id), created=failed_at))
    state = _state(app, tenant)
    assert state.in_grace and not state.read_only
    assert state.grace_until == _billing(app, tenant).payment_failed_at + timedelta(days=7)
    # A second failure (Stripe retries) does not extend the grace period.
    deliver(client, event("invoice.payment_failed", invoice(tenant.id), created=failed_at + DAY))
    assert _state(app, tenant).grace_until == state.grace_until

    later = utcnow() + timedelta(days=5)
    assert _state(app, tenant, now=later).read_only
    deliver(client, event("invoice.paid", invoice(tenant.id)))
    assert not _state(app, tenant, now=later).read_only
    assert _state(app, tenant).grace_until is None


def test_read_only_tenant_cannot_add_through_the_service(app, client, billing_on,
                                                         make_tenant):
    tenant = make_tenant()
    deliver(client, event("checkout.session.completed", checkout_completed(tenant.id)))
    deliver(client, event("invoice.payment_failed", invoice(tenant.id),
                          created=int(time.time()) - 8 * DAY))
    with app.app_context():
        tenant.bind()
        with pytest.raises(LimitExceeded) as info:
            limits.check(db.session, tenant.id, "customers")
        assert info.value.code == "account_read_only"
        assert "read-only" in info.value.message


def test_cancellation_keeps_the_plan_until_period_end_then_free(app, client, billing_on,
                                                                make_tenant):
    tenant = make_tenant()
    now = int(time.time())
    deliver(client, event("checkout.session.completed", checkout_completed(tenant.id),
                          created=now - 20))
    end = now + 10 * DAY
    deliver(client, event("customer.subscription.updated",
                          subscription("sub_1", tenant.id, "pro", period_end=end,
                                       cancel_at_period_end=True), created=now - 10))
    state = _state(app, tenant)
    assert state.plan.key == "pro" and state.cancel_at is not None
    after_end = utcnow() + timedelta(days=11)
    assert _state(app, tenant, now=after_end).plan.key == "free"
    deliver(client, event("customer.subscription.deleted",
                          subscription("sub_1", tenant.id, "pro", status="canceled",
                                       period_end=end), created=now))
    row = _billing(app, tenant)
    assert row.plan == "free" and row.subscription_status == "canceled"
    assert _state(app, tenant).plan.key == "free"


def test_deletion_of_an_old_subscription_does_not_end_the_new_one(app, client, billing_on,
                                                                  make_tenant):
    tenant = make_tenant()
    now = int(time.time())
    deliver(client, event("customer.subscription.created",
                          subscription("sub_new", tenant.id, "pro"), created=now - 5))
    response = deliver(client, event("customer.subscription.deleted",
                                     subscription("sub_old", tenant.id, "pro",
                                                  status="canceled"), created=now))
    assert response.get_json()["outcome"] == "ignored"
    assert _billing(app, tenant).plan == "pro"


def test_changes_from_stripe_appear_in_the_tenants_audit_log(app, client, billing_on,
                                                             make_tenant):
    from saas.models import AuditEntry, OutboxEvent

    tenant = make_tenant()
    deliver(client, event("checkout.session.completed", checkout_completed(tenant.id)))
    deliver(client, event("invoice.payment_failed", invoice(tenant.id)))
    with app.app_context():
        tenant.bind()
        entries = {e.action: e for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.actor_label == "stripe"))}
        assert entries["billing.checkout.session.completed"].changes["plan"][1] == "pro"
        assert "grace_until" in entries["billing.invoice.payment_failed"].changes
        names = list(db.session.scalars(select(OutboxEvent.name)))
        assert names.count("tenant.plan_changed") == 1


def test_subscription_created_arriving_after_checkout_still_brings_its_period(
        app, client, billing_on, make_tenant):
    tenant = make_tenant()
    now = int(time.time())
    end = now + 30 * DAY
    deliver(client, event("checkout.session.completed", checkout_completed(tenant.id),
                          created=now))
    response = deliver(client, event("customer.subscription.created",
                                     subscription("sub_1", tenant.id, "pro", period_end=end),
                                     created=now - 2))
    assert response.get_json()["outcome"] == "applied"
    row = _billing(app, tenant)
    assert row.plan == "pro" and int(row.current_period_end.timestamp()) == end


def test_webhook_needs_no_csrf_token_while_billing_forms_do(app, client, billing_on,
                                                            make_tenant, monkeypatch):
    from tests.web.helpers import login

    tenant = make_tenant()
    login(client, tenant)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = deliver(client, event("checkout.session.completed",
                                     checkout_completed(tenant.id)))
    assert response.status_code == 200
    assert client.post(f"/t/{tenant.slug}/billing/portal").status_code == 400


@pytest.mark.postgres
def test_the_same_event_delivered_twice_at_once_applies_once(app, billing_on, make_tenant):
    from concurrent.futures import ThreadPoolExecutor

    from saas.models import AuditEntry

    tenant = make_tenant()
    evt = event("checkout.session.completed", checkout_completed(tenant.id))

    def post(_):
        return deliver(app.test_client(), evt).get_json()["outcome"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(post, range(4)))
    assert outcomes == ["applied", "duplicate", "duplicate", "duplicate"]
    with app.app_context():
        tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.actor_label == "stripe")) == 1
