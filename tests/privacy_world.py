"""A customer with every field of the field-permission registry filled, for the tests
that check each field on each surface (API and web)."""

from __future__ import annotations

from typing import Any

from saas.extensions import db
from saas.services import custom_fields, orders, products
from saas.services import customers as customer_service

CUSTOM_KEY = "level"


def customer_with_every_field(app, tenant, values: dict[str, Any], price: str,
                              quantity: int) -> str:
    """The customer's id; `values` fill the built-in fields and the `level` custom field
    (marked sensitive, so its value is encrypted at rest: every surface must show it the
    same), and one order of `quantity` × a product at `price` makes the order amounts."""
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        custom_fields.create_definition(db.session, actor, CUSTOM_KEY, "Level", "text",
                                        sensitive=True)
        category = customer_service.categories(customer_service.bound_tenant(db.session))[0]
        customer = customer_service.create_customer(db.session, actor, {
            **values, "category": category, "owner_id": tenant.owner_id,
            "consent": {"email": "granted"}, "lifecycle_stage": "customer"})
        product = products.create_product(db.session, actor, {"sku": "T1", "name": "Tea",
                                                               "price": price})
        orders.place_order(db.session, actor, customer.id, {"lines": [
            {"product_id": str(product.id), "quantity": quantity}]})
        db.session.commit()
        cid = str(customer.id)
        db.session.remove()
    return cid
