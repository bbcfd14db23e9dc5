"""The delivery log keeps finished deliveries DELIVERY_RETENTION_DAYS after they finished,
then the periodic purge deletes them; unfinished work is never deleted."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, select

from saas.extensions import db
from saas.jobs import delivery_retention
from saas.jobs.delivery_retention import purge_all_tenants, purge_finished
from saas.jobs.schedule import PERIODIC
from saas.models.plugins import Delivery
from saas.services import plugin_deliveries as deliveries
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, emit_event, registered

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=200)
RECENTLY = NOW - timedelta(days=10)


def log(app, tenant) -> Counter:
    """The tenant's delivery log as (plugin, status, finished long ago?) → count."""
    with app.app_context():
        tenant.bind()
        found = Counter(
            (d.plugin, d.status, d.completed_at is not None and d.completed_at < RECENTLY)
            for d in db.session.scalars(select(Delivery)))
        db.session.remove()
    return found


@pytest.fixture
def plugins(app):
    saved = app.config["PLUGIN_MAX_ATTEMPTS"]
    with registered(app, EchoPlugin(), "echo"), \
            registered(app, EchoPlugin(mode="raise"), "broken"):
        yield
    app.config["PLUGIN_MAX_ATTEMPTS"] = saved


def _old_and_new_log(app, tenant) -> None:
    """200 days ago, events one to three: echo succeeds each time; broken is dead after
    one (a single attempt allowed), claimed by a worker that died after two (pending)
    and failed waiting for its retry after three; `gone`, uninstalled, is paused for
    every event. Ten days ago: event four (echo succeeded, broken dead), and the old
    dead delivery retried by an admin, dead again."""
    configure(app, tenant, "echo", GOOD_SETTINGS)
    configure(app, tenant, "broken", GOOD_SETTINGS)
    with registered(app, EchoPlugin(), "gone"):
        configure(app, tenant, "gone", GOOD_SETTINGS)
    with time_machine.travel(LONG_AGO, tick=False):
        app.config["PLUGIN_MAX_ATTEMPTS"] = 1
        emit_event(app, tenant, "one.happened")
        app.config["PLUGIN_MAX_ATTEMPTS"] = 5
        emit_event(app, tenant, "two.happened")
    with time_machine.travel(LONG_AGO + timedelta(hours=1), tick=False), app.app_context():
        tenant.bind()
        failed = db.session.scalars(select(Delivery).where(
            Delivery.plugin == "broken", Delivery.status == "failed")).one()
        assert deliveries.claim(db.session, failed.id) is not None  # then the worker died
        db.session.commit()
        db.session.remove()
    with time_machine.travel(LONG_AGO + timedelta(hours=2), tick=False):
        emit_event(app, tenant, "three.happened")
    with time_machine.travel(RECENTLY, tick=False):
        app.config["PLUGIN_MAX_ATTEMPTS"] = 1
        emit_event(app, tenant, "four.happened")
    with time_machine.travel(RECENTLY, tick=False), app.app_context():
        tenant.bind()
        dead = db.session.scalars(select(Delivery).where(
            Delivery.plugin == "broken", Delivery.status == "dead",
            Delivery.event_name == "one.happened")).one()
        deliveries.retry(db.session, tenant.owner_actor(), dead.id)
        db.session.commit()
        db.session.remove()


def test_only_finished_deliveries_older_than_the_retention_are_deleted(
        app, make_tenant, plugins):
    tenant = make_tenant()
    _old_and_new_log(app, tenant)
    assert log(app, tenant) == Counter({
        ("echo", "succeeded", True): 3,          # events one, two, three
        ("broken", "pending", False): 1,         # two: claimed, worker died
        ("broken", "failed", False): 1,          # three: waiting for its retry
        ("gone", "paused", False): 4,            # never runs while uninstalled
        ("echo", "succeeded", False): 1,         # four, ten days ago
        ("broken", "dead", False): 2,            # four; one (retried ten days ago)
    })
    with time_machine.travel(NOW, tick=False), app.app_context():
        assert purge_all_tenants() == {tenant.slug: 3}
    assert log(app, tenant) == Counter({
        ("broken", "pending", False): 1, ("broken", "failed", False): 1,
        ("gone", "paused", False): 4, ("echo", "succeeded", False): 1,
        ("broken", "dead", False): 2})
    with time_machine.travel(NOW, tick=False), app.app_context():
        assert purge_all_tenants() == {}  # nothing left to do: idempotent


