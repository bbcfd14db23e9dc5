"""The third-party example, installed by pip, is discovered and works for one tenant."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.hooks.manager import get_host
from saas.models.plugins import Delivery
from saas.services import plugins as plugin_service
from tests.conftest import ROOT
from tests.hooks.support import configure, emit_event
from tests.plugins.servers import http_server

EXAMPLE = ROOT / "examples" / "plugin-hello"
VERSION = "0.2.0"


def _installed_version() -> str | None:
    try:
        return metadata.version("saas-hello")
    except metadata.PackageNotFoundError:
        return None


@pytest.fixture(scope="module")
def hello_installed():
    """pip-install the example into this environment (offline, once per version)."""
    if _installed_version() != VERSION:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                        "--no-deps", "--no-build-isolation", str(EXAMPLE)],
                       check=True, timeout=300)
    assert _installed_version() == VERSION


@pytest.fixture
def hello(app, hello_installed):
    host = get_host(app)
    host.load_entrypoints()
    yield host
    host.unregister("hello")


def test_pip_installed_example_is_discovered_through_entry_points(app, make_tenant, hello):
    [info] = [p for p in hello.installed() if p.name == "hello"]
    assert (info.version, info.project) == (VERSION, "saas-hello")
    assert info.hooks == ("on_event", "plugin_settings_schema")
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        assert plugin_service.plugin_status(db.session, "hello").status == "disabled"


def test_example_receives_events_of_the_one_tenant_that_enabled_it(app, make_tenant, hello):
    enabled, other = make_tenant(), make_tenant()
    with http_server() as (url, received):
        configure(app, enabled, "hello", {"greeting": "Ni hao", "echo_url": f"{url}/hello"})
        event_id = emit_event(app, enabled, "customer.created")
        emit_event(app, other, "customer.created")
    assert [r.json() for r in received] == [
        {"id": str(event_id), "text": f"Ni hao, {enabled.slug} Ltd! customer.created happened."}]
    with app.app_context():
        enabled.bind()
        [row] = db.session.scalars(select(Delivery)).all()
        assert (row.plugin, row.status) == ("hello", "succeeded")
        other.bind()
        assert db.session.scalars(select(Delivery)).all() == []
