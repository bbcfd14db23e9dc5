"""Purging the plugin delivery log: finished deliveries older than DELIVERY_RETENTION_DAYS.

Every event handed to every enabled plugin leaves a `Delivery` row, so the log grows
with the tenant's activity forever unless it is trimmed. Only *finished* rows go:
succeeded ones, and dead ones (out of attempts), counted from when they finished.
Pending, failed (waiting for a retry) and paused deliveries are work still to do and
are never deleted, however old.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Tenant
from saas.models.base import utcnow
from saas.models.plugins import Delivery
from saas.tenancy import tenant_bound

log = logging.getLogger("saas.jobs")

FINISHED = ("succeeded", "dead")
BATCH_SIZE = 5_000
"""Rows deleted per transaction: short transactions, no long lock on a busy table."""


def retention_days() -> int:
    return int(current_app.config.get("DELIVERY_RETENTION_DAYS") or 0)


def purge_finished(session: Session, before: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete the bound tenant's finished deliveries that finished before `before`,
    committing after each batch (a purge stopped half-way keeps what it deleted and the
    next run goes on). Returns how many rows were deleted."""
    # A delivery finishes after it is created, so `created_at < before` adds nothing to
    # the meaning but lets the (tenant_id, created_at) index find the candidates.
    candidates = (select(Delivery.id)
                  .where(Delivery.status.in_(FINISHED), Delivery.completed_at < before,
                         Delivery.created_at < before)
                  .order_by(Delivery.created_at).limit(batch_size))
    deleted = 0
    while True:
        ids = list(session.scalars(candidates))
        if ids:
            session.execute(delete(Delivery).where(Delivery.id.in_(ids))
                            .execution_options(synchronize_session=False))
        session.commit()
        deleted += len(ids)
        if len(ids) < batch_size:
            return deleted


@tenant_job(retries=0, timeout=3600, tenant=False)
def purge_all_tenants() -> dict[str, int]:
    """Periodic entry point: every tenant in turn (suspended ones too: their log also
    ages), bound to it so row-level security holds. Returns deleted rows per tenant
    slug, only for tenants where something was deleted."""
    days = retention_days()
    if days <= 0:
        return {}
    before = utcnow() - timedelta(days=days)
    session = db.session
    tenants = session.execute(select(Tenant.id, Tenant.slug).order_by(Tenant.slug)).all()
    session.commit()
    purged: dict[str, int] = {}
    for tenant_id, slug in tenants:
        with tenant_bound(session, tenant_id):
            n = purge_finished(session, before)
        if n:
            purged[slug] = n
            log.info("delivery log of %s: %d finished deliveries before %s deleted",
                     slug, n, before.isoformat())
    return purged
