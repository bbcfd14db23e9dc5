"""The plugin manager: entry-point discovery, broken plugins, tracing, registration."""

from __future__ import annotations

import logging
import time
from importlib import metadata
from types import SimpleNamespace

import pytest

from saas.hooks import manager
from saas.hooks.manager import PluginHost, PluginTimeout, get_host, run_with_timeout
from tests.hooks.support import EchoPlugin, registered


def test_builtins_are_discovered_through_the_entry_point_group(app):
    host = get_host(app)
    builtins = {"email", "sms", "webhooks", "crm_sync", "forum"}
    assert builtins <= {ep.name for ep in metadata.entry_points(group="saas.plugins")}
    assert builtins <= set(host.names())
    assert host.broken == {}


def test_each_app_gets_its_own_manager_built_in_create_app(app):
    fresh = PluginHost()
    assert fresh.names() == []
    fresh.load_entrypoints()
    assert {"email", "sms", "webhooks", "crm_sync", "forum"} <= set(fresh.names())
    assert fresh is not get_host(app)
    assert not hasattr(manager, "pm")


def test_a_plugin_that_fails_to_import_is_listed_as_broken(monkeypatch):
    bad = metadata.EntryPoint(name="bad", value="no_such_module_xyz:plugin",
                              group="saas.plugins")
    monkeypatch.setattr(manager.metadata, "entry_points", lambda group: [bad])
    host = PluginHost()
    assert host.load_entrypoints() == 0
    assert host.broken["bad"].startswith("ModuleNotFoundError")
    assert host.names() == []


def test_unregistered_plugin_is_gone(app):
    host = get_host(app)
    with registered(app, EchoPlugin(), "echo"):
        assert "echo" in host.names()
        assert host.implements("echo", "on_event")
    assert "echo" not in host.names()
    assert host.call("echo", "on_event", event=None, tenant=None, config={}) is None


def _traced_lines(host: PluginHost, caplog) -> list[str]:
    plugin = EchoPlugin(mode="raise")
    host.register(plugin, "echo")
    with caplog.at_level(logging.INFO, logger="saas.plugins.trace"), \
            pytest.raises(RuntimeError):
        host.call("echo", "on_event", event=SimpleNamespace(id=1, name="order.placed"),
                  tenant=SimpleNamespace(slug="acme"), config={})
    return [r.getMessage() for r in caplog.records if r.name == "saas.plugins.trace"]


def test_trace_switch_logs_every_hook_call(db_urls, caplog):
    from saas import create_app
    from tests.conftest import make_config

    traced = create_app(make_config(db_urls, SAAS_TRACE_PLUGINS=True))
    lines = _traced_lines(get_host(traced), caplog)
    assert any(line.startswith("hook on_event -> ['echo']") for line in lines)
    assert any("raised RuntimeError: receiver said no" in line for line in lines)


def test_trace_is_off_unless_configured(caplog):
    assert _traced_lines(PluginHost(trace=False), caplog) == []


def test_run_with_timeout_returns_raises_and_times_out():
    assert run_with_timeout(lambda: 42, 1, "x") == 42
    with pytest.raises(ZeroDivisionError):
        run_with_timeout(lambda: 1 / 0, 1, "x")
    with pytest.raises(PluginTimeout, match="x did not finish within 0.05 s"):
        run_with_timeout(lambda: time.sleep(1), 0.05, "x")
