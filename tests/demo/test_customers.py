"""The customer demo generator makes customers with order rhythms, some of them lapsing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from saas import demo
from saas.extensions import db
from saas.models.base import utcnow
from saas.models.customers import Contact, Customer
from saas.models.interactions import Interaction
from saas.models.orders import Order
from saas.services import orders


def test_generator_builds_customers_orders_and_lapsing_buyers(app):
    gens = [g for g in demo.generators() if g.name in ("staff", "customers")]
    assert [g.name for g in gens] == ["staff", "customers"]
    with app.app_context():
        demo.run(db.session, slug="demo-cust", size=4, only=gens)
        s = db.session
        assert s.scalar(select(func.count()).select_from(Customer)) == 4
        assert s.scalar(select(func.count()).select_from(Order)) > 4
        assert s.scalar(select(func.count()).select_from(Interaction)) >= 4
        companies = s.scalar(select(func.count()).select_from(Customer).where(
            Customer.kind == "company"))
        if companies:
            assert s.scalar(select(func.count()).select_from(Contact)) >= companies
        lapsed = list(s.scalars(select(Customer).where(Customer.lifecycle_stage == "lapsed")))
        assert lapsed
        for customer in lapsed:
            figures = orders.key_figures(s, customer.id)
            assert figures.last_order_at < utcnow() - timedelta(days=100)
        demo.run(db.session, slug="demo-cust", size=4, only=gens)
        assert s.scalar(select(func.count()).select_from(Customer)) == 4
        db.session.remove()
