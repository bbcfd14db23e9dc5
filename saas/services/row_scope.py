"""Row scope: which customers a role sees — all, its department's, or its own.

The scope is one SQL criterion added to the customer list, export and single-customer
reads. A customer outside the scope answers exactly like a missing one (404), so the
scope cannot be probed by guessing ids. The owner and admin roles always see all
customers (they configure the scopes and must be able to repair them).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from saas.models import Staff
from saas.models.customers import Customer
from saas.models.privacy import ROW_SCOPES, RoleRowScope
from saas.services import audit
from saas.services.context import Actor
from saas.services.errors import InvalidInput, NotFound

SCOPED_ROLES = ("manager", "agent", "readonly")


def scope_for(session: Session, role: str | None) -> str:
    if role not in SCOPED_ROLES:
        return "all"
    row = session.scalars(select(RoleRowScope).where(RoleRowScope.role == role)).first()
    return row.scope if row else "all"


def scopes(session: Session) -> dict[str, str]:
    return {role: scope_for(session, role) for role in SCOPED_ROLES}


def criterion(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    """The WHERE condition limiting customers to the actor's scope (None = no limit)."""
    scope = scope_for(session, actor.role)
    if scope == "all":
        return None
    if actor.staff_id is None:
        return false()
    if scope == "own":
        return Customer.owner_id == actor.staff_id
    staff = session.scalars(select(Staff).where(Staff.id == actor.staff_id)).first()
    if staff is None or not staff.department:
        return Customer.owner_id == actor.staff_id
    return (Customer.department == staff.department) | (Customer.owner_id == actor.staff_id)


def apply(session: Session, actor: Actor, stmt):
    """`stmt` (a select of customers) limited to the actor's scope."""
    cond = criterion(session, actor)
    return stmt if cond is None else stmt.where(cond)


def get_customer(session: Session, actor: Actor, customer_id: Any) -> Customer:
    """The customer if it exists and is within the actor's scope; else NotFound."""
    from saas.services.customers import parse_id

    cid = parse_id(customer_id)
    stmt = apply(session, actor, select(Customer).where(Customer.id == cid))
    customer = session.scalars(stmt).first()
    if customer is None:
        raise NotFound("No such customer.")
    return customer


def check(session: Session, actor: Actor, customer_id: uuid.UUID | str) -> None:
    get_customer(session, actor, customer_id)


def ensure_visible(session: Session, actor: Actor, customer_id: Any) -> uuid.UUID:
    """The guard for every route that takes a customer id (orders, interactions, tickets,
    visits, loyalty...): the id if that customer is in the actor's scope, else NotFound,
    so records hanging off a customer are exactly as visible as the customer."""
    return get_customer(session, actor, customer_id).id


def visible_ids(session: Session, actor: Actor):
    """A subquery of the customer ids in the actor's scope (None = every customer)."""
    cond = criterion(session, actor)
    return None if cond is None else select(Customer.id).where(cond)


def keep_visible(session: Session, actor: Actor, records: list) -> list:
    """`records` (anything with a `customer_id`) whose customer is in the actor's scope;
    one query for the whole list, none when the scope is all customers."""
    cond = criterion(session, actor)
    ids = {r.customer_id for r in records}
    if cond is None or not ids:
        return list(records)
    seen = set(session.scalars(select(Customer.id).where(Customer.id.in_(ids), cond)))
    return [r for r in records if r.customer_id in seen]


def visible_pairs(session: Session, actor: Actor, pairs: list) -> list:
    """`pairs` (anything with `first` and `second` customers, e.g. duplicate candidates)
    whose two customers are both in the actor's scope; one query for the whole list."""
    cond = criterion(session, actor)
    ids = {c.id for p in pairs for c in (p.first, p.second)}
    if cond is None or not ids:
        return list(pairs)
    seen = set(session.scalars(select(Customer.id).where(Customer.id.in_(ids), cond)))
    return [p for p in pairs if p.first.id in seen and p.second.id in seen]


def limit_by_customer(session: Session, actor: Actor, stmt, column, *,
                      keep_unlinked: bool = False):
    """`stmt` limited to rows whose `column` (a customer id) is in the actor's scope.

    `keep_unlinked` keeps rows without a customer (e.g. tickets from unknown senders):
    they reveal nothing about a customer the actor may not see."""
    ids = visible_ids(session, actor)
    if ids is None:
        return stmt
    cond = column.in_(ids)
    return stmt.where(column.is_(None) | cond if keep_unlinked else cond)


def set_scope(session: Session, actor: Actor, role: str, scope: str) -> None:
    errors = {}
    if role not in SCOPED_ROLES:
        errors["role"] = [f"Choose one of: {', '.join(SCOPED_ROLES)}."]
    if scope not in ROW_SCOPES:
        errors["scope"] = [f"Choose one of: {', '.join(ROW_SCOPES)}."]
    if errors:
        raise InvalidInput("Please correct the row scope.", errors)
    row = session.scalars(select(RoleRowScope).where(RoleRowScope.role == role)).first()
    old = row.scope if row else "all"
    if row is None:
        row = RoleRowScope(role=role, scope=scope)
        session.add(row)
    row.scope = scope
    session.flush()
    if old != scope:
        audit.record(session, actor, "privacy.row_scope_changed", "tenant", None,
                     {role: [old, scope]})
