"""Delivering outbox events, and the sweep that re-enqueues anything Redis lost."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import OutboxEvent, Tenant
from saas.models.base import utcnow
from saas.tenancy import tenant_bound

SWEEP_AGE = timedelta(seconds=60)


DISPATCHERS_KEY = "saas.event_dispatchers"


def dispatchers():
    """Who receives events; the plugin platform and feature jobs register here."""
    from flask import current_app

    return current_app.extensions.setdefault(DISPATCHERS_KEY, [])


def register_dispatcher(app, dispatch) -> None:
    """Add `dispatch(session, event)` to this app's outbox delivery, once."""
    registered = app.extensions.setdefault(DISPATCHERS_KEY, [])
    if dispatch not in registered:
        registered.append(dispatch)


def enqueue_on(names: tuple[str, ...], job_path: str):
    """A dispatcher that enqueues `job_path(tenant_id, event_id)` after commit for the
    events named, so a feature reacts in its own job and never blocks delivery."""

    def dispatch(session, event: OutboxEvent) -> None:
        if event.name in names:
            from saas.jobs.queue import enqueue_after_commit

            enqueue_after_commit(session, job_path, event.tenant_id, str(event.id))

    return dispatch


def load_event(session, event_id: str) -> OutboxEvent | None:
    return session.scalars(select(OutboxEvent).where(
        OutboxEvent.id == uuid.UUID(str(event_id)))).first()


@tenant_job(retries=5, intervals=[5, 30, 120, 600, 1800], timeout=120)
def deliver_event(tenant_id: uuid.UUID, event_id: str) -> str:
    session = db.session
    event = session.scalars(
        select(OutboxEvent).where(OutboxEvent.id == uuid.UUID(str(event_id)))
        .with_for_update(skip_locked=True)
    ).first()
    if event is None:
        return "missing-or-busy"
    if event.status == "delivered":
        return "already-delivered"
    event.attempts += 1
    try:
        for dispatch in dispatchers():
            dispatch(session, event)
    except Exception as exc:
        event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        session.commit()
        raise
    event.status = "delivered"
    event.delivered_at = utcnow()
    event.last_error = None
    return "delivered"


@tenant_job(retries=0, timeout=600, tenant=False)
def sweep_outbox(older_than: int = int(SWEEP_AGE.total_seconds())) -> int:
    """Re-enqueue events pending for longer than `older_than` seconds, tenant by tenant
    (RLS holds). The age keeps the sweep from racing the enqueue that follows a commit."""
    from saas.jobs.queue import enqueue

    session = db.session
    count = 0
    cutoff = utcnow() - timedelta(seconds=older_than)
    for tenant_id in session.scalars(select(Tenant.id)).all():
        with tenant_bound(session, tenant_id):
            ids = session.scalars(
                select(OutboxEvent.id).where(OutboxEvent.status == "pending",
                                             OutboxEvent.created_at < cutoff).limit(1000)
            ).all()
            session.commit()
        for event_id in ids:
            enqueue("saas.jobs.outbox:deliver_event", tenant_id, event_id,
                    job_id=f"outbox-{event_id}")
            count += 1
    return count
