"""Read audit: who looked at a customer's data, when, what and from where.

Reads are written to the ordinary audit log (`audit_entries`, actions `customer.viewed`,
`customer.exported`, `customer.field_revealed`, `customers.exported`) so one log, one
retention and one admin page cover both reads and writes; the entity index
`(tenant_id, entity_type, entity_id)` makes "who saw this customer" a cheap query.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import AuditEntry
from saas.models.base import utcnow
from saas.services import audit
from saas.services.context import Actor

READ_ACTIONS = ("customer.viewed", "customer.exported", "customer.field_revealed",
                "customer.erased")
DEFAULT_DAYS = 90
MAX_DAYS = 3650


def record_view(session: Session, actor: Actor, customer_id: uuid.UUID,
                where: str = "360 page") -> None:
    audit.record(session, actor, "customer.viewed", "customer", customer_id,
                 {"where": where})


def record_reveal(session: Session, actor: Actor, customer_id: uuid.UUID,
                  field: str, where: str = "API") -> None:
    audit.record(session, actor, "customer.field_revealed", "customer", customer_id,
                 {"field": field, "where": where})


def record_export(session: Session, actor: Actor, customer_id: uuid.UUID,
                  what: str) -> None:
    audit.record(session, actor, "customer.exported", "customer", customer_id,
                 {"what": what})


def record_list_export(session: Session, actor: Actor | None, filters: Mapping[str, Any],
                       fmt: str) -> None:
    """A list export: one entry with its filter (not one per customer exported)."""
    if actor is None:
        return
    audit.record(session, actor, "customers.exported", "customer_list", None,
                 {"filters": {k: v for k, v in filters.items()}, "format": fmt})


def who_saw(session: Session, customer_id: uuid.UUID, days: int = DEFAULT_DAYS
            ) -> list[AuditEntry]:
    """Reads of this customer's data in the last `days` days, newest first."""
    days = max(1, min(int(days), MAX_DAYS))
    since = utcnow() - timedelta(days=days)
    stmt = (select(AuditEntry)
            .where(AuditEntry.entity_type == "customer",
                   AuditEntry.entity_id == str(customer_id),
                   AuditEntry.action.in_(READ_ACTIONS),
                   AuditEntry.created_at >= since)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()))
    return list(session.scalars(stmt))
