"""Outbox events reach the enabled plugins of their tenant, isolated, retried, recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.deliveries import retry_due_deliveries, run_delivery
from saas.jobs.outbox import deliver_event
from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.models.plugins import Delivery
from saas.services import plugin_deliveries as deliveries
from saas.services.errors import Conflict, InvalidInput, NotFound
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, emit_event, registered


def sweep(app) -> int:
    with app.app_context():
        return retry_due_deliveries()


def rows(app, tenant) -> list[Delivery]:
    with app.app_context():
        tenant.bind()
        found = list(db.session.scalars(select(Delivery).order_by(Delivery.plugin)))
        db.session.expunge_all()
        db.session.remove()
    return found


@pytest.fixture
def echo(app):
    with registered(app, EchoPlugin(), "echo") as plugin:
        yield plugin


@pytest.fixture
def short_limits(app):
    saved = {k: app.config.get(k) for k in ("PLUGIN_TIMEOUT", "PLUGIN_MAX_ATTEMPTS")}
    app.config.update(PLUGIN_TIMEOUT=0.3, PLUGIN_MAX_ATTEMPTS=3)
    yield
    app.config.update(saved)


def test_event_is_delivered_to_the_enabled_plugin_with_its_id_as_key(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    event_id = emit_event(app, tenant, "customer.tagged")
    assert echo.events == [(str(event_id), "customer.tagged", tenant.slug)]
    assert echo.configs[0]["token"] == GOOD_SETTINGS["token"]
    [row] = rows(app, tenant)
    assert (row.status, row.attempts, row.key, row.event_id) == \
        ("succeeded", 1, str(event_id), event_id)
    assert row.result == {"on_event": {"seen": "customer.tagged", "key": str(event_id)}}


def test_only_tenants_that_enabled_the_plugin_get_deliveries(app, make_tenant, echo):
    a, b = make_tenant(), make_tenant()
    configure(app, a, "echo", GOOD_SETTINGS)
    emit_event(app, b)
    emit_event(app, a)
    assert [slug for _, _, slug in echo.events] == [a.slug]
    assert rows(app, b) == []


def test_outbox_job_run_twice_creates_one_delivery(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    event_id = emit_event(app, tenant)
    with app.app_context():
        tenant.bind()
        db.session.get(OutboxEvent, (tenant.id, event_id)).status = "pending"
        db.session.commit()
    with app.app_context():
        deliver_event(tenant.id, str(event_id))
    assert len(rows(app, tenant)) == 1
    assert len(echo.events) == 1


def test_raising_plugin_fails_without_touching_the_change_or_other_plugins(
        app, make_tenant, echo):
    tenant = make_tenant()
    with registered(app, EchoPlugin(mode="raise"), "broken"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
        configure(app, tenant, "broken", GOOD_SETTINGS)
        event_id = emit_event(app, tenant)
    broken, ok = rows(app, tenant)
    assert (broken.plugin, broken.status, broken.attempts) == ("broken", "failed", 1)
    assert broken.last_error == "RuntimeError: receiver said no"
    assert broken.next_retry_at > utcnow() + timedelta(seconds=20)
    assert ok.status == "succeeded"
    with app.app_context():
        tenant.bind()
        assert db.session.get(OutboxEvent, (tenant.id, event_id)).status == "delivered"


def test_hanging_plugin_is_cut_off_by_the_time_limit(app, make_tenant, short_limits):
    tenant = make_tenant()
    with registered(app, EchoPlugin(mode="hang", hang=2), "slow"):
        configure(app, tenant, "slow", GOOD_SETTINGS)
        started = utcnow()
        emit_event(app, tenant)
        took = (utcnow() - started).total_seconds()
    [row] = rows(app, tenant)
    assert row.status == "failed"
    assert row.last_error == "PluginTimeout: slow did not finish within 0.3 s"
    assert took < 1.5


def test_garbage_result_fails_the_delivery(app, make_tenant):
    tenant = make_tenant()
    with registered(app, EchoPlugin(mode="garbage"), "junk"):
        configure(app, tenant, "junk", GOOD_SETTINGS)
        emit_event(app, tenant)
    [row] = rows(app, tenant)
    assert row.status == "failed"
    assert row.last_error.startswith("Plugin returned an unusable result")


def test_failures_back_off_then_go_dead(app, make_tenant, short_limits):
    tenant = make_tenant()
    plugin = EchoPlugin(mode="raise")
    with registered(app, plugin, "broken"):
        configure(app, tenant, "broken", GOOD_SETTINGS)
        emit_event(app, tenant)
        [first] = rows(app, tenant)
        with time_machine.travel(first.next_retry_at - timedelta(seconds=1)):
            assert sweep(app) == 0
        with time_machine.travel(first.next_retry_at + timedelta(seconds=1)):
            assert sweep(app) == 1
        [second] = rows(app, tenant)
        assert (second.status, second.attempts) == ("failed", 2)
        gap = second.next_retry_at - (first.next_retry_at + timedelta(seconds=1))
        assert timedelta(seconds=55) < gap < timedelta(seconds=65)
        with time_machine.travel(second.next_retry_at + timedelta(seconds=1)):
            assert sweep(app) == 1
    [dead] = rows(app, tenant)
    assert (dead.status, dead.attempts, dead.next_retry_at) == ("dead", 3, None)
    assert dead.last_error == "RuntimeError: receiver said no"
    assert len(plugin.events) == 3


def test_backoff_doubles_and_is_capped():
    assert [deliveries.backoff(n).total_seconds() for n in (1, 2, 3, 8, 20)] == \
        [30, 60, 120, 3600, 3600]


def test_missing_plugin_pauses_deliveries_until_it_is_back(app, make_tenant):
    tenant = make_tenant()
    plugin = EchoPlugin()
    with registered(app, plugin, "echo"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
    emit_event(app, tenant)
    [paused] = rows(app, tenant)
    assert paused.status == "paused"
    assert "not installed" in paused.last_error
    assert sweep(app) == 0
    with registered(app, plugin, "echo"):
        assert sweep(app) == 1
    [done] = rows(app, tenant)
    assert done.status == "succeeded"
    assert len(plugin.events) == 1


def test_disabled_plugin_pauses_queued_deliveries(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        db.session.add(Delivery(plugin="echo", kind="event", key="k1", event_name="x.y",
                                payload={}, status="pending", attempts=0,
                                next_retry_at=utcnow()))
        db.session.commit()
    configure(app, tenant, "echo", enabled=False)
    assert sweep(app) == 1
    [row] = rows(app, tenant)
    assert row.status == "paused"
    assert row.attempts == 0


def test_worker_crash_mid_call_is_retried_after_the_lease(app, make_tenant, echo,
                                                          short_limits):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        db.session.add(Delivery(plugin="echo", kind="event", key="k1", event_name="x.y",
                                payload={}, status="pending", attempts=0,
                                next_retry_at=utcnow()))
        db.session.commit()
        [row] = db.session.scalars(select(Delivery)).all()
        claimed = deliveries.claim(db.session, row.id)
        db.session.commit()  # the worker dies here, after its claim was committed
        assert claimed.attempts == 1
        assert deliveries.claim(db.session, row.id) is None
    with app.app_context():
        assert run_delivery(tenant.id, str(row.id)) == "not-due"
    with app.app_context():
        later = utcnow() + deliveries.lease() + timedelta(seconds=1)
    with time_machine.travel(later):
        assert sweep(app) == 1
    [after] = rows(app, tenant)
    assert (after.status, after.attempts) == ("failed", 2)
    assert after.last_error == "The event no longer exists."


def test_admin_retry_of_a_dead_delivery_runs_it_again(app, make_tenant, short_limits):
    tenant = make_tenant()
    plugin = EchoPlugin(mode="raise")
    with registered(app, plugin, "broken"):
        app.config["PLUGIN_MAX_ATTEMPTS"] = 1
        configure(app, tenant, "broken", GOOD_SETTINGS)
        emit_event(app, tenant)
        [dead] = rows(app, tenant)
        assert dead.status == "dead"
        plugin.mode = "ok"
        with app.app_context():
            tenant.bind()
            deliveries.retry(db.session, tenant.owner_actor(), dead.id)
            db.session.commit()
    [row] = rows(app, tenant)
    assert (row.status, row.attempts) == ("succeeded", 1)


def test_retry_of_a_succeeded_delivery_is_a_conflict(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    emit_event(app, tenant)
    [row] = rows(app, tenant)
    with app.app_context():
        tenant.bind()
        with pytest.raises(Conflict):
            deliveries.retry(db.session, tenant.owner_actor(), row.id)


def test_other_tenants_delivery_is_not_found(app, make_tenant, echo):
    a, b = make_tenant(), make_tenant()
    configure(app, a, "echo", GOOD_SETTINGS)
    emit_event(app, a)
    [row] = rows(app, a)
    with app.app_context():
        b.bind()
        with pytest.raises(NotFound):
            deliveries.get_delivery(db.session, row.id)
        with pytest.raises(NotFound):
            deliveries.retry(db.session, b.owner_actor(), row.id)
        with pytest.raises(NotFound):
            deliveries.get_delivery(db.session, "not-a-uuid")


def test_deliveries_filter_by_status_and_plugin(app, make_tenant, echo):
    tenant = make_tenant()
    with registered(app, EchoPlugin(mode="raise"), "broken"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
        configure(app, tenant, "broken", GOOD_SETTINGS)
        emit_event(app, tenant)
        emit_event(app, tenant)
    with app.app_context():
        tenant.bind()
        failed, more = deliveries.list_deliveries(
            db.session, deliveries.DeliveryFilter(status="failed"))
        assert {d.plugin for d in failed} == {"broken"} and len(failed) == 2
        assert more is False
        page, more = deliveries.list_deliveries(
            db.session, deliveries.DeliveryFilter(plugin="echo"), per_page=1)
        assert len(page) == 1 and more is True
        assert deliveries.counts(db.session) == {"failed": 2, "succeeded": 2}
        with pytest.raises(InvalidInput):
            deliveries.list_deliveries(db.session, deliveries.DeliveryFilter(status="bogus"))


def test_invalid_saved_settings_fail_the_delivery_readably(app, make_tenant, echo):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with app.app_context():
        tenant.bind()
        from saas.services.plugins import get_config

        get_config(db.session, "echo").settings = {"url": "nope"}
        db.session.commit()
    emit_event(app, tenant)
    [row] = rows(app, tenant)
    assert row.status == "failed"
    assert row.last_error.startswith("Settings invalid: url: Not a valid URL.")
