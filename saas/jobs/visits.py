"""Return-visit generation: a daily sweep over tenants, and a per-customer rerun when a
customer changes tier (so their open tasks follow the new tier's plan at once).

Generation is idempotent (one task per customer, plan and due date), so a retried or
doubled run creates nothing twice.
"""

from __future__ import annotations

import uuid

from flask import Flask
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.outbox import register_dispatcher
from saas.jobs.runner import tenant_job
from saas.models import OutboxEvent, Tenant


def dispatch(session, event: OutboxEvent) -> None:
    """Outbox dispatcher: a tier change regenerates that customer's visit tasks."""
    if event.name == "customer.tier_changed" and event.entity_id:
        from saas.jobs.queue import enqueue_after_commit

        enqueue_after_commit(session, "saas.jobs.visits:generate_for_customer",
                             event.tenant_id, str(event.entity_id))


def init_app(app: Flask) -> None:
    register_dispatcher(app, dispatch)


@tenant_job(retries=3, intervals=[30, 120, 600], timeout=1800)
def generate(tenant_id: uuid.UUID) -> dict:
    from saas.services import visits

    result = visits.generate(db.session)
    return {"created": result.created, "cancelled": result.cancelled}


@tenant_job(retries=3, intervals=[5, 30, 120], timeout=120)
def generate_for_customer(tenant_id: uuid.UUID, customer_id: str) -> dict:
    from saas.services import visits

    result = visits.generate(db.session, customer_ids=[uuid.UUID(str(customer_id))])
    return {"created": result.created, "cancelled": result.cancelled}


@tenant_job(retries=0, timeout=600, tenant=False)
def generate_all() -> int:
    from saas.jobs.queue import enqueue

    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    db.session.commit()
    for tenant_id in ids:
        enqueue("saas.jobs.visits:generate", tenant_id)
    return len(ids)
