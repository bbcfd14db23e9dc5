"""Nightly recomputation of measures, RFM quintiles and tiers, tenant by tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Tenant


@tenant_job(retries=2, intervals=[60, 600], timeout=3600)
def refresh_tenant(tenant_id: uuid.UUID) -> dict:
    """Full, set-based refresh of one tenant, then the applied tier rules re-evaluated."""
    from saas.services import measures, tiers

    count = measures.refresh_all(db.session)
    moved = tiers.reapply(db.session)
    return {"customers": count, "tiers": moved}


@tenant_job(retries=3, intervals=[5, 30, 120], timeout=120)
def refresh_customers(tenant_id: uuid.UUID, customer_ids: list[str]) -> int:
    from saas.services import measures

    return measures.refresh_customers(db.session, customer_ids)


@tenant_job(retries=0, timeout=600, tenant=False)
def refresh_all_tenants() -> int:
    """Periodic entry point: one job per active tenant, so one slow tenant cannot hold
    up (or fail) the others."""
    from saas.jobs.queue import enqueue

    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    db.session.commit()
    for tenant_id in ids:
        enqueue("saas.jobs.measures:refresh_tenant", tenant_id)
    return len(ids)
