"""One test (at least) per hook: when it fires, with what, and what its result does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import Schema, fields
from sqlalchemy import select

from saas.extensions import db
from saas.hooks.hookspecs import hookimpl
from saas.hooks.types import (
    InboundMessage,
    PluginRoute,
    PulledChanges,
    PulledCustomer,
    PulledInteraction,
)
from saas.jobs.deliveries import pull_for_tenant, pull_plugin_changes
from saas.models.interactions import Interaction
from saas.models.plugins import Delivery, PluginLink
from saas.services import customers as customer_service
from saas.services import plugins as plugin_service
from saas.services.errors import InvalidInput
from tests.hooks.support import InboxDesk, configure, emit_event, registered


class Calls:
    def __init__(self) -> None:
        self.log: list[tuple] = []


def _create_customer(app, tenant, email="li.lei@example.com", name="Li Lei"):
    with app.app_context():
        tenant.bind()
        customer = customer_service.create_customer(
            db.session, tenant.owner_actor(),
            {"kind": "person", "name": name, "emails": [email]})
        db.session.commit()
        return customer.id


def _deliveries(app, tenant):
    with app.app_context():
        tenant.bind()
        rows = db.session.scalars(select(Delivery).order_by(Delivery.created_at)).all()
        db.session.expunge_all()
    return rows


# -- plugin_settings_schema ----------------------------------------------------------


def test_hook_plugin_settings_schema_instance_with_defaults(app, make_tenant):
    class Plugin:
        @hookimpl
        def plugin_settings_schema(self):
            return Schema.from_dict({"colour": fields.String(load_default="red")})()

    tenant = make_tenant()
    with registered(app, Plugin(), "painter"), app.app_context():
        tenant.bind()
        assert dict(plugin_service.plugin_settings(db.session, "painter")) == {"colour": "red"}
        [field] = plugin_service.describe_settings("painter")
        assert (field["name"], field["default"], field["required"]) == ("colour", "red", False)


def test_hook_plugin_settings_schema_returning_garbage_is_reported(app, make_tenant):
    class Plugin:
        @hookimpl
        def plugin_settings_schema(self):
            return {"colour": "red"}

    tenant = make_tenant()
    with registered(app, Plugin(), "sloppy"), app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput, match="not a schema"):
            plugin_service.update_settings(db.session, tenant.owner_actor(), "sloppy", {})


def test_plugin_without_settings_can_be_enabled(app, make_tenant):
    class Plugin:
        @hookimpl
        def on_event(self, event):
            return None

    tenant = make_tenant()
    with registered(app, Plugin(), "bare"):
        configure(app, tenant, "bare")
        with app.app_context():
            tenant.bind()
            assert plugin_service.is_enabled(db.session, "bare")
            assert plugin_service.describe_settings("bare") == []


# -- register_channels ---------------------------------------------------------------


def test_hook_register_channels_ignores_malformed_channels(app, make_tenant):
    class Good:
        name = "fax"

        def send(self, message, config):
            return {"provider_id": 42}

    class Plugin:
        @hookimpl
        def register_channels(self):
            return [Good(), object(), "email"]

    tenant = make_tenant()
    with registered(app, Plugin(), "faxer"):
        with app.app_context():
            assert set(plugin_service.channels_of("faxer")) == {"fax"}
        configure(app, tenant, "faxer")
        with app.app_context():
            tenant.bind()
            assert plugin_service.available_channels(db.session) == ["fax"]
            d = plugin_service.send_via_channel(db.session, tenant.id, "fax",
                                                {"to": "+861012345678", "body": "hi"})
            db.session.commit()
            db.session.refresh(d)
            assert d.status == "succeeded"
            assert d.result == {"send": {"provider_id": "42"}}


def test_plugin_crashing_in_registration_hooks_does_not_break_the_list(app, make_tenant):
    class Crashy:
        @hookimpl
        def register_channels(self):
            raise RuntimeError("bad channels")

        @hookimpl
        def plugin_settings_schema(self):
            raise RuntimeError("bad schema")

    tenant = make_tenant()
    with registered(app, Crashy(), "crashy"), app.app_context():
        tenant.bind()
        status = plugin_service.plugin_status(db.session, "crashy")
        assert (status.status, status.channels) == ("disabled", ())
        with pytest.raises(InvalidInput, match="failed to declare its settings"):
            plugin_service.set_enabled(db.session, tenant.owner_actor(), "crashy", True)


def test_channel_that_raises_is_retried_not_lost(app, make_tenant):
    class Flaky:
        name = "fax"
        calls = 0

        def send(self, message, config):
            Flaky.calls += 1
            raise ConnectionError("line busy")

    class Plugin:
        @hookimpl
        def register_channels(self):
            return [Flaky()]

    tenant = make_tenant()
    with registered(app, Plugin(), "faxer"):
        configure(app, tenant, "faxer")
        with app.app_context():
            tenant.bind()
            d = plugin_service.send_via_channel(db.session, tenant.id, "fax",
                                                {"to": "x", "body": "hi"})
            db.session.commit()
            db.session.refresh(d)
    assert (d.status, d.last_error) == ("failed", "ConnectionError: line busy")
    assert d.next_retry_at is not None


# -- register_routes -----------------------------------------------------------------


class RoutePlugin:
    @hookimpl
    def register_routes(self):
        return [PluginRoute("/items/<int:n>", self.item),
                PluginRoute("/boom", self.boom, methods=("POST",))]

    @staticmethod
    def item(request, tenant, config, n):
        return {"n": n, "tenant": tenant.slug, "q": request.args.get("q")}

    @staticmethod
    def boom(request, tenant, config):
        raise RuntimeError("kaput")


def test_hook_register_routes_serves_enabled_tenants_only(app, client, make_tenant):
    a, b = make_tenant(), make_tenant()
    with registered(app, RoutePlugin(), "router"):
        configure(app, a, "router")
        res = client.get(f"/t/{a.slug}/ext/router/items/7?q=tea")
        assert res.status_code == 200
        assert res.json == {"n": 7, "tenant": a.slug, "q": "tea"}
        assert client.get(f"/t/{b.slug}/ext/router/items/7").status_code == 404
        assert client.get(f"/t/{a.slug}/ext/router/items/x").status_code == 404


def test_failing_plugin_route_is_a_502_not_a_crash(app, client, make_tenant):
    tenant = make_tenant()
    with registered(app, RoutePlugin(), "router"):
        configure(app, tenant, "router")
        res = client.post(f"/t/{tenant.slug}/ext/router/boom")
    assert res.status_code == 502
    assert res.json == {"error": "The plugin failed."}


# -- on_event ------------------------------------------------------------------------


def test_hook_on_event_may_take_only_the_arguments_it_needs(app, make_tenant):
    seen = Calls()

    class Plugin:
        @hookimpl
        def on_event(self, event):
            seen.log.append((event.name, dict(event.payload)))
            return None

    tenant = make_tenant()
    with registered(app, Plugin(), "minimal"):
        configure(app, tenant, "minimal")
        emit_event(app, tenant, "order.placed", {"total": "12.50"})
    assert seen.log == [("order.placed", {"total": "12.50"})]
    [row] = _deliveries(app, tenant)
    assert (row.status, row.result) == ("succeeded", {"on_event": None})


# -- on_customer_event / sync_customer -------------------------------------------------


class CustomerWatcher:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    @hookimpl
    def on_customer_event(self, event, customer, tenant, config):
        self.calls.append(("on_customer_event", event.name, customer.get("name"),
                           customer.get("email")))

    @hookimpl
    def sync_customer(self, event, customer, tenant, config):
        self.calls.append(("sync_customer", event.name, customer["id"]))
        return {"external_id": f"ext-{customer['email']}"}

    @hookimpl
    def on_event(self, event, tenant, config):
        self.calls.append(("on_event", event.name))


def test_hook_on_customer_event_gets_the_current_customer_first(app, make_tenant):
    watcher = CustomerWatcher()
    tenant = make_tenant()
    with registered(app, watcher, "watcher"):
        configure(app, tenant, "watcher")
        customer_id = _create_customer(app, tenant)
    assert watcher.calls[0] == ("on_customer_event", "customer.created", "Li Lei",
                                "li.lei@example.com")
    assert watcher.calls[-1] == ("on_event", "customer.created")
    assert ("sync_customer", "customer.created", str(customer_id)) in watcher.calls


def test_hook_sync_customer_runs_on_create_and_update_only_and_links(app, make_tenant):
    watcher = CustomerWatcher()
    tenant = make_tenant()
    with registered(app, watcher, "watcher"):
        configure(app, tenant, "watcher")
        customer_id = _create_customer(app, tenant)
        with app.app_context():
            tenant.bind()
            customer_service.update_customer(db.session, tenant.owner_actor(), customer_id,
                                             {"industry": "Tea"})
            customer_service.delete_customer(db.session, tenant.owner_actor(), customer_id)
            db.session.commit()
    synced = [c[1] for c in watcher.calls if c[0] == "sync_customer"]
    assert synced == ["customer.created", "customer.updated"]
    with app.app_context():
        tenant.bind()
        link = db.session.scalars(select(PluginLink)).one()
        assert (link.entity_id, link.external_id) == (str(customer_id),
                                                      "ext-li.lei@example.com")


# -- pull_changes ------------------------------------------------------------------------


class Puller:
    def __init__(self, changes) -> None:
        self.changes = changes
        self.since: list = []

    @hookimpl
    def pull_changes(self, since, tenant, config):
        self.since.append(since)
        return self.changes


def test_hook_pull_changes_merges_last_writer_wins(app, make_tenant):
    tenant = make_tenant()
    customer_id = _create_customer(app, tenant, name="Li Lei")
    old = datetime.now(UTC) - timedelta(days=1)
    new = datetime.now(UTC) + timedelta(minutes=1)
    puller = Puller(PulledChanges(
        customers=[
            PulledCustomer("li.lei@example.com", {"name": "Stale Name"}, old, "h-1"),
            PulledCustomer("han.mei@example.com", {"name": "Han Mei", "industry": "Tea"},
                           new, "h-2"),
            PulledCustomer("bad@example.com", {"name": "No zone"}, datetime(2026, 1, 1)),
        ],
        interactions=[
            PulledInteraction("li.lei@example.com", "social", "Asked about oolong", old,
                              "post-1"),
            PulledInteraction("nobody@example.com", "social", "?", old, "post-2"),
        ]))
    with registered(app, puller, "puller"):
        configure(app, tenant, "puller")
        with app.app_context():
            assert pull_plugin_changes() == 1  # jobs run inline: the pull is done
            tenant.bind()
            report = plugin_service.get_config(db.session, "puller").state["last_report"]
            db.session.commit()
            again = pull_for_tenant(tenant.id, "puller")
    assert (report["created"], report["unchanged"], report["interactions"]) == (1, 1, 1)
    assert len(report["rejected"]) == 2
    assert again["interactions"] == 0
    assert puller.since[0] is None and puller.since[-1] is not None
    with app.app_context():
        tenant.bind()
        assert customer_service.get_customer(db.session, customer_id).name == "Li Lei"
        [han] = customer_service.find_by_email(db.session, "han.mei@example.com")
        assert (han.name, han.industry) == ("Han Mei", "Tea")
        [note] = db.session.scalars(select(Interaction)).all()
        assert (note.customer_id, note.summary, note.direction) == \
            (customer_id, "Asked about oolong", "in")
    newer = Puller(PulledChanges(customers=[
        PulledCustomer("li.lei@example.com", {"name": "Li Lei (HubSpot)"}, new, "h-1")]))
    with registered(app, newer, "puller"), app.app_context():
        assert pull_for_tenant(tenant.id, "puller")["updated"] == 1
        tenant.bind()
        assert customer_service.get_customer(db.session, customer_id).name == \
            "Li Lei (HubSpot)"


def test_failing_pull_keeps_the_cursor_and_records_the_error(app, make_tenant):
    class Broken:
        @hookimpl
        def pull_changes(self, since, tenant, config):
            raise ConnectionError("CRM down")

    tenant = make_tenant()
    with registered(app, Broken(), "puller"):
        configure(app, tenant, "puller")
        with app.app_context():
            assert pull_for_tenant(tenant.id, "puller") == {
                "error": "ConnectionError: CRM down"}
            tenant.bind()
            state = plugin_service.get_config(db.session, "puller").state
    assert "pulled_at" not in state and state["last_error"] == "ConnectionError: CRM down"


# -- inbound_message -------------------------------------------------------------------


def test_hook_inbound_message_stops_at_the_first_answer(app, make_tenant, monkeypatch):

    class Declines:
        def __init__(self) -> None:
            self.seen = 0

        @hookimpl(tryfirst=True)
        def inbound_message(self, message, tenant):
            self.seen += 1
            return None

    declines, desk, late = Declines(), InboxDesk(), InboxDesk()
    tenant = make_tenant()
    with registered(app, RoutePlugin(), "router"), \
            registered(app, desk, "desk", core=True), \
            registered(app, late, "late-desk", core=True), \
            registered(app, declines, "declines", core=True):
        configure(app, tenant, "router")
        with app.app_context():
            tenant.bind()
            ref = plugin_service.receive_inbound(
                db.session, "router", InboundMessage(channel="sms", sender="+86138",
                                                     body="hello"))
    assert ref == "ticket:1"
    assert declines.seen == 1
    assert len(desk.received) + len(late.received) == 1
