"""Plugin admin pages, plugin endpoints and unsubscribe links."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.plugins import Delivery
from saas.services import customers as customer_service
from saas.services import plugins as plugin_service
from saas.services import unsubscribe as unsubscribe_service
from tests.hooks.support import (
    GOOD_SETTINGS,
    EchoPlugin,
    InboxDesk,
    configure,
    emit_event,
    registered,
)
from tests.web.helpers import field_errors, login, login_as


@pytest.fixture
def echo(app):
    with registered(app, EchoPlugin(), "echo", version="3.1") as plugin:
        yield plugin


def test_index_lists_plugins_with_version_hooks_and_status(app, client, make_tenant, echo):
    tenant = make_tenant()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/plugins/").get_data(as_text=True)
    assert 'id="plugin-echo"' in html and "3.1" in html
    assert "<code>on_event</code>" in html
    assert 'id="plugin-email"' in html and 'id="plugin-webhooks"' in html


def test_settings_form_is_generated_from_the_schema(app, client, make_tenant, echo):
    tenant = make_tenant()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/plugins/echo/settings").get_data(as_text=True)
    assert "Endpoint URL" in html
    assert 'type="password"' in html and 'name="token"' in html
    assert 'value="hello"' in html


def test_invalid_settings_show_field_errors_and_save_nothing(app, client, make_tenant, echo):
    tenant = make_tenant()
    login(client, tenant)
    res = client.post(f"/t/{tenant.slug}/plugins/echo/settings",
                      data={"url": "not a url", "token": "", "retries": "lots"})
    assert res.status_code == 422
    html = res.get_data(as_text=True)
    assert field_errors(html, "url")
    assert field_errors(html, "token")
    assert field_errors(html, "retries")
    with app.app_context():
        tenant.bind()
        assert plugin_service.get_config(db.session, "echo") is None


def test_saved_secret_is_masked_and_kept_when_left_empty(app, client, make_tenant, echo):
    tenant = make_tenant()
    login(client, tenant)
    url = f"/t/{tenant.slug}/plugins/echo/settings"
    assert client.post(url, data=GOOD_SETTINGS).status_code == 303
    html = client.get(url).get_data(as_text=True)
    assert GOOD_SETTINGS["token"] not in html
    assert "••••cret" in html
    assert client.post(url, data={**GOOD_SETTINGS, "token": "", "greeting": "hi"}
                       ).status_code == 303
    with app.app_context():
        tenant.bind()
        saved = plugin_service.plugin_settings(db.session, "echo")
    assert saved["token"] == GOOD_SETTINGS["token"] and saved["greeting"] == "hi"


def test_enable_before_configuring_sends_the_admin_to_the_form(app, client, make_tenant,
                                                               echo):
    tenant = make_tenant()
    login(client, tenant)
    res = client.post(f"/t/{tenant.slug}/plugins/echo/enable")
    assert res.status_code == 303
    assert res.headers["Location"].endswith("/plugins/echo/settings")
    client.post(f"/t/{tenant.slug}/plugins/echo/settings", data=GOOD_SETTINGS)
    assert client.post(f"/t/{tenant.slug}/plugins/echo/enable").status_code == 303
    html = client.get(f"/t/{tenant.slug}/plugins/").get_data(as_text=True)
    assert "Enabled" in html
    emit_event(app, tenant)
    assert len(echo.events) == 1
    client.post(f"/t/{tenant.slug}/plugins/echo/disable")
    emit_event(app, tenant)
    assert len(echo.events) == 1


def test_missing_plugin_is_shown_as_missing(app, client, make_tenant):
    tenant = make_tenant()
    with registered(app, EchoPlugin(), "gone"):
        configure(app, tenant, "gone", GOOD_SETTINGS)
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/plugins/").get_data(as_text=True)
    assert 'id="plugin-gone"' in html and "Missing" in html
    assert client.get(f"/t/{tenant.slug}/plugins/gone/settings").status_code == 404


def test_deliveries_page_filters_and_retries(app, client, make_tenant):
    tenant = make_tenant()
    plugin = EchoPlugin(mode="raise")
    with registered(app, plugin, "broken"):
        configure(app, tenant, "broken", GOOD_SETTINGS)
        emit_event(app, tenant, "order.placed")
        login(client, tenant)
        html = client.get(f"/t/{tenant.slug}/plugins/deliveries?status=failed"
                          ).get_data(as_text=True)
        assert "RuntimeError: receiver said no" in html
        assert "order.placed" in html
        assert "No deliveries" in client.get(
            f"/t/{tenant.slug}/plugins/deliveries?status=succeeded").get_data(as_text=True)
        with app.app_context():
            tenant.bind()
            delivery_id = db.session.scalars(select(Delivery.id)).one()
        plugin.mode = "ok"
        res = client.post(f"/t/{tenant.slug}/plugins/deliveries/{delivery_id}/retry")
        assert res.status_code == 303
    with app.app_context():
        tenant.bind()
        assert db.session.scalars(select(Delivery.status)).one() == "succeeded"


def test_other_tenants_delivery_retry_is_404(app, client, make_tenant, echo):
    a, b = make_tenant(), make_tenant()
    configure(app, a, "echo", GOOD_SETTINGS)
    emit_event(app, a)
    with app.app_context():
        a.bind()
        delivery_id = db.session.scalars(select(Delivery.id)).one()
    login(client, b)
    assert client.post(f"/t/{b.slug}/plugins/deliveries/{delivery_id}/retry"
                       ).status_code == 404


@pytest.mark.parametrize("role", ["manager", "agent", "readonly"])
def test_roles_without_plugins_manage_get_403(app, client, make_tenant, echo, role):
    tenant = make_tenant()
    login_as(app, client, tenant, role)
    assert client.get(f"/t/{tenant.slug}/plugins/").status_code == 403
    assert client.post(f"/t/{tenant.slug}/plugins/echo/settings",
                       data=GOOD_SETTINGS).status_code == 403
    assert client.post(f"/t/{tenant.slug}/plugins/echo/enable").status_code == 403


def test_anonymous_is_sent_to_login(client, make_tenant):
    tenant = make_tenant()
    res = client.get(f"/t/{tenant.slug}/plugins/")
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_sms_inbound_endpoint_hands_the_message_to_the_service_desk(app, client,
                                                                     make_tenant):
    tenant = make_tenant()
    desk = InboxDesk()
    configure(app, tenant, "sms", {"gateway_url": "http://127.0.0.1:9/send",
                                   "auth_token": "inbound-token-123"})
    url = f"/t/{tenant.slug}/ext/sms/inbound"
    with registered(app, desk, "desk", core=True):
        assert client.post(url, json={"from": "+8613800000000", "text": "hi"},
                           headers={"Authorization": "Bearer wrong-token"}
                           ).status_code == 401
        assert client.post(url, json={"text": "hi"},
                           headers={"Authorization": "Bearer inbound-token-123"}
                           ).status_code == 400
        res = client.post(url, json={"from": "+8613800000000", "text": "Where is my order?",
                                     "id": "gw-77"},
                          headers={"Authorization": "Bearer inbound-token-123"})
    assert res.status_code == 202 and res.json == {"accepted": True, "ref": "ticket:1"}
    message, slug = desk.received[0]
    assert (message.sender, message.body, message.provider_id, slug) == \
        ("+8613800000000", "Where is my order?", "gw-77", tenant.slug)


def test_plugin_endpoints_are_404_unless_enabled_for_the_tenant(app, client, make_tenant):
    a, b = make_tenant(), make_tenant()
    configure(app, a, "sms", {"gateway_url": "http://127.0.0.1:9/send",
                              "auth_token": "inbound-token-123"})
    body = {"from": "+8613800000000", "text": "hi"}
    headers = {"Authorization": "Bearer inbound-token-123"}
    assert client.post(f"/t/{b.slug}/ext/sms/inbound", json=body,
                       headers=headers).status_code == 404
    assert client.post(f"/t/{a.slug}/ext/sms/nowhere", json=body,
                       headers=headers).status_code == 404
    assert client.get(f"/t/{a.slug}/ext/sms/inbound").status_code == 405
    assert client.post(f"/t/{a.slug}/ext/nope/inbound").status_code == 404


def _customer(app, tenant, email="li.lei@example.com"):
    with app.app_context():
        tenant.bind()
        customer = customer_service.create_customer(
            db.session, tenant.owner_actor(),
            {"kind": "person", "name": "Li Lei", "emails": [email],
             "consent": {"email": {"status": "granted", "source": "shop"}}})
        db.session.commit()
        return customer.id


def test_unsubscribe_link_asks_then_withdraws_consent(app, client, make_tenant):
    tenant = make_tenant()
    customer_id = _customer(app, tenant)
    with app.app_context():
        tenant.bind()
        link = unsubscribe_service.unsubscribe_url(customer_service.bound_tenant(db.session),
                                              customer_id, "email")
    path = link.split("127.0.0.1:5000", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and "Stop receiving" in page.get_data(as_text=True)
    with app.app_context():
        tenant.bind()
        customer = customer_service.get_customer(db.session, customer_id)
        assert customer.consent["email"]["status"] == "granted"
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200
    with app.app_context():
        tenant.bind()
        customer = customer_service.get_customer(db.session, customer_id)
        assert customer.consent["email"]["status"] == "withdrawn"
        assert customer.consent["email"]["source"] == "unsubscribe link"


def test_tampered_or_foreign_unsubscribe_link_is_404(app, client, make_tenant):
    a, b = make_tenant(), make_tenant()
    customer_id = _customer(app, a)
    with app.app_context():
        a.bind()
        link = unsubscribe_service.unsubscribe_url(customer_service.bound_tenant(db.session),
                                              customer_id, "email")
    token = link.rsplit("/", 1)[1]
    assert client.get(f"/t/{a.slug}/unsubscribe/{token}x").status_code == 404
    assert client.post(f"/t/{b.slug}/unsubscribe/{token}").status_code == 404


def test_list_settings_are_edited_one_per_line(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    url = f"/t/{tenant.slug}/plugins/webhooks/settings"
    res = client.post(url, data={
        "endpoints": "https://a.example.com/in customer.*\r\n\r\nhttps://b.example.com/in\r\n",
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    assert res.status_code == 303
    with app.app_context():
        tenant.bind()
        saved = plugin_service.plugin_settings(db.session, "webhooks")
    assert saved["endpoints"] == ["https://a.example.com/in customer.*",
                                  "https://b.example.com/in"]
    html = client.get(url).get_data(as_text=True)
    assert "https://a.example.com/in customer.*\nhttps://b.example.com/in" in html
    bad = client.post(url, data={"endpoints": "ftp://nope", "secret": ""})
    assert bad.status_code == 422
    assert "is not an http(s) URL" in field_errors(bad.get_data(as_text=True), "endpoints")
