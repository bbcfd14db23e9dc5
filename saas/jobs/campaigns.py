"""Campaign jobs: one batch of recipients, and the minute tick (schedules, A/B winners,
stale claims, deferred batches).

`send_batch` is safe to run twice or concurrently for the same batch: every row is
claimed with a conditional UPDATE before it is sent, so duplicates only find nothing
left to claim. It commits as it goes (claim, then send), which is why it drives its own
transactions instead of leaving the commit to the runner.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import Tenant
from saas.models.campaigns import Campaign
from saas.tenancy import tenant_bound


@tenant_job(retries=3, intervals=[10, 60, 300], timeout=1800)
def send_batch(tenant_id: uuid.UUID, campaign_id: str, batch: int) -> dict:
    from saas.services import campaigns

    return campaigns.process_batch(db.session, campaign_id, int(batch))


@tenant_job(retries=0, timeout=600, tenant=False)
def tick_all() -> dict:
    """Run the campaign tick for every tenant with scheduled or active campaigns."""
    from saas.services import campaigns

    session = db.session
    totals = {"tenants": 0, "started": 0, "winners": 0, "reclaimed": 0, "dispatched": 0}
    for tenant_id in session.scalars(select(Tenant.id)).all():
        with tenant_bound(session, tenant_id):
            busy = session.scalar(select(Campaign.id).where(
                Campaign.status.in_(("scheduled", "running"))).limit(1))
            if busy is None:
                session.commit()
                continue
            out = campaigns.tick(session)
            session.commit()
        totals["tenants"] += 1
        for key, value in out.items():
            totals[key] += value
    return totals
