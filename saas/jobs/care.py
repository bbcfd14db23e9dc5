"""Automated care runs: an hourly sweep enqueues one run per tenant.

Hourly, so that greetings held back by a tenant's quiet hours go out when they end; a
run is idempotent (each occasion is claimed once), so the repeats are harmless.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Tenant


@tenant_job(retries=3, intervals=[60, 300, 900], timeout=1800)
def run(tenant_id: uuid.UUID) -> dict:
    from saas.services import care

    result = care.run(db.session)
    return {"sent": result.sent, "skipped": result.skipped, "already": result.already,
            "quiet": result.quiet}


@tenant_job(retries=0, timeout=600, tenant=False)
def run_all() -> int:
    from saas.jobs.queue import enqueue

    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    db.session.commit()
    for tenant_id in ids:
        enqueue("saas.jobs.care:run", tenant_id)
    return len(ids)
