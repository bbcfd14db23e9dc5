"""Per-tenant enablement and settings of plugins, channels and inbound messages."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from saas.extensions import db
from saas.hooks.types import InboundMessage
from saas.models.plugins import Delivery, PluginConfig
from saas.services import plugins as plugin_service
from saas.services.errors import InvalidInput, NotFound
from tests.hooks.support import (
    GOOD_SETTINGS,
    EchoPlugin,
    InboxDesk,
    configure,
    emit_event,
    registered,
)


@pytest.fixture
def echo(app):
    with registered(app, EchoPlugin(), "echo", version="1.2.3") as plugin:
        yield plugin


def test_installed_plugin_is_listed_but_not_enabled(app, make_tenant, echo):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        status = plugin_service.plugin_status(db.session, "echo")
    assert status.status == "disabled"
    assert status.version == "1.2.3"
    assert "on_event" in status.hooks and "echo" in status.channels
    emit_event(app, tenant)
    assert echo.events == []


def test_enabling_needs_valid_settings_first(app, make_tenant, echo):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.set_enabled(db.session, tenant.owner_actor(), "echo", True)
    assert set(err.value.errors) == {"url", "token"}


def test_invalid_settings_report_every_field_and_save_nothing(app, make_tenant, echo):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.update_settings(db.session, tenant.owner_actor(), "echo",
                                           {"url": "not a url", "retries": 99})
        db.session.rollback()
        assert set(err.value.errors) == {"url", "token", "retries"}
        assert plugin_service.get_config(db.session, "echo") is None


def test_unknown_setting_is_rejected(app, make_tenant, echo):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.update_settings(db.session, tenant.owner_actor(), "echo",
                                           {**GOOD_SETTINGS, "colour": "red"})
    assert err.value.errors == {"colour": ["Unknown setting."]}


def test_settings_get_schema_defaults_and_decrypted_secrets(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        settings = plugin_service.plugin_settings(db.session, "echo")
    assert dict(settings) == {**GOOD_SETTINGS, "greeting": "hello", "retries": 3}
    with pytest.raises(TypeError):
        settings["greeting"] = "changed"  # type: ignore[index]


def test_secrets_are_encrypted_at_rest_and_masked_on_display(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        raw = db.session.execute(text("SELECT settings, secrets FROM plugin_configs")).one()
        shown = plugin_service.settings_for_display(db.session, "echo")
    assert GOOD_SETTINGS["token"] not in str(raw.secrets)
    assert raw.secrets.startswith("gAAAA")
    assert "token" not in (raw.settings if isinstance(raw.settings, dict)
                           else json.loads(raw.settings))
    assert shown["token"] == "••••cret"
    assert shown["url"] == GOOD_SETTINGS["url"]


def test_blank_or_masked_secret_keeps_the_saved_one(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        plugin_service.update_settings(db.session, actor, "echo",
                                       {"url": "https://new.example.com/", "token": ""})
        plugin_service.update_settings(db.session, actor, "echo",
                                       {"url": "https://new.example.com/", "token": "••••cret",
                                        "greeting": "ni hao"})
        db.session.commit()
        settings = plugin_service.plugin_settings(db.session, "echo")
    assert settings["token"] == GOOD_SETTINGS["token"]
    assert settings["greeting"] == "ni hao"


def test_settings_are_per_tenant(app, make_tenant, echo):
    a, b = make_tenant(), make_tenant()
    configure(app, a, "echo", GOOD_SETTINGS)
    with app.app_context():
        b.bind()
        assert plugin_service.get_config(db.session, "echo") is None
        with pytest.raises(InvalidInput):
            plugin_service.plugin_settings(db.session, "echo")


def test_enabling_an_uninstalled_plugin_is_not_found(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(NotFound):
            plugin_service.set_enabled(db.session, tenant.owner_actor(), "nope", True)


def test_plugin_uninstalled_while_enabled_shows_as_missing(app, make_tenant):
    tenant = make_tenant()
    with registered(app, EchoPlugin(), "echo"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        status = plugin_service.plugin_status(db.session, "echo")
        assert status.status == "missing"
        plugin_service.set_enabled(db.session, tenant.owner_actor(), "echo", False)
        db.session.commit()
        assert all(p.name != "echo" for p in plugin_service.list_plugins(db.session))


def test_enable_and_disable_are_audited(app, make_tenant, echo):
    from saas.models import AuditEntry

    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    configure(app, tenant, "echo", enabled=False)
    with app.app_context():
        tenant.bind()
        actions = [e.action for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "plugin")
            .order_by(AuditEntry.created_at))]
        changes = [e.changes for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "plugin.settings_changed"))]
    assert actions == ["plugin.settings_changed", "plugin.enabled", "plugin.disabled"]
    assert changes[0]["token"] == "changed"
    assert GOOD_SETTINGS["token"] not in json.dumps(changes)


def test_send_via_channel_records_and_sends_with_provider_id(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        delivery = plugin_service.send_via_channel(
            db.session, tenant.id, "echo", {"to": "+8613800000000", "body": "Hi"},
            key="campaign-1:customer-9")
        db.session.commit()
        delivery_id = delivery.id
    with app.app_context():
        tenant.bind()
        row = db.session.get(Delivery, (tenant.id, delivery_id))
        assert row.status == "succeeded"
        assert row.result == {"send": {"provider_id": "echo-campaign-1:customer-9"}}
        again = plugin_service.send_via_channel(
            db.session, tenant.id, "echo", {"to": "+8613800000000", "body": "Hi"},
            key="campaign-1:customer-9")
        assert again.id == delivery_id
    assert [m.to for m in echo.sent] == ["+8613800000000"]


def test_send_via_channel_without_an_enabled_provider_is_invalid(app, make_tenant, echo):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.send_via_channel(db.session, tenant.id, "echo",
                                            {"to": "x", "body": "y"})
    assert "channel" in err.value.errors


def test_send_via_channel_needs_recipient_and_body(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.send_via_channel(db.session, tenant.id, "echo", {"to": " "})
    assert set(err.value.errors) == {"to", "body"}


def test_send_via_channel_for_another_tenant_is_not_found(app, make_tenant, echo):
    a, b = make_tenant(), make_tenant()
    configure(app, a, "echo", GOOD_SETTINGS)
    with app.app_context():
        b.bind()
        with pytest.raises(NotFound):
            plugin_service.send_via_channel(db.session, a.id, "echo",
                                            {"to": "x", "body": "y"})


def test_channel_returning_garbage_fails_the_delivery(app, make_tenant):
    tenant = make_tenant()
    with registered(app, EchoPlugin(mode="garbage"), "echo"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
        with app.app_context():
            tenant.bind()
            d = plugin_service.send_via_channel(db.session, tenant.id, "echo",
                                                {"to": "x", "body": "y"})
            db.session.commit()
            db.session.refresh(d)
            assert d.status == "failed"
            assert "provider_id" in d.last_error


def test_inbound_message_reaches_core_components(app, make_tenant, echo):
    desk = InboxDesk()
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with registered(app, desk, "service-desk", core=True), app.app_context():
        tenant.bind()
        ref = plugin_service.receive_inbound(
            db.session, "echo", InboundMessage(channel="echo", sender="+8613900000000",
                                               body="My order is late"))
        db.session.commit()
    assert ref == "ticket:1"
    assert desk.received[0][0].body == "My order is late"
    assert desk.received[0][1] == tenant.slug
    assert [e[1] for e in echo.events] == ["message.received"]


def test_inbound_message_from_a_disabled_plugin_is_refused(app, make_tenant, echo):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(NotFound):
            plugin_service.receive_inbound(db.session, "echo",
                                           InboundMessage(channel="echo", sender="a",
                                                          body="b"))


def test_config_rows_are_invisible_to_other_tenants(app, make_tenant, echo):
    a, b = make_tenant(), make_tenant()
    configure(app, a, "echo", GOOD_SETTINGS)
    with app.app_context():
        b.bind()
        assert db.session.scalars(select(PluginConfig)).all() == []


def test_enabling_beyond_the_plans_plugin_limit_is_refused(app, make_tenant, monkeypatch):
    from saas.services.limits import PlanLimitExceeded

    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")  # 2 plugins
    tenant = make_tenant()
    with registered(app, EchoPlugin(), "echo"), registered(app, EchoPlugin(), "echo2"), \
            registered(app, EchoPlugin(), "echo3"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
        configure(app, tenant, "echo2", GOOD_SETTINGS)
        with app.app_context():
            tenant.bind()
            plugin_service.update_settings(db.session, tenant.owner_actor(), "echo3",
                                           GOOD_SETTINGS)
            with pytest.raises(PlanLimitExceeded) as err:
                plugin_service.set_enabled(db.session, tenant.owner_actor(), "echo3", True)
    assert err.value.status == 402 and "plugins" in err.value.errors


def test_channel_messages_count_against_the_monthly_limit(app, make_tenant, monkeypatch,
                                                          echo):
    from saas.billing import plans
    from saas.services.limits import PlanLimitExceeded

    free = plans.PLANS["free"]
    monkeypatch.setitem(plans.PLANS, "free", plans.Plan(
        "free", "Free", 0, {**free.limits, "messages": 2}))
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        for n in range(2):
            plugin_service.send_via_channel(db.session, tenant.id, "echo",
                                            {"to": "x", "body": "hi"}, key=f"k{n}")
        plugin_service.send_via_channel(db.session, tenant.id, "echo",
                                        {"to": "x", "body": "hi"}, key="k1")  # a repeat
        with pytest.raises(PlanLimitExceeded):
            plugin_service.send_via_channel(db.session, tenant.id, "echo",
                                            {"to": "x", "body": "hi"}, key="k3")


def test_plugin_that_failed_to_load_is_listed_as_broken(app, make_tenant, monkeypatch):
    from saas.hooks.manager import get_host

    monkeypatch.setitem(get_host(app).broken, "shaky", "ImportError: no module named x")
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        status = plugin_service.plugin_status(db.session, "shaky")
    assert (status.status, status.error) == ("broken", "ImportError: no module named x")
