"""The SMS plugin against a real HTTP gateway server on 127.0.0.1."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import plugins as plugin_service
from saas.services.errors import InvalidInput
from tests.hooks.support import configure
from tests.plugins.servers import http_server

TOKEN = "gw-token-0123456789"


def gateway(req):
    if req.headers.get("authorization") != f"Bearer {TOKEN}":
        return 401, {"error": "unauthorised"}
    return 200, {"message_id": f"gw-{req.json()['id']}"}


def send(app, tenant, key=None, **message):
    with app.app_context():
        tenant.bind()
        d = plugin_service.send_via_channel(
            db.session, tenant.id, "sms",
            {"to": "+8613800138000", "body": "Your order shipped", **message}, key=key)
        db.session.commit()
        db.session.refresh(d)
        db.session.expunge(d)
    return d


def test_message_is_posted_with_token_idempotency_key_and_template(app, make_tenant):
    tenant = make_tenant()
    with http_server(gateway) as (url, received):
        configure(app, tenant, "sms", {"gateway_url": f"{url}/send", "auth_token": TOKEN,
                                       "sender_id": "SHOP",
                                       "body_template": "【{{ shop }}】{{ body }}"})
        d = send(app, tenant, key="order-42", context={"shop": "茶馆"})
    assert d.status == "succeeded", d.last_error
    [req] = received
    assert (req.method, req.path) == ("POST", "/send")
    assert req.headers["idempotency-key"] == "order-42"
    assert req.json() == {"id": "order-42", "to": "+8613800138000", "from": "SHOP",
                          "text": "【茶馆】Your order shipped"}
    assert d.result["send"]["provider_id"] == "gw-order-42"


def test_gateway_error_fails_the_delivery_with_its_answer(app, make_tenant):
    tenant = make_tenant()
    with http_server(lambda req: (503, {"error": "maintenance"})) as (url, _):
        configure(app, tenant, "sms", {"gateway_url": url, "auth_token": TOKEN})
        d = send(app, tenant)
    assert d.status == "failed"
    assert d.last_error == f'HttpError: POST {url} answered 503: {{"error": "maintenance"}}'


def test_gateway_answer_without_message_id_is_a_failure(app, make_tenant):
    tenant = make_tenant()
    with http_server(lambda req: (200, {"ok": True})) as (url, _):
        configure(app, tenant, "sms", {"gateway_url": url, "auth_token": TOKEN})
        d = send(app, tenant)
    assert d.status == "failed"
    assert "without a message_id" in d.last_error


def test_wrong_token_is_reported(app, make_tenant):
    tenant = make_tenant()
    with http_server(gateway) as (url, _):
        configure(app, tenant, "sms", {"gateway_url": url, "auth_token": "another-token"})
        d = send(app, tenant)
    assert d.status == "failed" and "answered 401" in d.last_error


def test_bad_url_and_missing_token_are_field_errors(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.update_settings(db.session, tenant.owner_actor(), "sms",
                                           {"gateway_url": "ftp://gateway"})
    assert set(err.value.errors) == {"gateway_url", "auth_token"}
