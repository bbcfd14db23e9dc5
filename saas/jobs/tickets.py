"""SLA escalation: a periodic sweep over tenants, one escalation job per tenant.

The sweep only enqueues; each tenant's job escalates its breached tickets, and the
service claims every breach with a conditional UPDATE, so a job that runs twice (a
retry, two schedulers) escalates nothing twice.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Tenant


@tenant_job(retries=3, intervals=[30, 120, 600], timeout=300)
def escalate(tenant_id: uuid.UUID) -> int:
    from saas.services import tickets

    return len(tickets.escalate_overdue(db.session))


@tenant_job(retries=0, timeout=300, tenant=False)
def escalate_all() -> int:
    from saas.jobs.queue import enqueue

    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    db.session.commit()
    for tenant_id in ids:
        enqueue("saas.jobs.tickets:escalate", tenant_id)
    return len(ids)
