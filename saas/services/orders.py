"""Placing and refunding orders, and the key figures of a customer's purchases.

Amounts are Decimal end to end: line amount = unit price x quantity, rounded to cents;
the total is the sum of the lines. Cancelled and refunded orders do not count as spend.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from saas.models.base import utcnow
from saas.models.orders import COUNTED_STATUSES, ORDER_STATUSES, Order, OrderLine
from saas.models.products import Product
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.customers import bound_tenant, get_customer, parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.services.money import CENT, parse_amount, parse_currency

FIELDS = ("lines", "placed_at", "channel", "currency", "number", "status", "external_id")
PLACEABLE = ("placed", "paid", "shipped", "completed")
TRANSITIONS = {"placed": {"paid", "cancelled"}, "paid": {"shipped", "completed"},
               "shipped": {"completed"}, "completed": set(), "cancelled": set(),
               "refunded": set()}
MAX_LINES = 500
MAX_QUANTITY = 1_000_000


@dataclass
class KeyFigures:
    order_count: int
    spend: dict[str, Decimal]
    first_order_at: datetime | None
    last_order_at: datetime | None
    average_interval_days: float | None


def get_order(session: Session, order_id: Any) -> Order:
    order = session.scalars(select(Order).where(
        Order.id == parse_id(order_id, "order"))).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def order_lines(session: Session, order_id: Any) -> list[OrderLine]:
    return list(session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)
                                .order_by(OrderLine.position, OrderLine.id)))


def list_orders(session: Session, customer_id: Any) -> Select:
    customer = get_customer(session, customer_id)
    return select(Order).where(Order.customer_id == customer.id).order_by(
        Order.placed_at.desc(), Order.id.desc())


def _parse_time(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    if parsed.tzinfo is None:
        raise ValueError("Give a time with its UTC offset.")
    return parsed


def _clean_lines(session: Session, raw: Any, currency: str,
                 errors: dict[str, list[str]]) -> list[tuple[Product, int, Decimal]]:
    if not isinstance(raw, list | tuple) or not raw:
        errors["lines"] = ["An order needs at least one line."]
        return []
    if len(raw) > MAX_LINES:
        errors["lines"] = [f"Use at most {MAX_LINES} lines."]
        return []
    result = []
    for i, line in enumerate(raw):
        prefix = f"lines.{i}"
        if not isinstance(line, Mapping):
            errors[prefix] = ["Each line is an object with product and quantity."]
            continue
        product = None
        if line.get("product_id"):
            try:
                product = session.scalars(select(Product).where(
                    Product.id == parse_id(line["product_id"], "product"))).first()
            except NotFound:
                product = None
            if product is None:
                errors[f"{prefix}.product_id"] = ["No such product."]
        elif line.get("sku"):
            product = session.scalars(select(Product).where(
                Product.sku == str(line["sku"]).strip())).first()
            if product is None:
                errors[f"{prefix}.sku"] = ["No product with this SKU."]
        else:
            errors[f"{prefix}.product_id"] = ["Give a product id or SKU."]
        quantity = line.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int | str):
            errors[f"{prefix}.quantity"] = ["Enter a whole number."]
            continue
        try:
            quantity = int(quantity)
        except ValueError:
            errors[f"{prefix}.quantity"] = ["Enter a whole number."]
            continue
        if not 1 <= quantity <= MAX_QUANTITY:
            errors[f"{prefix}.quantity"] = [f"Use 1-{MAX_QUANTITY}."]
            continue
        if product is None:
            continue
        if line.get("unit_price") not in (None, ""):
            try:
                unit_price = parse_amount(line["unit_price"])
            except ValueError as exc:
                errors[f"{prefix}.unit_price"] = [str(exc)]
                continue
        else:
            if product.currency != currency:
                errors[f"{prefix}.unit_price"] = [
                    f"The product is priced in {product.currency}; give a price in "
                    f"{currency}."]
                continue
            unit_price = product.price
        result.append((product, quantity, unit_price))
    return result


def place_order(session: Session, actor: Actor, customer_id: Any,
                data: Mapping[str, Any]) -> Order:
    customer = get_customer(session, customer_id)
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in FIELDS:
            errors[key] = ["Unknown field."]
    try:
        currency = parse_currency(data.get("currency"), bound_tenant(session).currency)
    except ValueError as exc:
        errors["currency"] = [str(exc)]
        currency = bound_tenant(session).currency
    placed_at = utcnow()
    if data.get("placed_at") not in (None, ""):
        try:
            placed_at = _parse_time(data["placed_at"])
            if placed_at > utcnow() + timedelta(minutes=5):
                errors["placed_at"] = ["An order cannot be placed in the future."]
        except ValueError as exc:
            errors["placed_at"] = [str(exc) if "offset" in str(exc)
                                   else "Enter an ISO date-time."]
    status = data.get("status") or "placed"
    if status not in PLACEABLE:
        errors["status"] = [f"Choose one of: {', '.join(PLACEABLE)}."]
    channel = data.get("channel")
    if channel is not None and (not isinstance(channel, str) or len(channel) > 30):
        errors["channel"] = ["Use at most 30 characters."]
    number = data.get("number")
    if number is not None and (not isinstance(number, str) or not number.strip()
                               or len(number) > 40):
        errors["number"] = ["Use 1-40 characters."]
    lines = _clean_lines(session, data.get("lines"), currency, errors)
    if errors:
        raise InvalidInput("Please correct the order.", errors)
    number = number.strip() if number else _new_number(placed_at)
    if session.scalar(select(Order.id).where(Order.number == number)) is not None:
        raise Conflict("An order with this number exists.", {"number": ["Already exists."]})
    amounts = [(p, q, price, (price * q).quantize(CENT)) for p, q, price in lines]
    total = sum((a for *_, a in amounts), Decimal("0.00"))
    order = Order(customer_id=customer.id, number=number, placed_at=placed_at,
                  channel=(channel or "").strip() or None, status=status, currency=currency,
                  total=total, external_id=data.get("external_id"))
    session.add(order)
    session.flush()
    for position, (product, quantity, price, amount) in enumerate(amounts):
        session.add(OrderLine(order_id=order.id, position=position, product_id=product.id,
                              quantity=quantity, unit_price=price, amount=amount))
    payload = {"customer_id": customer.id, "number": number, "total": str(total),
               "currency": currency, "placed_at": placed_at.isoformat(),
               "product_ids": [p.id for p, *_ in amounts]}
    audit.record(session, actor, "order.placed", "order", order.id, payload)
    outbox.emit(session, "order.placed", "order", order.id, payload)
    return order


def _new_number(placed_at: datetime) -> str:
    return f"{placed_at:%Y%m%d}-{secrets.token_hex(4).upper()}"


def refund_order(session: Session, actor: Actor, order_id: Any,
                 reason: str | None = None) -> Order:
    order = get_order(session, order_id)
    if order.status == "refunded":
        raise Conflict("This order is already refunded.")
    if order.status == "cancelled":
        raise Conflict("A cancelled order cannot be refunded.")
    previous = order.status
    order.status = "refunded"
    order.refunded_at = utcnow()
    payload = {"customer_id": order.customer_id, "number": order.number,
               "total": str(order.total), "currency": order.currency,
               "reason": (reason or "")[:500], "previous_status": previous}
    audit.record(session, actor, "order.refunded", "order", order.id, payload)
    outbox.emit(session, "order.refunded", "order", order.id, payload)
    return order


def set_status(session: Session, actor: Actor, order_id: Any, status: str) -> Order:
    """Move an order along placed → paid → shipped → completed (or placed → cancelled)."""
    order = get_order(session, order_id)
    if status not in ORDER_STATUSES:
        raise InvalidInput.field("status", f"Choose one of: {', '.join(ORDER_STATUSES)}.")
    if status == "refunded":
        return refund_order(session, actor, order.id)
    if status not in TRANSITIONS[order.status]:
        raise Conflict(f"An order that is {order.status} cannot become {status}.",
                       {"status": [f"Not allowed from {order.status}."]})
    audit.record(session, actor, "order.status_changed", "order", order.id,
                 {"status": [order.status, status]})
    order.status = status
    outbox.emit(session, f"order.{status}", "order", order.id,
                {"customer_id": order.customer_id, "number": order.number})
    return order


def key_figures(session: Session, customer_id: Any) -> KeyFigures:
    """Spend per currency, order count, first/last order and the mean gap between orders,
    all aggregated by the database over the customer's counted orders."""
    customer = get_customer(session, customer_id)
    counted = (Order.customer_id == customer.id, Order.status.in_(COUNTED_STATUSES))
    count, first, last = session.execute(select(
        func.count(Order.id), func.min(Order.placed_at), func.max(Order.placed_at))
        .where(*counted)).one()
    spend = {currency: Decimal(total).quantize(CENT) for currency, total in session.execute(
        select(Order.currency, func.sum(Order.total)).where(*counted)
        .group_by(Order.currency).order_by(Order.currency))}
    if isinstance(first, str):
        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    interval = None
    if count and count > 1:
        interval = round((last - first).total_seconds() / 86400 / (count - 1), 1)
    return KeyFigures(count or 0, spend, first, last, interval)
