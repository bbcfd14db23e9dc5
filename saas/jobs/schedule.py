"""Periodic jobs, run by RQ's cron scheduler that `flask worker` (or `flask cron`) starts.

Each entry has a fixed name. Every run gets a deterministic job id — a hash of the
definition plus the time slot it belongs to — and is claimed in Redis with SET NX first,
so two schedulers, or a restarted one, never enqueue the same slot twice.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from rq import Queue
from rq.cron import CronJob, CronScheduler

log = logging.getLogger("saas.jobs")
CLAIM_PREFIX = "saas:periodic:"


@dataclass(frozen=True)
class Periodic:
    name: str
    path: str
    interval: int | None = None
    cron: str | None = None

    def job_id(self, queue_name: str, slot: int) -> str:
        """Same definition, queue and slot: same id, in any process on any machine."""
        raw = f"{self.name}|{self.path}|{self.interval}|{self.cron}|{queue_name}"
        digest = hashlib.sha256(raw.encode()).hexdigest()[:10]
        return f"periodic-{self.name}-{digest}-{slot}"


PERIODIC: list[Periodic] = [
    Periodic("outbox-sweep", "saas.jobs.outbox:sweep_outbox", interval=60),
    Periodic("measures-nightly", "saas.jobs.measures:refresh_all_tenants", cron="0 2 * * *"),
    Periodic("loyalty-nightly", "saas.jobs.loyalty:nightly_all", cron="30 3 * * *"),
    Periodic("plugin-delivery-retry", "saas.jobs.deliveries:retry_due_deliveries",
             interval=30),
    Periodic("plugin-pull", "saas.jobs.deliveries:pull_plugin_changes", interval=300),
    Periodic("sla-escalation", "saas.jobs.tickets:escalate_all", interval=300),
    Periodic("visits-daily", "saas.jobs.visits:generate_all", cron="0 1 * * *"),
    Periodic("care-hourly", "saas.jobs.care:run_all", cron="5 * * * *"),
    Periodic("campaign-tick", "saas.jobs.campaigns:tick_all", interval=60),
    Periodic("privacy-retention", "saas.jobs.retention:apply_all_tenants",
             cron="15 4 * * *"),
    Periodic("plugin-delivery-retention", "saas.jobs.delivery_retention:purge_all_tenants",
             cron="40 4 * * *"),
    Periodic("analytics-nightly", "saas.jobs.analytics:recompute_all_tenants",
             cron="45 2 * * *"),
    Periodic("dashboard-refresh", "saas.jobs.analytics:refresh_all_dashboards",
             cron="10 */3 * * *"),
]


class PeriodicCronJob(CronJob):
    """A cron job whose runs have deterministic ids and are claimed once per slot."""

    def __init__(self, periodic: Periodic, queue_name: str) -> None:
        from saas.jobs.queue import resolve

        func = resolve(periodic.path)
        spec = getattr(func, "job_spec", None)
        super().__init__(queue_name=queue_name, func=func, interval=periodic.interval,
                         cron=periodic.cron, name=periodic.name,
                         job_timeout=spec.timeout if spec else None)
        self.periodic = periodic

    def slot(self, at: datetime | None = None) -> int:
        """Interval jobs: the interval number since the epoch; cron jobs: the scheduled
        minute. Both are the same for every scheduler that looks at the same moment."""
        if self.periodic.interval:
            at = at or datetime.now(UTC)
            return int(at.timestamp()) // self.periodic.interval
        due = self.next_enqueue_time or at or datetime.now(UTC)
        return int(due.timestamp()) // 60

    def enqueue(self, connection: Redis):  # type: ignore[override]
        job_id = self.periodic.job_id(self.queue_name, self.slot())
        ttl = max(self.periodic.interval or 0, 3600) * 2
        if not connection.set(f"{CLAIM_PREFIX}{self.queue_name}:{job_id}", "1", nx=True, ex=ttl):
            log.info("periodic %s: slot already enqueued by another scheduler", job_id)
            return None
        queue = Queue(self.queue_name, connection=connection)
        job = queue.enqueue(self.func, job_id=job_id, **self.job_options)
        log.info("periodic %s: enqueued on %s", job_id, self.queue_name)
        return job


class PeriodicScheduler(CronScheduler):
    def add(self, periodic: Periodic, queue_name: str) -> PeriodicCronJob:
        job = PeriodicCronJob(periodic, queue_name)
        self._cron_jobs.append(job)
        return job


def build_scheduler(connection: Redis, queue_name: str,
                    entries: list[Periodic] | None = None) -> PeriodicScheduler:
    scheduler = PeriodicScheduler(connection=connection)
    for periodic in PERIODIC if entries is None else entries:
        scheduler.add(periodic, queue_name)
    return scheduler
