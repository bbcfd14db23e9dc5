"""The email plugin against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from plugins import email as email_plugin
from saas.extensions import db
from saas.hooks.types import OutboundMessage
from saas.jobs.deliveries import retry_due_deliveries
from saas.models.plugins import Delivery
from saas.services import plugins as plugin_service
from saas.services.errors import InvalidInput
from tests.hooks.support import configure
from tests.plugins.servers import free_port, self_signed, smtp_server

USERS = {"mailer": "s3cret-pass-word"}


def settings(port: int, **over) -> dict:
    return {"host": "127.0.0.1", "port": port, "security": "none",
            "from_address": "care@shop.example.com", "from_name": "Shop Care", **over}


def send(app, tenant, key: str | None = None, **message) -> Delivery:
    with app.app_context():
        tenant.bind()
        d = plugin_service.send_via_channel(db.session, tenant.id, "email",
                                            {"to": "li.lei@example.com", "body": "Hello",
                                             "subject": "Hi", **message}, key=key)
        db.session.commit()
        db.session.refresh(d)
        db.session.expunge(d)
        db.session.remove()
    return d


def test_plain_smtp_with_login_delivers_with_stable_message_id(app, make_tenant):
    tenant = make_tenant()
    with smtp_server("none", users=USERS) as (port, box):
        configure(app, tenant, "email", settings(port, username="mailer",
                                                 password=USERS["mailer"]))
        d = send(app, tenant, key="camp-7:cust-1")
    assert d.status == "succeeded", d.last_error
    [msg] = box.messages
    assert box.logins == ["mailer"]
    assert box.envelopes == [("care@shop.example.com", ["li.lei@example.com"])]
    assert msg["Subject"] == "Hi"
    assert msg["From"] == "Shop Care <care@shop.example.com>"
    assert msg["Message-ID"] == "<camp-7-cust-1@shop.example.com>"
    assert d.result == {"send": {"provider_id": "<camp-7-cust-1@shop.example.com>",
                                 "to": "li.lei@example.com"}}


def test_starttls_verifies_the_server_against_the_given_ca(app, make_tenant, tmp_path):
    cert = self_signed(tmp_path)
    tenant = make_tenant()
    with smtp_server("starttls", cert=cert, users=USERS) as (port, box):
        configure(app, tenant, "email", settings(
            port, security="starttls", username="mailer", password=USERS["mailer"],
            ca_pem=cert.cert_pem))
        d = send(app, tenant)
    assert d.status == "succeeded", d.last_error
    assert box.logins == ["mailer"] and len(box.messages) == 1


def test_starttls_refuses_an_untrusted_certificate(app, make_tenant, tmp_path):
    cert = self_signed(tmp_path)
    tenant = make_tenant()
    with smtp_server("starttls", cert=cert) as (port, box):
        configure(app, tenant, "email", settings(port, security="starttls"))
        d = send(app, tenant)
    assert d.status == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in d.last_error
    assert box.messages == []


def test_implicit_ssl_delivers(app, make_tenant, tmp_path):
    cert = self_signed(tmp_path)
    tenant = make_tenant()
    with smtp_server("ssl", cert=cert) as (port, box):
        configure(app, tenant, "email", settings(port, security="ssl", ca_pem=cert.cert_pem))
        d = send(app, tenant)
    assert d.status == "succeeded", d.last_error
    assert len(box.messages) == 1


def test_wrong_password_fails_readably(app, make_tenant):
    tenant = make_tenant()
    with smtp_server("none", users=USERS) as (port, box):
        configure(app, tenant, "email", settings(port, username="mailer",
                                                 password="not-the-password"))
        d = send(app, tenant)
    assert d.status == "failed"
    assert d.last_error.startswith("SMTPAuthenticationError")
    assert box.messages == []


def test_templates_render_message_fields_and_context(app, make_tenant):
    tenant = make_tenant()
    with smtp_server("none") as (port, box):
        configure(app, tenant, "email", settings(
            port, subject_template="[{{ shop }}] {{ subject }}",
            body_template="Dear {{ name }},\n{{ body }}\nMissing: '{{ nothing }}'"))
        d = send(app, tenant, context={"shop": "Tea House", "name": "Li Lei"})
    assert d.status == "succeeded", d.last_error
    [msg] = box.messages
    assert msg["Subject"] == "[Tea House] Hi"
    body = msg.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert body == "Dear Li Lei,\nHello\nMissing: ''\n"


def test_template_cannot_reach_python_internals():
    config = email_plugin.EmailSettings().load({
        "host": "h", "from_address": "a@b.example.com",
        "body_template": "{{ body.__class__.__mro__ }}"})
    message = OutboundMessage(id="m1", to="x@example.com", body="hi")
    with pytest.raises(Exception, match="unsafe|not safely|access"):
        email_plugin.compose(message, config)


def test_broken_template_is_a_settings_error(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.update_settings(db.session, tenant.owner_actor(), "email",
                                           settings(0, body_template="{% if x %}oops",
                                                    security="tls"))
    assert set(err.value.errors) == {"body_template", "security", "port"}
    assert err.value.errors["body_template"][0].startswith("Template error on line 1")


def test_missing_host_and_from_address_are_field_errors(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.update_settings(db.session, tenant.owner_actor(), "email",
                                           {"from_address": "not-an-email"})
    assert set(err.value.errors) == {"host", "from_address"}


def test_smtp_down_retries_then_goes_dead_with_a_readable_error(app, make_tenant):
    tenant = make_tenant()
    port = free_port()
    saved = app.config.get("PLUGIN_MAX_ATTEMPTS")
    app.config["PLUGIN_MAX_ATTEMPTS"] = 3
    try:
        configure(app, tenant, "email", settings(port, timeout=2))
        first = send(app, tenant)
        assert (first.status, first.attempts) == ("failed", 1)
        assert first.last_error == (f"ConnectionError: SMTP server 127.0.0.1:{port} "
                                    "unreachable: Connection refused")
        when = first.next_retry_at
        for attempt in (2, 3):
            with time_machine.travel(when + timedelta(seconds=1)), app.app_context():
                assert retry_due_deliveries() == 1
                tenant.bind()
                row = db.session.scalars(select(Delivery)).one()
                when = row.next_retry_at
                assert row.attempts == attempt
    finally:
        app.config["PLUGIN_MAX_ATTEMPTS"] = saved
    assert row.status == "dead"
    assert row.next_retry_at is None
    assert "unreachable: Connection refused" in row.last_error


def test_smtp_back_up_delivers_on_retry(app, make_tenant):
    tenant = make_tenant()
    port = free_port()
    configure(app, tenant, "email", settings(port, timeout=2))
    first = send(app, tenant)
    assert first.status == "failed"
    with smtp_server("none") as (real_port, box):
        configure(app, tenant, "email", settings(real_port))
        with time_machine.travel(first.next_retry_at + timedelta(seconds=1)), \
                app.app_context():
            assert retry_due_deliveries() == 1
    assert len(box.messages) == 1


def test_customer_mail_carries_an_unsubscribe_link_that_is_honoured(app, client,
                                                                      make_tenant):
    from saas.services import customers as customer_service
    from saas.services.plugins import ConsentWithdrawn

    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        customer_id = customer_service.create_customer(
            db.session, tenant.owner_actor(),
            {"kind": "person", "name": "Li Lei", "emails": ["li.lei@example.com"],
             "consent": {"email": {"status": "granted", "source": "shop"}}}).id
        db.session.commit()
    with smtp_server("none") as (port, box):
        configure(app, tenant, "email", settings(
            port, body_template="{{ body }}\nStop: {{ unsubscribe_url }}"))
        d = send(app, tenant, customer_id=str(customer_id))
    assert d.status == "succeeded", d.last_error
    [msg] = box.messages
    link = msg["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"http://127.0.0.1:5000/t/{tenant.slug}/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Stop: {link}" in msg.get_payload(decode=True).decode()
    assert client.post(link.removeprefix("http://127.0.0.1:5000")).status_code == 200
    with app.app_context():
        tenant.bind()
        with pytest.raises(ConsentWithdrawn):
            plugin_service.send_via_channel(db.session, tenant.id, "email",
                                            {"to": "li.lei@example.com", "body": "Sale",
                                             "customer_id": str(customer_id)})
        assert db.session.scalars(select(Delivery)).all()[0].status == "succeeded"


def test_unsubscribe_link_is_appended_when_the_template_omits_it():
    config = email_plugin.EmailSettings().load({"host": "h",
                                                "from_address": "a@shop.example.com"})
    msg = email_plugin.compose(OutboundMessage(
        id="m1", to="x@example.com", body="Sale", context={
            "unsubscribe_url": "https://crm.example.com/t/s/unsubscribe/tok"}), config)
    assert msg.get_content().endswith(
        "Unsubscribe / 退订: https://crm.example.com/t/s/unsubscribe/tok\n")
