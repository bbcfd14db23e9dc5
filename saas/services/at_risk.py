"""At-risk customers by value at stake, per owner: the churn early-warning work list.

Reads the stored churn scores (`churn_scores`, refreshed by the analytics job) so the
list is one indexed query. By default a person sees the customers they own; someone with
`reports.read` (a manager) may pick another owner, a department, or everyone. The
customers row scope of the role (`saas.services.row_scope`) still applies, in SQL, and so
do field levels: choosing another owner or a department is a filter on the customers'
owner, refused when the role may not see owners (a customer-list filter on a hidden field
is refused the same way). Hiding the amounts and owners in the rows is left to each
surface (`AMOUNTS`, `OWNER`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from saas.models.analytics import ChurnScore, CustomerClv
from saas.models.customers import Customer
from saas.models.tenant import Staff
from saas.permissions import role_can
from saas.services import field_access, row_scope
from saas.services.context import Actor
from saas.services.errors import Forbidden, InvalidInput, NotFound

MAX_ROWS = 500
AMOUNTS = ("value_at_stake", "clv")
"""Attributes derived from order amounts (hidden with `order_amounts`)."""
OWNER = ("owner_id", "owner_name")
"""Attributes naming the customer's owner (hidden with `owner_id`)."""


@dataclass(frozen=True)
class AtRisk:
    customer_id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None
    owner_name: str | None
    score: float
    reasons: list[Any]
    value_at_stake: Decimal
    p_alive: float | None
    clv: Decimal | None
    computed_at: datetime


def departments(session: Session) -> list[str]:
    return sorted(d for d in session.scalars(
        select(Staff.department).where(Staff.department.is_not(None)).distinct()) if d)


def list_at_risk(session: Session, actor: Actor, owner_id: uuid.UUID | None = None,
                 department: str | None = None, everyone: bool = False,
                 limit: int = MAX_ROWS) -> list[AtRisk]:
    """At-risk customers, largest value at stake first. Without `owner_id`,
    `department` or `everyone` they are the actor's own; the other choices need
    `reports.read` (403) and an owner of this tenant (404)."""
    manager = role_can(actor.role, "reports.read")
    if (everyone or department or (owner_id and owner_id != actor.staff_id)) and not manager:
        raise Forbidden("Only managers can see other people's customers.")
    if (department or (owner_id and owner_id != actor.staff_id)) and \
            not field_access.access_for(session, actor.role).can_see("owner_id"):
        raise InvalidInput("The filter has errors.", {
            "owner_id" if owner_id else "department": ["You may not filter on this field."]})
    if owner_id is not None and session.scalars(
            select(Staff.id).where(Staff.id == owner_id)).first() is None:
        raise NotFound("No such staff member.")
    stmt = (select(ChurnScore, Customer.name, Customer.owner_id, Staff.name.label("owner"),
                   CustomerClv.p_alive, CustomerClv.clv)
            .join(Customer, and_(Customer.tenant_id == ChurnScore.tenant_id,
                                 Customer.id == ChurnScore.id))
            .outerjoin(Staff, and_(Staff.tenant_id == Customer.tenant_id,
                                   Staff.id == Customer.owner_id))
            .outerjoin(CustomerClv, and_(CustomerClv.tenant_id == ChurnScore.tenant_id,
                                         CustomerClv.id == ChurnScore.id))
            .where(ChurnScore.at_risk.is_(True), Customer.merged_into_id.is_(None)))
    if owner_id is not None:
        stmt = stmt.where(Customer.owner_id == owner_id)
    elif not everyone and not department:
        stmt = stmt.where(Customer.owner_id == actor.staff_id)
    if department:
        stmt = stmt.where(Staff.department == department)
    stmt = row_scope.apply(session, actor, stmt)
    stmt = stmt.order_by(ChurnScore.value_at_stake.desc(), ChurnScore.score.desc(),
                         ChurnScore.id).limit(max(1, min(limit, MAX_ROWS)))
    return [AtRisk(row.ChurnScore.id, row.name, row.owner_id, row.owner,
                   row.ChurnScore.score, row.ChurnScore.reasons or [],
                   row.ChurnScore.value_at_stake, row.p_alive, row.clv,
                   row.ChurnScore.computed_at)
            for row in session.execute(stmt)]
