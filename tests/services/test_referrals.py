"""Referral codes: the referrer earns once on the referred customer's first order;
self-referral, loops, double referral and other tenants' codes are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from saas.extensions import db
from saas.models.base import utcnow
from saas.services import loyalty, referrals
from saas.services.errors import Conflict, InvalidInput
from tests.services.tiers_world import World, world_fixture

world = world_fixture()


def test_referrer_earns_once_when_the_referred_first_orders(world):
    alice, bob = world.customer("Alice"), world.customer("Bob")
    code = referrals.code_for(db.session, world.actor, alice.id).code
    assert referrals.code_for(db.session, world.actor, alice.id).code == code
    referrals.register(db.session, world.actor, bob.id, code.lower())
    world.order(bob, 10)
    db.session.commit()
    assert loyalty.balance(db.session, alice.id) == 300
    world.order(bob, 10)
    db.session.commit()
    assert loyalty.balance(db.session, alice.id) == 300


def test_self_referral_is_refused(world):
    alice = world.customer("Alice")
    code = referrals.code_for(db.session, world.actor, alice.id).code
    with pytest.raises(InvalidInput) as err:
        referrals.register(db.session, world.actor, alice.id, code)
    assert "themself" in err.value.errors["code"][0]


def test_referral_loops_are_refused(world):
    a, b, c = world.customer("A"), world.customer("B"), world.customer("C")
    referrals.register(db.session, world.actor, b.id,
                       referrals.code_for(db.session, world.actor, a.id).code)
    referrals.register(db.session, world.actor, c.id,
                       referrals.code_for(db.session, world.actor, b.id).code)
    with pytest.raises(InvalidInput) as err:
        referrals.register(db.session, world.actor, a.id,
                           referrals.code_for(db.session, world.actor, c.id).code)
    assert "loop" in err.value.errors["code"][0]


def test_a_customer_is_referred_only_once_and_only_before_ordering(world):
    a, b, c = world.customer("A"), world.customer("B"), world.customer("C")
    referrals.register(db.session, world.actor, c.id,
                       referrals.code_for(db.session, world.actor, a.id).code)
    with pytest.raises(Conflict):
        referrals.register(db.session, world.actor, c.id,
                           referrals.code_for(db.session, world.actor, b.id).code)
    buyer = world.customer("Buyer")
    world.order(buyer, 5)
    with pytest.raises(InvalidInput) as err:
        referrals.register(db.session, world.actor, buyer.id,
                           referrals.code_for(db.session, world.actor, a.id).code)
    assert "first order" in err.value.errors["code"][0]


def test_another_tenants_code_is_unknown(world, make_tenant, app):
    db.session.commit()
    other = make_tenant()
    with app.app_context():
        other.bind()
        w = World(other)
        foreign_code = referrals.code_for(db.session, w.actor, w.customer("X").id).code
        db.session.commit()
    world.tenant.bind()
    with pytest.raises(InvalidInput) as err:
        referrals.register(db.session, world.actor, world.customer("Me").id, foreign_code)
    assert err.value.errors["code"] == ["Unknown referral code."]
    with pytest.raises(InvalidInput):
        referrals.register(db.session, world.actor, world.customer("Me2").id, "")


def test_referrals_and_used_coupons_page_on_the_timeline(world):
    from saas.services.loyalty_timeline import coupon_items, referral_items

    alice = world.customer("Alice")
    code = referrals.code_for(db.session, world.actor, alice.id).code
    friends = []
    for i, days in enumerate((30, 20, 10)):
        with time_machine.travel(utcnow() - timedelta(days=days), tick=False):
            friend = world.customer(f"Friend {i}")
            referrals.register(db.session, world.actor, friend.id, code)
            friends.append(friend)
    items = referral_items(db.session, alice.id, None, 2)
    assert [i.data["other_id"] for i in items] == [str(friends[2].id), str(friends[1].id)]
    older = referral_items(db.session, alice.id, items[-1].at, 10)
    assert [i.data["other_id"] for i in older] == [str(friends[0].id)]
    assert [i.title for i in referral_items(db.session, friends[0].id, None, 10)] == \
        ["Referred by a customer"]
    loyalty.adjust(db.session, world.actor, alice.id, 100, "start")
    reward = loyalty.create_reward(db.session, world.actor, {
        "name": "Ten off", "kind": "coupon", "points_cost": 10})
    unused = loyalty.redeem(db.session, world.actor, alice.id, reward.id).coupon_code
    used = loyalty.redeem(db.session, world.actor, alice.id, reward.id).coupon_code
    loyalty.use_coupon(db.session, world.actor, used, "till 3")
    coupons = coupon_items(db.session, alice.id, None, 10)
    assert [c.data["code"] for c in coupons] == [used] and unused != used
    assert coupon_items(db.session, alice.id, coupons[0].at, 10) == []
