"""Jobs for the worker tests, imported by the real worker as `tests.jobs.worker_jobs`.

They count their attempts in the outbox event's payload (in the database, so the count
survives the forked work-horses) and fail on purpose until told otherwise.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select, text

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import OutboxEvent

log = logging.getLogger("tests.jobs")


def _count_attempt(event_id: str) -> int:
    session = db.session
    event = session.scalars(select(OutboxEvent).where(
        OutboxEvent.id == uuid.UUID(str(event_id)))).one()
    attempt = int(event.payload.get("probe_attempts", 0)) + 1
    user = None
    if session.get_bind().dialect.name == "postgresql":
        user = session.execute(text("SELECT current_user")).scalar()
    event.payload = {**event.payload, "probe_attempts": attempt, "db_user": user}
    session.commit()
    return attempt


@tenant_job(retries=2, intervals=[0], timeout=30)
def flaky(tenant_id: uuid.UUID, event_id: str, fail_times: int) -> int:
    attempt = _count_attempt(event_id)
    if attempt <= fail_times:
        raise RuntimeError(f"attempt {attempt} fails on purpose")
    return attempt


@tenant_job(retries=1, intervals=[1], timeout=30)
def flaky_later(tenant_id: uuid.UUID, event_id: str, fail_times: int) -> int:
    attempt = _count_attempt(event_id)
    if attempt <= fail_times:
        raise RuntimeError(f"attempt {attempt} fails on purpose")
    return attempt


@tenant_job(retries=0, timeout=30)
def chatty(tenant_id: uuid.UUID, marker: str) -> str:
    log.warning("probe says %s", marker)
    return marker
