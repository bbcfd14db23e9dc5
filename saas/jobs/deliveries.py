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
    attempted = deliveries.attempt(db.session, delivery_id)
    if attempted is None:
        return "not-due"
    delivery, outcome = attempted
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


@tenant_job(retries=0, timeout=600, tenant=False)
def pull_plugin_changes() -> int:
    """Enqueue one pull per (tenant, enabled plugin implementing `pull_changes`)."""
    from saas.hooks.manager import get_host
    from saas.jobs.queue import enqueue
    from saas.services.plugins import enabled_names

    host = get_host()
    pullers = {n for n in host.names() if host.implements(n, "pull_changes")}
    if not pullers:
        return 0
    session = db.session
    count = 0
    for tenant_id in session.scalars(select(Tenant.id)).all():
        with tenant_bound(session, tenant_id):
            names = [n for n in enabled_names(session) if n in pullers]
            session.commit()
        for name in names:
            enqueue("saas.jobs.deliveries:pull_for_tenant", tenant_id, name,
                    job_id=f"plugin-pull-{tenant_id}-{name}")
            count += 1
    return count


@tenant_job(retries=0, timeout=600)
def pull_for_tenant(tenant_id: uuid.UUID, plugin: str) -> dict:
    """Ask one plugin for what changed since its last pull and merge it."""
    from saas.hooks.manager import get_host, run_with_timeout
    from saas.models.base import utcnow
    from saas.services import plugin_sync
    from saas.services.plugins import (
        bound_tenant,
        get_config,
        plugin_settings,
        tenant_info,
    )

    session = db.session
    host = get_host()
    cfg = get_config(session, plugin)
    if cfg is None or not cfg.enabled or not host.implements(plugin, "pull_changes"):
        return {"skipped": "not enabled"}
    started = utcnow()
    since = plugin_sync.last_pulled(cfg)
    try:
        config = plugin_settings(session, plugin)
        tenant = tenant_info(bound_tenant(session))
        changes = run_with_timeout(
            lambda: host.call(plugin, "pull_changes", since=since, tenant=tenant,
                              config=config),
            deliveries.plugin_timeout() * 3, f"{plugin}.pull_changes")
    except Exception as exc:
        error = deliveries.describe(exc)
        log.warning("pull from %s for tenant %s failed: %s", plugin, tenant_id, error)
        plugin_sync.mark_pulled(cfg, started, None, error)
        return {"error": error}
    report = plugin_sync.apply_changes(session, plugin, changes)
    plugin_sync.mark_pulled(get_config(session, plugin), started, report)
    return report.as_dict()
