"""Building customers with orders and interactions through the services, for the tier,
segment and loyalty tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.base import utcnow
from saas.models.products import Product
from saas.services import (
    customers,
    interactions,
    loyalty,
    measures,
    orders,
    products,
    referrals,
    tiers,
)


class World:
    """A tenant's world for one app context; a second World of the tenant reuses its
    product, so a test can add orders in a later context."""

    def __init__(self, tenant):
        self.tenant = tenant
        self.actor = tenant.owner_actor()
        self.product = db.session.scalars(select(Product).where(Product.sku == "P-1")) \
            .first() or products.create_product(db.session, self.actor, {
                "sku": "P-1", "name": "Thing", "price": "1.00"})
        db.session.flush()

    def customer(self, name: str = "C", **data):
        return customers.create_customer(db.session, self.actor, {"name": name, **data})

    def order(self, customer, amount, days_ago: float = 0, currency: str | None = None,
              at: datetime | None = None):
        data = {"lines": [{"product_id": str(self.product.id), "quantity": 1,
                           "unit_price": str(Decimal(str(amount)))}],
                "placed_at": (at or utcnow() - timedelta(days=days_ago)).isoformat()}
        if currency:
            data["currency"] = currency
        return orders.place_order(db.session, self.actor, customer.id, data)

    def talk(self, customer, days_ago: float = 0):
        return interactions.log_interaction(db.session, self.actor, customer.id, {
            "channel": "phone", "summary": "call",
            "occurred_at": (utcnow() - timedelta(days=days_ago)).isoformat()})


def loyalty_history(app, tenant) -> str:
    """An order (earned points and the first-order bonus), a staff adjustment, a
    redemption, a used coupon, a referral (and its bonus), a refund, a rule move and a
    manual override with an end; returns the customer's id."""
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        c = w.customer("Li Lei")
        order = w.order(c, 300, days_ago=1)
        db.session.commit()  # runs the loyalty job inline: earn + first-order bonus
        loyalty.adjust(db.session, w.actor, c.id, 50, "Goodwill after a late delivery")
        reward = loyalty.create_reward(db.session, w.actor, {
            "name": "Tea set", "kind": "gift", "points_cost": 40})
        loyalty.redeem(db.session, w.actor, c.id, reward.id)
        coupon = loyalty.create_reward(db.session, w.actor, {
            "name": "Spring sale", "kind": "discount", "points_cost": 10,
            "discount_percent": 15})
        code = loyalty.redeem(db.session, w.actor, c.id, coupon.id).coupon_code
        loyalty.use_coupon(db.session, w.actor, code, "shop order 77")
        friend = w.customer("Han Meimei")
        referrals.register(db.session, w.actor, friend.id,
                           referrals.code_for(db.session, w.actor, c.id).code)
        w.order(friend, 20)
        db.session.commit()  # the friend's first order pays Li Lei the referral bonus
        loyalty.reverse_for_order(db.session, order.id)
        measures.refresh_all(db.session)
        tiers.apply(db.session, w.actor)
        top = tiers.list_tiers(db.session)[0]
        tiers.override(db.session, w.actor, c.id, top.id, utcnow() + timedelta(days=30))
        db.session.commit()
        cid = str(c.id)
        db.session.remove()
    return cid


def world_fixture(template: str | None = "retail"):
    """The `world` fixture of the tier/loyalty tests: a tenant (from `template`) bound in
    an app context, its session rolled back afterwards."""

    @pytest.fixture
    def world(app, make_tenant):
        tenant = make_tenant(template=template) if template else make_tenant()
        with app.app_context():
            tenant.bind()
            yield World(tenant)
            db.session.rollback()
            db.session.remove()

    return world
