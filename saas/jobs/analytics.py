"""Recompute the analytics tables (CLV, association rules, churn) tenant by tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Tenant


@tenant_job(retries=2, intervals=[60, 600], timeout=3600)
def recompute_tenant(tenant_id: uuid.UUID) -> dict:
    """Fit the CLV models, mine the rules and score churn for one tenant, in one
    transaction (committed by the runner) so the API never shows a half-refreshed set."""
    from saas.analytics import refresh

    return refresh.refresh_all(db.session)  # the runner commits on success


@tenant_job(retries=0, timeout=600, tenant=False)
def recompute_all_tenants() -> int:
    """Periodic entry point: one job per active tenant, so one slow or failing tenant
    does not hold up the others."""
    from saas.jobs.queue import enqueue

    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    db.session.commit()
    for tenant_id in ids:
        enqueue("saas.jobs.analytics:recompute_tenant", tenant_id)
    return len(ids)


@tenant_job(retries=2, intervals=[60, 600], timeout=3600)
def refresh_dashboard(tenant_id: uuid.UUID, full: bool = False) -> dict:
    """Rebuild the tenant's dashboard facts and stamp (committed together by the
    runner, so the page never shows a half-refreshed set)."""
    from saas.analytics import dashboard

    return dashboard.refresh(db.session, full=full)


@tenant_job(retries=0, timeout=600, tenant=False)
def refresh_all_dashboards() -> int:
    """Periodic entry point: one dashboard job per active tenant."""
    from saas.jobs.queue import enqueue

    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    db.session.commit()
    for tenant_id in ids:
        enqueue("saas.jobs.analytics:refresh_dashboard", tenant_id)
    return len(ids)
