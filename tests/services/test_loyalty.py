"""Loyalty: earning from orders through the outbox, the ledger's invariants, rewards,
coupons, expiry and membership levels."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.models.loyalty import Coupon, PointsBalance, PointsEntry, Redemption, Reward
from saas.services import loyalty, orders, tiers
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.tenancy import bind_tenant
from tests.services.tiers_world import World, world_fixture

world = world_fixture()


def _entries(customer_id):
    return list(db.session.scalars(select(PointsEntry).where(
        PointsEntry.customer_id == customer_id).order_by(PointsEntry.created_at)))


def _assert_ledger_consistent(customer_id):
    total = db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
        PointsEntry.customer_id == customer_id))
    assert loyalty.balance(db.session, customer_id) == total >= 0


def _gift(world, cost=100, stock=None, kind="gift", **extra):
    return loyalty.create_reward(db.session, world.actor, {
        "name": f"{kind}-{cost}-{stock}", "kind": kind, "points_cost": cost, "stock": stock,
        **extra})


def test_placing_an_order_earns_points_and_the_first_order_bonus(world):
    c = world.customer()
    world.order(c, "250.90")
    db.session.commit()
    kinds = [(e.kind, e.points) for e in _entries(c.id)]
    assert kinds == [("earn", 250), ("bonus", 100)]
    assert loyalty.balance(db.session, c.id) == 350
    world.order(c, "10")
    db.session.commit()
    assert [e.kind for e in _entries(c.id)] == ["earn", "bonus", "earn"]
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.name == "points.earned")) == 3
    _assert_ledger_consistent(c.id)


def test_tier_multiplier_and_per_order_cap_apply(world):
    from saas.services import measures

    c = world.customer()
    world.order(c, "20000")
    db.session.commit()
    measures.refresh_all(db.session)
    tiers.apply(db.session, world.actor)
    loyalty.update_program(db.session, world.actor, {"cap_per_order": 5000})
    order = world.order(c, "1000")
    db.session.commit()
    earned = [e.points for e in _entries(c.id) if e.source_id == str(order.id)]
    assert earned == [2000]  # tier A doubles points
    big = world.order(c, "9000")
    db.session.commit()
    assert [e.points for e in _entries(c.id) if e.source_id == str(big.id)] == [5000]


def test_refund_reverses_earned_points_but_never_below_zero(world):
    c = world.customer()
    first = world.order(c, "100")
    db.session.commit()
    orders.refund_order(db.session, world.actor, first.id)
    db.session.commit()
    assert [(e.kind, e.points) for e in _entries(c.id)] == [
        ("earn", 100), ("bonus", 100), ("reverse", -100)]
    second = world.order(c, "300")
    db.session.commit()
    loyalty.adjust(db.session, world.actor, c.id, -350, "spent at the counter")
    db.session.commit()
    orders.refund_order(db.session, world.actor, second.id)
    db.session.commit()
    reverse = _entries(c.id)[-1]
    assert (reverse.kind, reverse.points) == ("reverse", -50)
    assert "250 points already spent" in reverse.reason
    _assert_ledger_consistent(c.id)


def test_redeeming_more_than_the_balance_writes_nothing(world):
    c = world.customer()
    loyalty.adjust(db.session, world.actor, c.id, 50, "welcome")
    gift = _gift(world, cost=100, stock=3)
    with pytest.raises(InvalidInput) as err:
        loyalty.redeem(db.session, world.actor, c.id, gift.id)
    assert "Not enough points" in err.value.errors["points"][0]
    db.session.commit()  # even a caller that carries on commits nothing partial
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert db.session.scalar(select(Reward.stock).where(Reward.id == gift.id)) == 3
    assert [e.kind for e in _entries(c.id)] == ["adjust"]


def test_redeeming_a_coupon_reward_issues_a_code_that_works_once(world):
    c = world.customer()
    loyalty.adjust(db.session, world.actor, c.id, 500, "welcome")
    coupon_reward = _gift(world, cost=200, kind="coupon", valid_days=30)
    redemption = loyalty.redeem(db.session, world.actor, c.id, coupon_reward.id)
    assert redemption.coupon_code and len(redemption.coupon_code) == 10
    assert loyalty.balance(db.session, c.id) == 300
    used = loyalty.use_coupon(db.session, world.actor, redemption.coupon_code.lower(), "POS")
    assert used.used_at is not None
    with pytest.raises(Conflict):
        loyalty.use_coupon(db.session, world.actor, redemption.coupon_code)


def test_expired_and_unknown_coupons_are_rejected(world):
    c = world.customer()
    loyalty.adjust(db.session, world.actor, c.id, 500, "welcome")
    reward = _gift(world, cost=100, kind="discount", discount_percent=10, valid_days=1)
    code = loyalty.redeem(db.session, world.actor, c.id, reward.id).coupon_code
    coupon = db.session.scalars(select(Coupon).where(Coupon.code == code)).one()
    coupon.expires_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    with pytest.raises(InvalidInput) as err:
        loyalty.use_coupon(db.session, world.actor, code)
    assert "expired" in err.value.errors["code"][0]
    with pytest.raises(InvalidInput):
        loyalty.use_coupon(db.session, world.actor, "NOSUCHCODE")


def test_out_of_stock_and_inactive_rewards_cannot_be_redeemed(world):
    c = world.customer()
    loyalty.adjust(db.session, world.actor, c.id, 1000, "welcome")
    gift = _gift(world, cost=10, stock=1)
    loyalty.redeem(db.session, world.actor, c.id, gift.id)
    with pytest.raises(InvalidInput) as err:
        loyalty.redeem(db.session, world.actor, c.id, gift.id)
    assert "out of stock" in err.value.errors["reward_id"][0]
    assert loyalty.balance(db.session, c.id) == 990
    loyalty.update_reward(db.session, world.actor, gift.id, {"active": False, "stock": 5})
    with pytest.raises(InvalidInput):
        loyalty.redeem(db.session, world.actor, c.id, gift.id)


@pytest.mark.parametrize("data,field", [
    ({"name": "", "kind": "gift", "points_cost": 1}, "name"),
    ({"name": "X", "kind": "car", "points_cost": 1}, "kind"),
    ({"name": "X", "kind": "gift", "points_cost": 0}, "points_cost"),
    ({"name": "X", "kind": "gift", "points_cost": "lots"}, "points_cost"),
    ({"name": "X", "kind": "discount", "points_cost": 5}, "discount_percent"),
    ({"name": "X", "kind": "gift", "points_cost": 5, "colour": 1}, "colour"),
])
def test_bad_reward_input_names_the_field(world, data, field):
    with pytest.raises(InvalidInput) as err:
        loyalty.create_reward(db.session, world.actor, data)
    assert field in err.value.errors


@pytest.mark.parametrize("points,reason,field", [
    (0, "x", "points"), ("ten", "x", "points"), (5, "", "reason"), (True, "x", "points")])
def test_bad_adjustments_are_rejected(world, points, reason, field):
    c = world.customer()
    with pytest.raises(InvalidInput) as err:
        loyalty.adjust(db.session, world.actor, c.id, points, reason)
    assert field in err.value.errors


def test_points_expire_oldest_first_and_customers_are_warned(world):
    c = world.customer()
    loyalty.update_program(db.session, world.actor, {"expiry_months": 12, "notice_days": 30})
    old = loyalty.adjust(db.session, world.actor, c.id, 100, "old")
    with time_machine.travel(utcnow() + timedelta(days=60), tick=False):
        loyalty.adjust(db.session, world.actor, c.id, 50, "new")
        loyalty.adjust(db.session, world.actor, c.id, -30, "spent")
    later = old.expires_at - timedelta(days=10)
    with time_machine.travel(later, tick=False):
        assert loyalty.expire_due(db.session) == 0
        assert loyalty.notify_expiring(db.session) == 1
        assert loyalty.notify_expiring(db.session) == 0  # once per window
    event = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "points.expiring")).one()
    assert event.payload["points"] == 70
    after = old.expires_at + timedelta(minutes=1)
    assert loyalty.expire_due(db.session, after) == 70
    assert loyalty.balance(db.session, c.id) == 50
    assert loyalty.expire_due(db.session, after) == 0
    _assert_ledger_consistent(c.id)


def test_bonus_events_are_paid_once_per_reference(world):
    c = world.customer()
    first = loyalty.award_bonus(db.session, world.actor, c.id, "survey_answered", "ans-1")
    again = loyalty.award_bonus(db.session, world.actor, c.id, "survey_answered", "ans-1")
    assert first.id == again.id and loyalty.balance(db.session, c.id) == 20
    with pytest.raises(InvalidInput):
        loyalty.award_bonus(db.session, world.actor, c.id, "lottery", "x")


def test_birthday_bonus_once_a_year(world):
    today = utcnow()
    c = world.customer(birthday=today.date().replace(year=1990).isoformat())
    world.customer("Other", birthday="1990-01-01" if today.month != 1 else "1990-06-01")
    assert loyalty.award_birthdays(db.session, today) == 1
    loyalty.award_birthdays(db.session, today)
    assert loyalty.balance(db.session, c.id) == 200


def test_membership_level_by_points_earned(world):
    c = world.customer()
    loyalty.create_level(db.session, world.actor, {"name": "Silver", "basis": "points",
                                                   "threshold": 100, "benefits": "Tea"})
    loyalty.create_level(db.session, world.actor, {"name": "Gold", "basis": "points",
                                                   "threshold": 1000})
    world.order(c, "500")
    db.session.commit()
    assert loyalty.membership(db.session, c.id).level.name == "Silver"
    with pytest.raises(InvalidInput) as err:
        loyalty.create_level(db.session, world.actor, {"name": "X", "basis": "vibes",
                                                       "threshold": -1})
    assert {"basis", "threshold"} <= set(err.value.errors)


def test_contribution_rewards_once_per_threshold(world):
    from saas.services import measures

    c = world.customer()
    world.order(c, "600")
    db.session.commit()
    loyalty.update_program(db.session, world.actor, {"contribution_rules": [
        {"measure": "spend_12m", "threshold": 500, "points": 77}]})
    measures.refresh_all(db.session)
    assert loyalty.award_contributions(db.session) == 1
    assert loyalty.award_contributions(db.session) == 0
    assert _entries(c.id)[-1].points == 77


def test_another_tenants_customer_is_not_found(world, make_tenant, app):
    db.session.commit()
    other = make_tenant()
    with app.app_context():
        other.bind()
        foreign = World(other).customer("Foreign")
        db.session.commit()
        foreign_id = foreign.id
    world.tenant.bind()
    with pytest.raises(NotFound):
        loyalty.adjust(db.session, world.actor, foreign_id, 10, "x")


@pytest.mark.postgres
def test_concurrent_redemptions_never_overdraw(world, app):
    c = world.customer()
    loyalty.adjust(db.session, world.actor, c.id, 50, "start")
    gift = _gift(world, cost=10)
    db.session.commit()
    tenant_id, customer_id, reward_id = world.tenant.id, c.id, gift.id
    actor = world.actor
    results: list[str] = []
    barrier = threading.Barrier(7)  # inline jobs: two pooled connections each

    def redeem_once():
        with app.app_context():
            bind_tenant(db.session, tenant_id)
            barrier.wait()
            try:
                loyalty.redeem(db.session, actor, customer_id, reward_id)
                db.session.commit()
                results.append("ok")
            except InvalidInput:
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=redeem_once) for _ in range(7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    db.session.expire_all()
    assert results.count("ok") == 5 and results.count("refused") == 2
    assert db.session.scalar(select(PointsBalance.balance).where(
        PointsBalance.id == customer_id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 5
    _assert_ledger_consistent(customer_id)


def test_membership_level_by_spend_counts_only_the_window(world):
    c = world.customer()
    loyalty.create_level(db.session, world.actor, {
        "name": "Gold", "basis": "spend", "threshold": 1000, "window_months": 12,
        "benefits": "Free delivery"})
    loyalty.create_level(db.session, world.actor, {
        "name": "Loyal", "basis": "spend", "threshold": 500, "window_months": 24})
    world.order(c, "800", days_ago=400)   # inside 24 months, outside 12
    world.order(c, "300", days_ago=10)
    db.session.commit()
    found = loyalty.membership(db.session, c.id)
    assert found.level.name == "Loyal" and found.spend == 1100
    world.order(c, "750", days_ago=5)
    db.session.commit()
    found = loyalty.membership(db.session, c.id)
    assert (found.level.name, found.level.benefits) == ("Gold", "Free delivery")
    world.order(c, "5000", days_ago=1, currency="USD")  # another currency never counts
    db.session.commit()
    assert loyalty.membership(db.session, c.id).spend == 1850
    with pytest.raises(InvalidInput) as err:
        loyalty.create_level(db.session, world.actor, {"name": "Y", "basis": "spend",
                                                       "threshold": 1, "window_months": 0})
    assert "window_months" in err.value.errors


def test_monthly_cap_limits_points_across_orders(world):
    loyalty.update_program(db.session, world.actor, {"cap_per_month": 300})
    c = world.customer()
    world.order(c, "250")
    world.order(c, "250")
    world.order(c, "250")
    db.session.commit()
    earned = [e.points for e in _entries(c.id) if e.kind == "earn"]
    assert earned == [250, 50]  # the third order earns nothing: no zero entries
    _assert_ledger_consistent(c.id)


def test_contribution_rewards_by_interaction_threshold(world):
    from saas.services import measures

    talker, quiet = world.customer("Talker"), world.customer("Quiet")
    for days in (1, 5, 20):
        world.talk(talker, days_ago=days)
    world.talk(quiet, days_ago=2)
    world.talk(quiet, days_ago=100)  # outside the 90 days
    loyalty.update_program(db.session, world.actor, {"contribution_rules": [
        {"measure": "interactions_90d", "threshold": 2, "points": 15}]})
    measures.refresh_all(db.session)
    assert loyalty.award_contributions(db.session) == 1
    assert [(e.kind, e.points) for e in _entries(talker.id)] == [("bonus", 15)]
    assert _entries(quiet.id) == []
    with pytest.raises(InvalidInput) as err:
        loyalty.update_program(db.session, world.actor, {"contribution_rules": [
            {"measure": "mood", "threshold": 1, "points": 1},
            {"measure": "spend_12m", "threshold": 1, "points": 0}]})
    assert {"contribution_rules.0.measure", "contribution_rules.1.points"} <= \
        set(err.value.errors)


def test_every_ledger_change_emits_an_outbox_event(world):
    c = world.customer()
    order = world.order(c, "200")
    db.session.commit()
    loyalty.adjust(db.session, world.actor, c.id, 40, "goodwill")
    coupon = _gift(world, cost=30, kind="coupon", valid_days=10)
    code = loyalty.redeem(db.session, world.actor, c.id, coupon.id).coupon_code
    loyalty.use_coupon(db.session, world.actor, code, "order 9")
    loyalty.reverse_for_order(db.session, order.id)
    loyalty.post(db.session, world.actor, c.id, "earn", 500, reason="old",
                 expires_at=utcnow() - timedelta(days=1))
    loyalty.expire_due(db.session)
    events = list(db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.entity_id == str(c.id), OutboxEvent.name.like("points.%"))
        .order_by(OutboxEvent.created_at, OutboxEvent.id)))
    names = [e.name for e in events]
    assert set(names) == {"points.earned", "points.adjusted", "points.redeemed",
                          "points.reversed", "points.expired"}
    assert len(events) == len(_entries(c.id))  # one event per ledger entry
    last = events[-1].payload
    assert last["kind"] == "expire" and last["balance"] == loyalty.balance(db.session, c.id)
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.name == "coupon.used")) == 1
    _assert_ledger_consistent(c.id)
