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
