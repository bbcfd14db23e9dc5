"""Build small hand-made worlds for the analytics tests, through the services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from saas.extensions import db
from saas.services import customers as customer_service
from saas.services import orders as order_service
from saas.services import products as product_service


def products(actor, *skus: str, price: str = "10.00") -> dict[str, Any]:
    return {sku: product_service.create_product(db.session, actor, {
        "sku": sku, "name": f"Product {sku}", "price": price}) for sku in skus}


def customer(actor, name: str):
    return customer_service.create_customer(db.session, actor, {"name": name})


def order(actor, customer_id, skus: list[str], at: datetime | None = None,
          status: str | None = None, price: str | None = None):
    data: dict[str, Any] = {"lines": [
        {"sku": s, "quantity": 1, **({"unit_price": price} if price else {})} for s in skus]}
    if at is not None:
        data["placed_at"] = at.isoformat()
    if status:
        data["status"] = status
    return order_service.place_order(db.session, actor, customer_id, data)