def test_a_dead_delivery_goes_once_it_has_been_dead_for_the_whole_period(
        app, make_tenant, plugins):
    tenant = make_tenant()
    configure(app, tenant, "broken", GOOD_SETTINGS)
    app.config["PLUGIN_MAX_ATTEMPTS"] = 1
    with time_machine.travel(LONG_AGO, tick=False):
        emit_event(app, tenant)
    assert log(app, tenant) == Counter({("broken", "dead", True): 1})
    with time_machine.travel(LONG_AGO + timedelta(days=89), tick=False), app.app_context():
        assert purge_all_tenants() == {}
    with time_machine.travel(LONG_AGO + timedelta(days=90, seconds=1), tick=False), \
            app.app_context():
        assert purge_all_tenants() == {tenant.slug: 1}
    assert log(app, tenant) == Counter()


def test_every_tenant_is_purged_under_its_own_binding(app, make_tenant, plugins):
    a, b, idle = make_tenant(), make_tenant(), make_tenant()
    for tenant, events in ((a, 2), (b, 1)):
        configure(app, tenant, "echo", GOOD_SETTINGS)
        with time_machine.travel(LONG_AGO, tick=False):
            for _ in range(events):
                emit_event(app, tenant)
        emit_event(app, tenant)  # today: kept
    with time_machine.travel(NOW, tick=False), app.app_context():
        assert purge_all_tenants() == {a.slug: 2, b.slug: 1}
    assert log(app, a) == log(app, b) == Counter({("echo", "succeeded", False): 1})
    assert log(app, idle) == Counter()


def test_the_setting_decides_how_long_the_log_is_kept(app, make_tenant, plugins):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with time_machine.travel(LONG_AGO, tick=False):
        emit_event(app, tenant)
    saved = app.config["DELIVERY_RETENTION_DAYS"]
    try:
        for days in (0, 365):  # 0 keeps the log forever
            app.config["DELIVERY_RETENTION_DAYS"] = days
            with time_machine.travel(NOW, tick=False), app.app_context():
                assert purge_all_tenants() == {}
        app.config["DELIVERY_RETENTION_DAYS"] = 199
        with time_machine.travel(NOW, tick=False), app.app_context():
            assert purge_all_tenants() == {tenant.slug: 1}
    finally:
        app.config["DELIVERY_RETENTION_DAYS"] = saved
    assert app.config["DELIVERY_RETENTION_DAYS"] == 90  # the documented default


def test_purge_deletes_in_batches_of_the_given_size(app, make_tenant, plugins):
    tenant = make_tenant()
    configure(app, tenant, "echo", GOOD_SETTINGS)
    with time_machine.travel(LONG_AGO, tick=False):
        for _ in range(5):
            emit_event(app, tenant)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("DELETE FROM PLUGIN_DELIVERIES"):
            statements.append(statement)

    with app.app_context():
        tenant.bind()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert purge_finished(db.session, NOW - timedelta(days=90), batch_size=2) == 5
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        db.session.remove()
    assert len(statements) == 3  # 2 + 2 + 1
    assert log(app, tenant) == Counter()


def test_the_purge_runs_daily_as_a_periodic_job():
    [entry] = [p for p in PERIODIC if p.path.endswith("delivery_retention:purge_all_tenants")]
    assert entry.cron == "40 4 * * *"
    assert delivery_retention.purge_all_tenants.job_spec.tenant is False
