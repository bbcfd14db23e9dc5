"""The nightly retention run: each tenant with a policy applies it in its own job."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Tenant
from saas.services.context import Actor


@tenant_job(retries=2, intervals=[60, 600], timeout=1800)
def apply_tenant(tenant_id: uuid.UUID) -> dict:
    """Apply one tenant's retention policy (idempotent: a second run finds nothing)."""
    from saas.services import retention

    return retention.apply(db.session, Actor.system("retention job"))


@tenant_job(retries=0, timeout=600, tenant=False)
def apply_all_tenants() -> int:
    """Periodic entry point: one job per active tenant that has a retention policy."""
    from saas.jobs.queue import enqueue

    tenants = db.session.scalars(select(Tenant).where(Tenant.status == "active")).all()
    ids = [t.id for t in tenants if ((t.settings or {}).get("retention") or {}).get("months")]
    db.session.commit()
    for tenant_id in ids:
        enqueue("saas.jobs.retention:apply_tenant", tenant_id)
    return len(ids)
