"""`flask plugins list|retry`."""

from __future__ import annotations

from sqlalchemy import select

from saas.extensions import db
from saas.models.plugins import Delivery
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, emit_event, registered


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_list_shows_installed_and_broken_plugins(app, monkeypatch):
    from saas.hooks.manager import get_host

    monkeypatch.setitem(get_host(app).broken, "shaky", "ImportError: gone")
    result = invoke(app, "plugins", "list")
    assert result.exit_code == 0
    assert "webhooks\t" in result.output and "on_event" in result.output
    assert "shaky\tBROKEN\tImportError: gone" in result.output


def test_retry_requeues_a_tenants_dead_deliveries(app, make_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "PLUGIN_MAX_ATTEMPTS", 1)
    tenant, other = make_tenant(), make_tenant()
    plugin = EchoPlugin(mode="raise")
    with registered(app, plugin, "echo"):
        for t in (tenant, other):
            configure(app, t, "echo", GOOD_SETTINGS)
            emit_event(app, t)
        plugin.mode = "ok"
        result = invoke(app, "plugins", "retry", "--tenant", tenant.slug, "--status", "dead")
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "1 deliveries queued again."
    with app.app_context():
        tenant.bind()
        assert db.session.scalars(select(Delivery.status)).one() == "succeeded"
        other.bind()
        assert db.session.scalars(select(Delivery.status)).one() == "dead"


def test_retry_for_an_unknown_tenant_fails(app):
    result = invoke(app, "plugins", "retry", "--tenant", "no-such-tenant")
    assert result.exit_code == 1
    assert "No tenant no-such-tenant." in result.output
