"""Read audit: who looked at a customer's data, when, what and from where.

Reads are written to the ordinary audit log (`audit_entries`, actions `customer.viewed`,
`customer.exported`, `customer.field_revealed`, `customers.exported`) so one log, one
retention and one admin page cover both reads and writes; the entity index
`(tenant_id, entity_type, entity_id)` makes "who saw this customer" a cheap query.

A list export stays one `customers.exported` entry (with its filter); the customers it
contained go to `read_audit_exports` in one INSERT ... SELECT of the same filter and row
scope, so "who saw this customer" finds the export without a million audit entries.
API reads of one customer (profile, timeline) are `customer.viewed` with source "api",
at most one per staff member, customer and hour: a sync client polling a profile would
otherwise flood the log with entries that say nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Uuid, and_, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from saas.models import AuditEntry
from saas.models.base import utcnow
from saas.models.customers import Customer
from saas.models.read_audit import ReadAuditExport
from saas.services import audit
from saas.services.context import Actor
from saas.tenancy import current_tenant_id

READ_ACTIONS = ("customer.viewed", "customer.exported", "customer.field_revealed",
                "customer.erased")
LIST_EXPORT = "customers.exported"
API_VIEW_EVERY = timedelta(hours=1)
DEFAULT_DAYS = 90
MAX_DAYS = 3650


def record_view(session: Session, actor: Actor, customer_id: uuid.UUID,
                where: str = "360 page") -> None:
    audit.record(session, actor, "customer.viewed", "customer", customer_id,
                 {"where": where, "source": "web"})


def record_api_view(session: Session, actor: Actor, customer_id: uuid.UUID,
                    where: str) -> bool:
    """`customer.viewed` (source "api") unless this staff member already has one for
    this customer in the last hour; True if an entry was written."""
    since = utcnow() - API_VIEW_EVERY
    who = (AuditEntry.actor_id == actor.staff_id if actor.staff_id is not None
           else AuditEntry.actor_label == actor.label)
    seen = session.scalar(select(AuditEntry.id).where(
        AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer_id),
        AuditEntry.action == "customer.viewed", AuditEntry.created_at >= since, who,
        AuditEntry.changes["source"].as_string() == "api").limit(1))
    if seen is not None:
        return False
    audit.record(session, actor, "customer.viewed", "customer", customer_id,
                 {"where": where, "source": "api"})
    return True


def record_reveal(session: Session, actor: Actor, customer_id: uuid.UUID,
                  field: str, where: str = "API") -> None:
    audit.record(session, actor, "customer.field_revealed", "customer", customer_id,
                 {"field": field, "where": where})


def record_export(session: Session, actor: Actor, customer_id: uuid.UUID,
                  what: str) -> None:
    audit.record(session, actor, "customer.exported", "customer", customer_id,
                 {"what": what})


def record_list_export(session: Session, actor: Actor | None, filters: Mapping[str, Any],
                       fmt: str) -> AuditEntry | None:
    """A list export: one entry with its filter and count, plus one `read_audit_exports`
    row per customer it contains, written set-based by the database."""
    from saas.services import customer_list, row_scope

    if actor is None:
        return None
    entry = audit.record(session, actor, LIST_EXPORT, "customer_list", None,
                         {"filters": {k: v for k, v in filters.items()}, "format": fmt})
    session.flush()
    tenant_id = current_tenant_id(session)
    query = customer_list.parse_filters(session, filters)
    ids = row_scope.apply(session, actor, customer_list.filtered(session, query)) \
        .where(Customer.tenant_id == tenant_id) \
        .with_only_columns(literal(tenant_id, Uuid), literal(entry.id, Uuid), Customer.id) \
        .distinct()
    session.connection().execute(insert(ReadAuditExport.__table__).from_select(
        ["tenant_id", "audit_id", "customer_id"], ids))
    count = session.scalar(select(func.count()).select_from(ReadAuditExport).where(
        ReadAuditExport.tenant_id == tenant_id, ReadAuditExport.audit_id == entry.id))
    entry.changes = {**entry.changes, "customers": count}
    return entry


def who_saw(session: Session, customer_id: uuid.UUID | str, days: int = DEFAULT_DAYS
            ) -> list[AuditEntry]:
    """Reads of this customer's data in the last `days` days, newest first."""
    days = max(1, min(int(days), MAX_DAYS))
    since = utcnow() - timedelta(days=days)
    exports = select(ReadAuditExport.audit_id).where(
        ReadAuditExport.tenant_id == current_tenant_id(session),
        ReadAuditExport.customer_id == uuid.UUID(str(customer_id)))
    stmt = (select(AuditEntry)
            .where(or_(and_(AuditEntry.entity_type == "customer",
                            AuditEntry.entity_id == str(customer_id),
                            AuditEntry.action.in_(READ_ACTIONS)),
                       and_(AuditEntry.action == LIST_EXPORT,
                            AuditEntry.id.in_(exports))),
                   AuditEntry.created_at >= since)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()))
    return list(session.scalars(stmt))
