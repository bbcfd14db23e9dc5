"""The product catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from saas.models.products import Product
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.customers import bound_tenant, parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.services.money import parse_amount, parse_currency

FIELDS = ("sku", "name", "category", "price", "currency", "active")


def get_product(session: Session, product_id: Any) -> Product:
    product = session.scalars(select(Product).where(
        Product.id == parse_id(product_id, "product"))).first()
    if product is None:
        raise NotFound("No such product.")
    return product


def product_by_sku(session: Session, sku: str) -> Product | None:
    return session.scalars(select(Product).where(Product.sku == sku)).first()


def list_products(session: Session, q: str | None = None,
                  include_inactive: bool = False) -> Select:
    stmt = select(Product).order_by(Product.sku, Product.id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(Product.sku.ilike(like) | Product.name.ilike(like))
    if not include_inactive:
        stmt = stmt.where(Product.active.is_(True))
    return stmt


def _clean(session: Session, data: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for key in data:
        if key not in FIELDS:
            errors[key] = ["Unknown field."]
    for key, limit, required in (("sku", 64, True), ("name", 200, True),
                                 ("category", 100, False)):
        if not creating and key not in data:
            continue
        value = data.get(key)
        text = value.strip() if isinstance(value, str) else ""
        if required and not text:
            errors[key] = ["This field is required."]
        elif len(text) > limit:
            errors[key] = [f"Use at most {limit} characters."]
        else:
            values[key] = text or None
    if creating or "price" in data:
        try:
            values["price"] = parse_amount(data.get("price"))
        except ValueError as exc:
            errors["price"] = [str(exc)]
    if creating or "currency" in data:
        try:
            values["currency"] = parse_currency(data.get("currency"),
                                                bound_tenant(session).currency)
        except ValueError as exc:
            errors["currency"] = [str(exc)]
    if "active" in data:
        values["active"] = bool(data["active"])
    if errors:
        raise InvalidInput("Please correct the product.", errors)
    return values


def create_product(session: Session, actor: Actor, data: Mapping[str, Any]) -> Product:
    values = _clean(session, data, creating=True)
    if product_by_sku(session, values["sku"]) is not None:
        raise Conflict("A product with this SKU exists.", {"sku": ["Already exists."]})
    product = Product(**values)
    session.add(product)
    session.flush()
    audit.record(session, actor, "product.created", "product", product.id,
                 {k: str(v) for k, v in values.items()})
    outbox.emit(session, "product.created", "product", product.id, {"sku": product.sku})
    return product


def update_product(session: Session, actor: Actor, product_id: Any,
                   data: Mapping[str, Any]) -> Product:
    product = get_product(session, product_id)
    values = _clean(session, data, creating=False)
    if "sku" in values and values["sku"] != product.sku and \
            product_by_sku(session, values["sku"]) is not None:
        raise Conflict("A product with this SKU exists.", {"sku": ["Already exists."]})
    changes = {k: [str(getattr(product, k)), str(v)] for k, v in values.items()
               if getattr(product, k) != v}
    for key in changes:
        setattr(product, key, values[key])
    if changes:
        audit.record(session, actor, "product.updated", "product", product.id, changes)
        outbox.emit(session, "product.updated", "product", product.id,
                    {"sku": product.sku, "changed": sorted(changes)})
    return product
