"""Delivery jobs: one attempt of one plugin delivery, and the periodic retry sweep.

Retries are ours, not RQ's (`retries=0`): the schedule, the dead state and the error
must live in PostgreSQL where the admin sees them, and survive a lost Redis.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Tenant
from saas.services import plugin_deliveries as deliveries
from saas.tenancy import tenant_bound

log = logging.getLogger("saas.jobs.deliveries")


@tenant_job(retries=0, timeout=300)
def run_delivery(tenant_id: uuid.UUID, delivery_id: str) -> str:
    """Claim (committed first, so a crash mid-call still counts), call, record."""
    session = db.session
    delivery = deliveries.claim(session, delivery_id)
    session.commit()
    if delivery is None:
        return "not-due"
    outcome = deliveries.execute(session, delivery)
    deliveries.record(delivery, outcome)
    if not outcome.ok:
        log.warning("delivery %s to %s failed (attempt %s): %s", delivery.id,
                    delivery.plugin, delivery.attempts, outcome.error)
    return delivery.status


@tenant_job(retries=0, timeout=600, tenant=False)
def retry_due_deliveries() -> int:
    """Enqueue every delivery whose retry time (or lease) has passed, tenant by tenant."""
    from saas.jobs.queue import enqueue

    session = db.session
    count = 0
    for tenant_id in session.scalars(select(Tenant.id)).all():
        with tenant_bound(session, tenant_id):
            ids = deliveries.due_ids(session)
            session.commit()
        for delivery_id in ids:
            enqueue("saas.jobs.deliveries:run_delivery", tenant_id, delivery_id)
            count += 1
    return count
