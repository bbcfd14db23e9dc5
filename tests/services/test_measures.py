"""Measures are computed by the database, per customer, and match the orders behind them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.base import utcnow
from saas.models.tiers import CustomerMeasure
from saas.services import loyalty, measures, orders
from tests.services.tiers_world import world_fixture

world = world_fixture(None)


def _m(customer) -> CustomerMeasure:
    return db.session.scalars(select(CustomerMeasure).where(
        CustomerMeasure.id == customer.id)).one()


def test_full_refresh_computes_spend_counts_recency_and_intervals(world):
    c = world.customer("Regular")
    world.order(c, "100.00", days_ago=400)
    world.order(c, "50.00", days_ago=100)
    world.order(c, "30.50", days_ago=10)
    world.order(c, "999", days_ago=5, currency="USD")
    world.talk(c, days_ago=5)
    world.talk(c, days_ago=200)
    loyalty.adjust(db.session, world.actor, c.id, 70, "welcome")
    idle = world.customer("Idle")
    assert measures.refresh_all(db.session) == 2
    m = _m(c)
    assert m.spend_12m == Decimal("80.50")
    assert m.spend_total == Decimal("180.50")
    assert m.order_count == 4
    assert m.days_since_last_order == 5
    assert m.avg_order_value == Decimal("60.17")
    assert m.avg_interval_days == pytest.approx(395 / 3, abs=0.01)
    assert m.last_gap_days == pytest.approx(5, abs=0.01)
    assert m.interactions_90d == 1
    assert m.points_balance == loyalty.balance(db.session, c.id) == 70
    z = _m(idle)
    assert (z.order_count, z.spend_12m, z.days_since_last_order, z.avg_interval_days) == \
        (0, 0, None, None)
    assert (z.behaviour, z.lifecycle, z.value_segment) == ("none", "prospect", "low")


def test_refunded_and_cancelled_orders_do_not_count(world):
    c = world.customer()
    kept = world.order(c, "10", days_ago=3)
    refunded = world.order(c, "500", days_ago=2)
    orders.refund_order(db.session, world.actor, refunded.id)
    measures.refresh_all(db.session)
    m = _m(c)
    assert (m.order_count, m.spend_12m) == (1, Decimal("10.00"))
    assert m.last_order_at == kept.placed_at


def test_rfm_quintiles_rank_customers_within_the_tenant(world):
    people = [world.customer(f"C{i}") for i in range(10)]
    for i, c in enumerate(people):
        for k in range(i + 1):
            world.order(c, 10 * (i + 1), days_ago=100 - 9 * i + k * 0.01)
    measures.refresh_all(db.session)
    scores = [(_m(c).r_score, _m(c).f_score, _m(c).m_score) for c in people]
    assert [s[2] for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [s[1] for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [s[0] for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert _m(people[9]).rfm_score == 15
    assert _m(people[9]).value_segment == "high" and _m(people[0]).value_segment == "low"


def test_behaviour_follows_the_customers_own_rhythm(world):
    weekly = world.customer("Weekly")
    for d in (50, 43, 36, 29):
        world.order(weekly, 5, days_ago=d)
    yearly = world.customer("Yearly")
    for d in (750, 385, 20):
        world.order(yearly, 5, days_ago=d)
    back = world.customer("Back")
    for d in (620, 600, 580, 5):
        world.order(back, 5, days_ago=d)
    newbie = world.customer("New")
    world.order(newbie, 5, days_ago=3)
    measures.refresh_all(db.session)
    assert (_m(weekly).behaviour, _m(weekly).lifecycle) == ("churned", "churned")
    assert (_m(yearly).behaviour, _m(yearly).lifecycle) == ("active", "active")
    assert (_m(back).behaviour, _m(back).lifecycle) == ("active", "won_back")
    assert (_m(newbie).behaviour, _m(newbie).lifecycle) == ("active", "new")


def test_incremental_refresh_updates_one_customer_and_keeps_quintiles(world):
    a, b = world.customer("A"), world.customer("B")
    world.order(a, 10, days_ago=30)
    world.order(b, 20, days_ago=30)
    measures.refresh_all(db.session)
    before = _m(a).m_score
    world.order(a, 1000, days_ago=0)
    assert measures.refresh_customers(db.session, [a.id]) == 1
    db.session.expire_all()
    assert _m(a).spend_12m == Decimal("1010.00")
    assert _m(a).order_count == 2 and _m(a).m_score == before
    assert _m(b).spend_12m == Decimal("20.00")


def test_merged_customers_have_no_measures(world):
    c = world.customer()
    c.merged_into_id = world.customer("Survivor").id
    measures.refresh_all(db.session, now=utcnow() + timedelta(days=1))
    assert db.session.scalars(select(CustomerMeasure).where(
        CustomerMeasure.id == c.id)).first() is None
