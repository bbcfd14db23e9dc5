"""Referral codes: the referrer earns once on the referred customer's first order;
self-referral, loops, double referral and other tenants' codes are refused."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import loyalty, referrals
from saas.services.errors import Conflict, InvalidInput
from tests.services.tiers_world import World


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant(template="retail")
    with app.app_context():
        tenant.bind()
        yield World(tenant)
        db.session.rollback()
        db.session.remove()


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
