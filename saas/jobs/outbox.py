"""Delivering outbox events, and the sweep that re-enqueues anything Redis lost.

One event: `deliver_event` runs every dispatcher on it. A range of events written by a
set-based writer (an import chunk): `deliver_batch` takes them page by page in id order.
Plugin deliveries are the expensive part, so the batch does them itself: it asks once per
page which enabled plugins listen to events at all, writes their `Delivery` rows in one
statement (same rows, keys and statuses as `plugin_deliveries.dispatch_event`) and makes
each first attempt in order, in this job, instead of a job per delivery; failures keep
the usual per-delivery retries and dead state. With no listening plugin and no other
dispatcher interested in the page's event names, a page costs two statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Uuid

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.models import OutboxEvent, Tenant
from saas.models.base import new_id, utcnow
from saas.tenancy import current_tenant_id, tenant_bound

SWEEP_AGE = timedelta(seconds=60)
SWEEP_LIMIT = 20_000
BATCH_PAGE = 1000
BREAKER = 3  # consecutive failures of one plugin before a batch stops calling it


DISPATCHERS_KEY = "saas.event_dispatchers"


def dispatchers():
    """Who receives events; the plugin platform and feature jobs register here."""
    from flask import current_app

    return current_app.extensions.setdefault(DISPATCHERS_KEY, [])


def register_dispatcher(app, dispatch) -> None:
    """Add `dispatch(session, event)` to this app's outbox delivery, once.

    A dispatcher with an `events` attribute (a collection of names) says it ignores every
    other event, which lets `deliver_batch` skip it for pages without those names; one
    without is called for every event, by `deliver_batch` with an `EventView` (the
    event's attributes, read-only) rather than an ORM object."""
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

    dispatch.events = frozenset(names)  # type: ignore[attr-defined]
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


class EventView:
    """What a dispatcher reads of an event, without the cost of an ORM object (a batch
    hands thousands of them to dispatchers that mostly look at the name and move on)."""

    __slots__ = ("id", "tenant_id", "name", "entity_type", "entity_id", "payload",
                 "created_at", "status", "attempts")

    def __init__(self, row: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(row, name))


_VIEW_COLUMNS = [getattr(OutboxEvent, name) for name in EventView.__slots__]


def _with_ids(session, stmt, column, ids: list[uuid.UUID]):
    """`column IN ids` as one array parameter on PostgreSQL (a thousand separate
    parameters cost more to send than the statement costs to run)."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.where(column == any_(bindparam("ids", ids, type_=ARRAY(Uuid()))))
    return stmt.where(column.in_(ids))


def _interested(dispatch: Callable, names: Collection[str]) -> bool:
    wanted = getattr(dispatch, "events", None)
    return wanted is None or not wanted.isdisjoint(names)


@tenant_job(retries=5, intervals=[5, 30, 120, 600, 1800], timeout=4 * 3600)
def deliver_batch(tenant_id: uuid.UUID, first_id: str, last_id: str) -> dict[str, int]:
    """Deliver the pending events with ids in [first_id, last_id] in id order.

    Idempotent: delivered events are skipped and a delivery is never added twice (the
    event id is its key), so RQ's retry or the sweep may run it again. Events locked by a
    concurrent `deliver_event` are left to it."""
    from saas.services import plugin_deliveries as pd

    session = db.session
    first, last = uuid.UUID(str(first_id)), uuid.UUID(str(last_id))
    others = [d for d in dispatchers() if d is not pd.dispatch_event]
    plugins_listen = pd.dispatch_event in dispatchers()
    report = {"events": 0, "deliveries": 0, "failed": 0}
    stalled: set[str] = set()
    after: uuid.UUID | None = None
    while True:
        stmt = (select(*_VIEW_COLUMNS)
                .where(OutboxEvent.id.between(first, last), OutboxEvent.status == "pending")
                .order_by(OutboxEvent.id).limit(BATCH_PAGE).with_for_update(skip_locked=True))
        if after is not None:
            stmt = stmt.where(OutboxEvent.id > after)
        page = [EventView(row) for row in session.execute(stmt)]
        if not page:
            return report
        after = page[-1].id
        ids = [row.id for row in page]
        names = {row.name for row in page}
        called = [d for d in others if _interested(d, names)]
        for view in page if called else ():
            for dispatch in called:
                dispatch(session, view)
        created = _add_deliveries(session, page) if plugins_listen else []
        session.execute(_with_ids(session, update(OutboxEvent), OutboxEvent.id, ids).values(
            status="delivered", attempts=OutboxEvent.attempts + 1, delivered_at=utcnow(),
            last_error=None).execution_options(synchronize_session=False))
        session.commit()
        report["events"] += len(ids)
        report["deliveries"] += len(created)
        report["failed"] += _attempt(session, created, stalled)


def _add_deliveries(session, page: Sequence[Any]) -> list[tuple[uuid.UUID, str]]:
    """`plugin_deliveries.dispatch_event` for a page of events in two statements: the
    (id, plugin) of each delivery added as pending, in event order."""
    from saas.hooks.manager import get_host
    from saas.models.plugins import Delivery, PluginConfig
    from saas.services import plugin_deliveries as pd

    host = get_host()
    listeners: dict[str, bool] = {}
    for name in session.scalars(select(PluginConfig.plugin)
                                .where(PluginConfig.enabled.is_(True))
                                .order_by(PluginConfig.plugin)):
        installed = host.get(name) is not None
        if not installed or any(host.implements(name, h) for h in pd.EVENT_HOOKS):
            listeners[name] = installed
    if not listeners:
        return []
    done = set(session.execute(_with_ids(
        session, select(Delivery.plugin, Delivery.key).where(
            Delivery.plugin.in_(list(listeners))), Delivery.event_id,
        [row.id for row in page])).all())
    now, tid = utcnow(), current_tenant_id(session)
    rows, pending = [], []
    for event in page:
        for plugin, installed in listeners.items():
            if (plugin, str(event.id)) in done:
                continue
            delivery_id = new_id()
            rows.append({"tenant_id": tid, "id": delivery_id, "created_at": now,
                         "updated_at": now, "plugin": plugin, "kind": "event",
                         "key": str(event.id), "event_id": event.id,
                         "event_name": event.name, "payload": {}, "attempts": 0,
                         "status": "pending" if installed else "paused",
                         "last_error": None if installed else pd.MISSING,
                         "next_retry_at": now})
            if installed:
                pending.append((delivery_id, plugin))
    if rows:
        session.execute(insert(Delivery), rows)
    return pending


def _attempt(session, created: list[tuple[uuid.UUID, str]], stalled: set[str]) -> int:
    """The first attempt of each new delivery, in order, as `run_delivery` makes it.

    A plugin that fails `BREAKER` times running is not called again by this batch: its
    remaining deliveries wait for their first retry time, so a dead receiver costs a few
    timeouts, not one per event. Returns the number of failed attempts."""
    from saas.models.plugins import Delivery
    from saas.services import plugin_deliveries as pd

    failed, streak = 0, dict.fromkeys({p for _, p in created}, 0)
    for delivery_id, plugin in created:
        if plugin in stalled:
            continue
        attempted = pd.attempt(session, delivery_id)
        if attempted is None:
            continue
        _delivery, outcome = attempted
        if outcome.ok:
            streak[plugin] = 0
        else:
            failed += 1
            streak[plugin] += 1
            if streak[plugin] >= BREAKER:
                stalled.add(plugin)
        session.commit()
    waiting = [d for d, p in created if p in stalled]
    if waiting:
        session.execute(update(Delivery).where(
            Delivery.id.in_(waiting), Delivery.attempts == 0,
            Delivery.status == "pending").values(
            next_retry_at=utcnow() + pd.backoff(1)).execution_options(
            synchronize_session=False))
        session.commit()
    return failed


@tenant_job(retries=0, timeout=600, tenant=False)
def sweep_outbox(older_than: int = int(SWEEP_AGE.total_seconds())) -> int:
    """Re-enqueue events pending for longer than `older_than` seconds, tenant by tenant
    (RLS holds): a lone event as `deliver_event`, runs of them (what a lost batch job
    leaves) as `deliver_batch` over `BATCH_PAGE` events at a time. The age keeps the
    sweep from racing the enqueue that follows a commit."""
    from saas.jobs.queue import enqueue

    session = db.session
    count = 0
    cutoff = utcnow() - timedelta(seconds=older_than)
    for tenant_id in session.scalars(select(Tenant.id)).all():
        with tenant_bound(session, tenant_id):
            ids = sorted(session.scalars(
                select(OutboxEvent.id).where(OutboxEvent.status == "pending",
                                             OutboxEvent.created_at < cutoff)
                .order_by(OutboxEvent.created_at).limit(SWEEP_LIMIT)
            ).all())
            session.commit()
        for start in range(0, len(ids), BATCH_PAGE):
            group = ids[start:start + BATCH_PAGE]
            if len(group) == 1:
                enqueue("saas.jobs.outbox:deliver_event", tenant_id, group[0],
                        job_id=f"outbox-{group[0]}")
            else:
                enqueue("saas.jobs.outbox:deliver_batch", tenant_id, str(group[0]),
                        str(group[-1]), job_id=f"outbox-batch-{group[0]}-{group[-1]}")
            count += len(group)
    return count

