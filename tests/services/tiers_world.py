"""Building customers with orders and interactions through the services, for the tier,
segment and loyalty tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from saas.extensions import db
from saas.models.base import utcnow
from saas.services import customers, interactions, orders, products


class World:
    def __init__(self, tenant):
        self.tenant = tenant
        self.actor = tenant.owner_actor()
        self.product = products.create_product(db.session, self.actor, {
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
