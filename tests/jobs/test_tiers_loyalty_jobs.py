"""Jobs of issue 6: nightly measures + tier refresh, incremental refresh and points on
order placed/refunded through the outbox dispatcher, nightly expiry — inline and with a
real RQ worker on Redis — and their periodic schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.queue import enqueue
from saas.jobs.schedule import PERIODIC
from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.models.loyalty import PointsEntry
from saas.services import loyalty, measures, orders, tiers
from saas.services.context import Actor
from tests.services.tiers_world import World


@pytest.fixture
def tenant(make_tenant):
    return make_tenant(template="retail")


def _snapshot(app, tenant, customer_id) -> dict:
    """What the jobs should have changed, read in a fresh session."""
    with app.app_context():
        tenant.bind()
        m = measures.get_measures(db.session, customer_id)
        found = tiers.customer_tier(db.session, customer_id)
        out = {"order_count": m.order_count if m else None,
               "spend_12m": m.spend_12m if m else None,
               "tier": found[1].name if found else None,
               "balance": loyalty.balance(db.session, customer_id),
               "kinds": sorted(e.kind for e in db.session.scalars(select(PointsEntry).where(
                   PointsEntry.customer_id == customer_id)))}
        db.session.remove()
    return out


def _customer_with_order(app, tenant, amount=3000):
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        c = w.customer("Buyer")
        db.session.commit()
        order = w.order(c, amount, days_ago=1)
        db.session.commit()  # the outbox event is delivered after this commit
        ids = (c.id, order.id)
        db.session.remove()
    return ids


def test_periodic_schedule_has_the_nightly_measures_and_loyalty_runs():
    entries = {p.name: p for p in PERIODIC}
    assert entries["measures-nightly"].path == "saas.jobs.measures:refresh_all_tenants"
    assert entries["loyalty-nightly"].path == "saas.jobs.loyalty:nightly_all"
    assert entries["measures-nightly"].cron and entries["loyalty-nightly"].cron


def test_order_placed_earns_points_and_refreshes_measures_via_the_outbox(app, tenant):
    customer_id, _order_id = _customer_with_order(app, tenant, amount=3000)
    seen = _snapshot(app, tenant, customer_id)
    assert seen["order_count"] == 1 and seen["spend_12m"] == 3000
    assert seen["kinds"] == ["bonus", "earn"] or seen["kinds"] == ["earn"]
    assert seen["balance"] > 0
    with app.app_context():
        tenant.bind()
        statuses = set(db.session.scalars(select(OutboxEvent.status).where(
            OutboxEvent.name == "order.placed")))
        db.session.remove()
    assert statuses == {"delivered"}


def test_order_refunded_reverses_points_and_refreshes_measures(app, tenant):
    customer_id, order_id = _customer_with_order(app, tenant, amount=500)
    earned = _snapshot(app, tenant, customer_id)
    with app.app_context():
        tenant.bind()
        orders.refund_order(db.session, tenant.owner_actor(), order_id, "broken")
        db.session.commit()
        db.session.remove()
    seen = _snapshot(app, tenant, customer_id)
    assert seen["order_count"] == 0 and seen["spend_12m"] == 0
    assert "reverse" in seen["kinds"]
    assert seen["balance"] < earned["balance"]


def test_nightly_refresh_recomputes_every_tenant_and_reapplies_applied_tiers(app, tenant):
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        c = w.customer("Grows")
        measures.refresh_all(db.session)
        tiers.apply(db.session, w.actor)  # rules v1: C for a customer without orders
        db.session.commit()
        assert tiers.customer_tier(db.session, c.id)[1].name == "C"
        # a large order whose event is lost, so only the nightly run can see it
        w.order(c, 20000, days_ago=2)
        db.session.execute(OutboxEvent.__table__.delete())
        db.session.commit()
        cid = c.id
        db.session.remove()
    assert _snapshot(app, tenant, cid)["order_count"] == 0
    with app.app_context():
        assert enqueue("saas.jobs.measures:refresh_all_tenants") >= 1
    seen = _snapshot(app, tenant, cid)
    assert seen["order_count"] == 1 and seen["tier"] == "A"


def test_nightly_loyalty_expires_points_oldest_first(app, tenant):
    with app.app_context():
        tenant.bind()
        c = World(tenant).customer("Saver")
        system = Actor.system("test")
        loyalty.post(db.session, system, c.id, "earn", 100, reason="old",
                     expires_at=utcnow() - timedelta(days=1))
        loyalty.post(db.session, system, c.id, "earn", 40, reason="new",
                     expires_at=utcnow() + timedelta(days=300))
        loyalty.post(db.session, system, c.id, "redeem", -30, reason="spent")
        db.session.commit()
        cid = c.id
        db.session.remove()
    with app.app_context():
        assert enqueue("saas.jobs.loyalty:nightly_all") >= 1
    seen = _snapshot(app, tenant, cid)
    assert seen["balance"] == 40  # 100 old - 30 spent (oldest first) = 70 expired
    with app.app_context():
        enqueue("saas.jobs.loyalty:nightly_all")  # idempotent: nothing more is due
    assert _snapshot(app, tenant, cid)["balance"] == 40


def test_nightly_refresh_ends_an_expired_override_and_says_why(app, tenant):
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        c = w.customer("Pinned")
        measures.refresh_all(db.session)
        tiers.apply(db.session, w.actor)
        top = tiers.list_tiers(db.session)[0]
        until = utcnow() + timedelta(days=30)
        tiers.override(db.session, w.actor, c.id, top.id, until)
        db.session.commit()
        cid = c.id
        db.session.remove()
    with app.app_context():
        enqueue("saas.jobs.measures:refresh_all_tenants")
    assert _snapshot(app, tenant, cid)["tier"] == "A"  # still in force
    with time_machine.travel(until + timedelta(hours=1), tick=False), app.app_context():
        enqueue("saas.jobs.measures:refresh_all_tenants")
    assert _snapshot(app, tenant, cid)["tier"] == "C"
    with app.app_context():
        tenant.bind()
        last = tiers.history(db.session, cid)[0]
        assert (last.from_tier, last.to_tier, last.reason, last.rule_version) == \
            ("A", "C", "override_expired", 1)
        db.session.remove()


def test_nightly_loyalty_sends_one_pre_expiry_notice(app, tenant):
    with app.app_context():
        tenant.bind()
        c = World(tenant).customer("Saver")
        loyalty.post(db.session, Actor.system("test"), c.id, "earn", 120, reason="soon",
                     expires_at=utcnow() + timedelta(days=10))
        db.session.commit()
        cid = c.id
        db.session.remove()
    with app.app_context():
        enqueue("saas.jobs.loyalty:nightly_all")
        enqueue("saas.jobs.loyalty:nightly_all")
        tenant.bind()
        notices = list(db.session.scalars(select(OutboxEvent).where(
            OutboxEvent.name == "points.expiring")))
        assert [(n.entity_id, n.payload["points"]) for n in notices] == [(str(cid), 120)]
        db.session.remove()
    assert _snapshot(app, tenant, cid)["balance"] == 120  # warned, not yet expired


@pytest.mark.redis
def test_real_worker_delivers_order_event_and_runs_the_loyalty_job(
        app, tenant, use_redis, redis_url, run_worker):
    use_redis(redis_url)
    customer_id, _order_id = _customer_with_order(app, tenant, amount=800)
    before = _snapshot(app, tenant, customer_id)
    assert before["kinds"] == [] and before["order_count"] is None  # queued, not run

    run_worker()

    seen = _snapshot(app, tenant, customer_id)
    assert "earn" in seen["kinds"] and seen["balance"] > 0
    assert seen["order_count"] == 1 and seen["spend_12m"] == 800
