"""Signed outbound webhooks against a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from plugins import webhooks
from saas.extensions import db
from saas.models.plugins import Delivery
from saas.services import plugins as plugin_service
from saas.services.errors import InvalidInput
from tests.hooks.support import configure, emit_event
from tests.plugins.servers import http_server

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def deliveries(app, tenant):
    with app.app_context():
        tenant.bind()
        rows = db.session.scalars(select(Delivery).order_by(Delivery.created_at)).all()
        db.session.expunge_all()
    return rows


def test_events_are_signed_and_verify_on_the_receiver(app, make_tenant):
    tenant = make_tenant()
    with http_server() as (url, received):
        configure(app, tenant, "webhooks", {"endpoints": [f"{url}/crm"], "secret": SECRET})
        event_id = emit_event(app, tenant, "customer.created", {"name": "Li Lei"},
                              "customer", "c-1")
    [req] = received
    assert req.headers["webhook-id"] == str(event_id)
    payload = webhooks.verify(SECRET, req.headers, req.body)
    assert payload["type"] == "customer.created"
    assert payload["data"] == {"id": "c-1", "entity_type": "customer", "name": "Li Lei"}
    assert payload["tenant"] == tenant.slug
    [row] = deliveries(app, tenant)
    assert row.result == {"on_event": {"sent": [{"url": f"{url}/crm", "status": 200}]}}


def test_endpoint_filters_choose_which_events_go_where(app, make_tenant):
    tenant = make_tenant()
    with http_server() as (url, received):
        configure(app, tenant, "webhooks", {"endpoints": [
            f"{url}/customers customer.*", f"{url}/orders order.placed"], "secret": SECRET})
        emit_event(app, tenant, "customer.updated")
        emit_event(app, tenant, "order.placed")
        emit_event(app, tenant, "ticket.closed")
    assert [(r.path, r.json()["type"]) for r in received] == [
        ("/customers", "customer.updated"), ("/orders", "order.placed")]
    assert deliveries(app, tenant)[-1].result == {
        "on_event": {"skipped": "no endpoint subscribes to this event"}}


def test_failing_receiver_fails_the_delivery(app, make_tenant):
    tenant = make_tenant()
    with http_server(lambda req: (500, {"error": "boom"})) as (url, _):
        configure(app, tenant, "webhooks", {"endpoints": [url], "secret": SECRET})
        emit_event(app, tenant)
    [row] = deliveries(app, tenant)
    assert row.status == "failed"
    assert "answered 500" in row.last_error


def test_verify_rejects_tampering_old_timestamps_and_wrong_secrets():
    body = b'{"type":"x"}'
    stamp = int(time.time())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp),
               "webhook-signature": webhooks.sign(SECRET, "msg_1", stamp, body)}
    assert webhooks.verify(SECRET, headers, body) == {"type": "x"}
    with pytest.raises(webhooks.WebhookVerificationError, match="no matching"):
        webhooks.verify(SECRET, headers, b'{"type":"y"}')
    with pytest.raises(webhooks.WebhookVerificationError, match="no matching"):
        webhooks.verify(webhooks.new_secret(), headers, body)
    with pytest.raises(webhooks.WebhookVerificationError, match="tolerance"):
        webhooks.verify(SECRET, headers, body, now=stamp + 301)
    with pytest.raises(webhooks.WebhookVerificationError, match="missing"):
        webhooks.verify(SECRET, {}, body)


def test_signature_matches_the_standard_webhooks_reference_vector():
    # The example from the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert webhooks.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_bad_endpoints_and_secret_are_field_errors(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.update_settings(
                db.session, tenant.owner_actor(), "webhooks",
                {"endpoints": ["mailto:x@example.com", "https://ok.example.com a;b"],
                 "secret": "plain-secret"})
    assert set(err.value.errors) == {"endpoints", "secret"}
    assert "whsec_" in err.value.errors["secret"][0]
    assert json.dumps(err.value.errors["endpoints"]).count("is not") == 2
