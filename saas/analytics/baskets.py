"""Bought together: association rules over order baskets, bundles and "next product".

A basket is the set of distinct products of one counted order (cancelled and refunded
orders are not baskets). For products A and B over N baskets (Agrawal, Imieliński &
Swami 1993; lift as in Brin et al. 1997):

- support(A→B)    = n(A∧B) / N
- confidence(A→B) = n(A∧B) / n(A)
- lift(A→B)       = confidence(A→B) / (n(B) / N)

Only pairs are mined (rules with one antecedent and one consequent): that is what
bundles and "frequently bought with" recommendations need, and pair counts are a single
set-based self-join of the basket table by order, grouped by the product pair, with the
minimum support applied in HAVING so rare pairs never leave the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, cast, delete, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from saas.models.analytics import AssociationRule
from saas.models.orders import COUNTED_STATUSES, Order, OrderLine
from saas.models.products import Product
from saas.tenancy import current_tenant_id

DEFAULT_MIN_SUPPORT = 0.01
DEFAULT_MIN_CONFIDENCE = 0.1
DEFAULT_MIN_PAIR_COUNT = 2
"""A pair seen in a single basket is never a rule, however small the tenant."""


@dataclass(frozen=True)
class Rule:
    antecedent_id: uuid.UUID
    consequent_id: uuid.UUID
    pair_count: int
    support: float
    confidence: float
    lift: float


def _baskets():
    """Distinct (order, product) of counted orders of the bound tenant.

    A CTE, materialised on PostgreSQL: the pair query reads it three times (both sides
    of the self-join and the item counts), and at 17M order lines computing it once
    instead of three times is most of the job's time."""
    return (
        select(OrderLine.order_id, OrderLine.product_id)
        .join(Order, and_(Order.tenant_id == OrderLine.tenant_id,
                          Order.id == OrderLine.order_id))
        .where(Order.status.in_(COUNTED_STATUSES))
        .distinct()
        .cte("baskets")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def mine_rules(session: Session, min_support: float = DEFAULT_MIN_SUPPORT,
               min_confidence: float = DEFAULT_MIN_CONFIDENCE,
               min_pair_count: int = DEFAULT_MIN_PAIR_COUNT) -> list[Rule]:
    """All pair rules A→B of the bound tenant with support ≥ `min_support`, confidence
    ≥ `min_confidence` and at least `min_pair_count` shared baskets, strongest lift
    first."""
    baskets = _baskets()
    total = session.scalar(select(func.count(func.distinct(baskets.c.order_id)))) or 0
    if total == 0:
        return []
    item = (select(baskets.c.product_id, func.count().label("n"))
            .group_by(baskets.c.product_id).subquery("item"))
    b1, b2 = baskets.alias("b1"), baskets.alias("b2")
    need = max(min_pair_count, int(min_support * total + 0.999999))
    pair = (select(b1.c.product_id.label("a"), b2.c.product_id.label("b"),
                   func.count().label("n_ab"))
            .join(b2, and_(b1.c.order_id == b2.c.order_id,
                           b1.c.product_id != b2.c.product_id))
            .group_by(b1.c.product_id, b2.c.product_id)
            .having(func.count() >= need)
            .subquery("pair"))
    ia, ib = item.alias("ia"), item.alias("ib")
    confidence = cast(pair.c.n_ab, Float) / ia.c.n
    stmt = (select(pair.c.a, pair.c.b, pair.c.n_ab, ia.c.n.label("n_a"), ib.c.n.label("n_b"))
            .join(ia, ia.c.product_id == pair.c.a)
            .join(ib, ib.c.product_id == pair.c.b)
            .where(confidence >= min_confidence))
    rules = []
    for row in session.execute(stmt):
        conf = row.n_ab / row.n_a
        rules.append(Rule(row.a, row.b, int(row.n_ab), row.n_ab / total, conf,
                          conf / (row.n_b / total)))
    rules.sort(key=lambda r: (-r.lift, -r.confidence, str(r.antecedent_id),
                              str(r.consequent_id)))
    return rules


def store_rules(session: Session, rules: list[Rule], now: datetime) -> int:
    """Replace the bound tenant's stored rules (one transaction, so readers see either
    the old or the new set)."""
    tenant_id = current_tenant_id(session)
    session.execute(delete(AssociationRule).execution_options(synchronize_session=False))
    if rules:
        session.execute(insert(AssociationRule), [
            {"tenant_id": tenant_id, "antecedent_id": r.antecedent_id,
             "consequent_id": r.consequent_id, "pair_count": r.pair_count,
             "support": r.support, "confidence": r.confidence, "lift": r.lift,
             "computed_at": now, "created_at": now}
            for r in rules])
    return len(rules)


def bundles(session: Session, limit: int = 20, min_lift: float = 1.0) -> list[dict[str, Any]]:
    """Pairs worth selling together: both directions of a stored rule folded into one
    unordered pair, lift above `min_lift` (bought together more often than chance),
    ordered by lift then support."""
    rows = session.scalars(select(AssociationRule).where(AssociationRule.lift > min_lift)
                           .order_by(AssociationRule.lift.desc())).all()
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = tuple(sorted((str(r.antecedent_id), str(r.consequent_id))))
        entry = seen.setdefault(key, {"product_ids": list(key), "support": r.support,
                                      "lift": r.lift, "confidence": r.confidence,
                                      "computed_at": r.computed_at})
        entry["confidence"] = max(entry["confidence"], r.confidence)
    result = sorted(seen.values(), key=lambda e: (-e["lift"], -e["support"], e["product_ids"]))
    return result[:limit]


_FEW_RULE_PRODUCTS = 8


def recommendations(session: Session, customer_id: uuid.UUID,
                    limit: int = 5) -> list[dict[str, Any]]:
    """"Next product" for one customer: consequents of stored rules whose antecedent
    the customer has bought, excluding anything the customer already bought, ranked by
    the best confidence (then lift) among the rules that point at them. One query.

    Only products named by a rule matter. When they are few (the usual case), whether
    the customer bought each one is an EXISTS that stops at the first order holding it,
    instead of reading every order line of a customer with thousands of orders (the 360
    page at 1M customers: 45-85 ms -> 0.25 ms). With many rule products, the customer's
    products are one CTE, materialised on PostgreSQL so it is read once."""
    rule_products = session.scalars(select(AssociationRule.antecedent_id).union(
        select(AssociationRule.consequent_id))).all()
    if not rule_products:
        return []
    if len(rule_products) <= _FEW_RULE_PRODUCTS:
        owned_cte = _owned_among(customer_id, rule_products)
    else:
        owned_cte = (select(OrderLine.product_id)
                     .join(Order, and_(Order.tenant_id == OrderLine.tenant_id,
                                       Order.id == OrderLine.order_id))
                     .where(Order.customer_id == customer_id,
                            Order.status.in_(COUNTED_STATUSES))
                     .distinct()
                     .cte("owned")
                     .prefix_with("MATERIALIZED", dialect="postgresql"))
    owned = select(owned_cte.c.product_id)
    best_conf = func.max(AssociationRule.confidence)
    best_lift = func.max(AssociationRule.lift)
    stmt = (select(AssociationRule.consequent_id, best_conf.label("confidence"),
                   best_lift.label("lift"), Product.name, Product.sku)
            .join(Product, and_(Product.tenant_id == AssociationRule.tenant_id,
                               Product.id == AssociationRule.consequent_id))
            .where(AssociationRule.antecedent_id.in_(owned),
                   AssociationRule.consequent_id.not_in(owned),
                   Product.active.is_(True))
            .group_by(AssociationRule.consequent_id, Product.name, Product.sku)
            .order_by(best_conf.desc(), best_lift.desc(), Product.name)
            .limit(limit))
    return [{"product_id": row.consequent_id, "name": row.name, "sku": row.sku,
             "confidence": row.confidence, "lift": row.lift}
            for row in session.execute(stmt)]


def _owned_among(customer_id: uuid.UUID, product_ids: list[uuid.UUID]):
    """The given products the customer bought (counted orders), as a CTE. LIMIT/OFFSET
    keep both EXISTS as per-row subplans: PostgreSQL would otherwise turn them into a
    join reading every line of the product."""
    line = (select(literal(1)).where(OrderLine.tenant_id == Order.tenant_id,
                                     OrderLine.order_id == Order.id,
                                     OrderLine.product_id == Product.id)
            .correlate(Order, Product).limit(1).offset(0))
    bought = (select(literal(1)).select_from(Order)
              .where(Order.customer_id == customer_id,
                     Order.status.in_(COUNTED_STATUSES), exists(line))
              .limit(1).offset(0))
    return (select(Product.id.label("product_id"))
            .where(Product.id.in_(product_ids), exists(bought))
            .cte("owned").prefix_with("MATERIALIZED", dialect="postgresql"))
