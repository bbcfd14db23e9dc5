"""Handing outbox events and channel messages to plugins, one `Delivery` row per call.

The life of a delivery: *pending* (created, or claimed with a lease while a job runs it)
→ *succeeded*; or → *failed* with a next retry time (exponential backoff, capped) → ...
→ *dead* after the last attempt. *paused* means it cannot run now (plugin missing or
disabled) and resumes when that changes. A claimed delivery whose worker died is due
again when its lease runs out, so every delivery is attempted at least once more.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.hooks.manager import PluginHost, get_host, run_with_timeout
from saas.hooks.types import OutboundMessage, PluginEvent, SendResult
from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.models.plugins import DELIVERY_STATUSES, Delivery, PluginConfig
from saas.services import audit
from saas.services.context import Actor
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.services.plugins import bound_tenant, channels_of, plugin_settings, tenant_info

EVENT_HOOKS = ("on_event", "on_customer_event", "sync_customer")
SYNC_EVENTS = ("customer.created", "customer.updated")
RETRY_BASE = 30
RETRY_CAP = 3600
MAX_RESULT_CHARS = 20000
MISSING = "Plugin is not installed; delivery paused until it is."
DISABLED = "Plugin is disabled for this tenant; delivery paused until it is enabled."
RETRYABLE = ("failed", "dead", "paused")


def plugin_timeout() -> float:
    return float(current_app.config.get("PLUGIN_TIMEOUT") or 20)


def max_attempts() -> int:
    return int(current_app.config.get("PLUGIN_MAX_ATTEMPTS") or 8)


def lease() -> timedelta:
    """How long a claimed delivery is left alone: past it, its worker is presumed dead."""
    return timedelta(seconds=plugin_timeout() * 2 + 1)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... doubling after each failed attempt, at most an hour."""
    return timedelta(seconds=min(RETRY_CAP, RETRY_BASE * 2 ** max(0, attempts - 1)))


# -- creating deliveries -----------------------------------------------------------


def dispatch_event(session: Session, event: OutboxEvent) -> list[Delivery]:
    """The outbox dispatcher: one delivery per enabled plugin that listens to events.

    Idempotent: running it again for the same event adds nothing (the event id is the
    delivery key). Jobs are enqueued only after the transaction commits.
    """
    from saas.jobs.queue import enqueue_after_commit

    host = get_host()
    created = []
    configs = session.scalars(select(PluginConfig).where(PluginConfig.enabled.is_(True))
                              .order_by(PluginConfig.plugin)).all()
    key = str(event.id)
    for cfg in configs:
        installed = host.get(cfg.plugin) is not None
        if installed and not any(host.implements(cfg.plugin, h) for h in EVENT_HOOKS):
            continue
        exists = session.scalar(select(Delivery.id).where(Delivery.plugin == cfg.plugin,
                                                          Delivery.key == key))
        if exists is not None:
            continue
        delivery = Delivery(plugin=cfg.plugin, kind="event", key=key, event_id=event.id,
                            event_name=event.name, payload={}, attempts=0,
                            status="pending" if installed else "paused",
                            last_error=None if installed else MISSING,
                            next_retry_at=utcnow())
        session.add(delivery)
        session.flush()
        created.append(delivery)
        if installed:
            enqueue_after_commit(session, "saas.jobs.deliveries:run_delivery",
                                 event.tenant_id, delivery.id)
    return created


# -- running one delivery ---------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    result: dict | None = None
    error: str | None = None


def claim(session: Session, delivery_id: Any, now: datetime | None = None,
          host: PluginHost | None = None) -> Delivery | None:
    """Take a due delivery for one attempt: count it and lease it. None if not due,
    finished, or taken by another worker. The caller commits before calling the plugin,
    so the attempt is on record even if the worker dies during the call."""
    host = host or get_host()
    now = now or utcnow()
    delivery = session.scalars(
        select(Delivery).where(Delivery.id == _uuid(delivery_id))
        .with_for_update(skip_locked=True)).first()
    if delivery is None or delivery.status not in ("pending", "failed"):
        return None
    if delivery.next_retry_at is not None and delivery.next_retry_at > now:
        return None
    if host.get(delivery.plugin) is None:
        delivery.status, delivery.last_error = "paused", MISSING
        return None
    cfg = session.scalars(select(PluginConfig)
                          .where(PluginConfig.plugin == delivery.plugin)).first()
    if cfg is None or not cfg.enabled:
        delivery.status, delivery.last_error = "paused", DISABLED
        return None
    delivery.attempts += 1
    delivery.status = "pending"
    delivery.next_retry_at = now + lease()
    return delivery


def execute(session: Session, delivery: Delivery, host: PluginHost | None = None) -> Outcome:
    """Call the plugin for a claimed delivery, under the time limit; never raises."""
    host = host or get_host()
    try:
        config = plugin_settings(session, delivery.plugin, host)
    except InvalidInput as exc:
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.errors.items())
        return Outcome(False, error=f"Settings invalid: {detail or exc.message}")
    except Exception as exc:  # e.g. a secret no key in ENCRYPTION_KEYS decrypts
        return Outcome(False, error=f"Settings unreadable: {describe(exc)}")
    tenant = tenant_info(bound_tenant(session))
    try:
        if delivery.kind == "message":
            call = _message_call(delivery, config, tenant, host)
        else:
            call = _event_call(session, delivery, config, tenant, host)
    except LookupError as exc:
        return Outcome(False, error=str(exc))
    try:
        raw = run_with_timeout(call, plugin_timeout(), delivery.plugin)
    except Exception as exc:
        return Outcome(False, error=describe(exc))
    return _check_result(raw)


def _event_call(session: Session, delivery: Delivery, config: Mapping, tenant, host):
    row = session.scalars(select(OutboxEvent)
                          .where(OutboxEvent.id == delivery.event_id)).first()
    if row is None:
        raise LookupError("The event no longer exists.")
    event = PluginEvent(id=row.id, name=row.name, entity_type=row.entity_type,
                        entity_id=row.entity_id, payload=dict(row.payload or {}),
                        occurred_at=row.created_at, tenant_id=row.tenant_id)
    name = delivery.plugin
    customer = None
    if event.entity_type == "customer":
        customer = {**dict(event.payload), "id": event.entity_id,
                    **customer_snapshot(session, event.entity_id)}

    def call() -> dict:
        results: dict[str, Any] = {}
        if customer is not None:
            for hook in ("on_customer_event", "sync_customer"):
                if hook == "sync_customer" and event.name not in SYNC_EVENTS:
                    continue
                if host.implements(name, hook):
                    results[hook] = host.call(name, hook, event=event, customer=customer,
                                              tenant=tenant, config=config)
        if host.implements(name, "on_event"):
            results["on_event"] = host.call(name, "on_event", event=event, tenant=tenant,
                                            config=config)
        return results

    return call


SNAPSHOT_FIELDS = ("kind", "name", "email", "phone", "emails", "phones", "category",
                   "lifecycle_stage", "tags", "consent", "custom_fields", "external_id",
                   "industry", "owner_id", "updated_at", "created_at")


def customer_snapshot(session: Session, customer_id: Any) -> dict[str, Any]:
    """The customer as it is now, as plain JSON values (empty if it no longer exists).

    Plugins get the current record rather than the event payload, so a delayed retry
    never pushes stale data to an external system."""
    from saas.models.customers import Customer

    try:
        cid = _uuid(customer_id)
    except NotFound:
        return {}
    row = session.scalars(select(Customer).where(Customer.id == cid)).first()
    if row is None:
        return {}
    return json.loads(json.dumps({f: getattr(row, f) for f in SNAPSHOT_FIELDS},
                                 default=_plain))


def _plain(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _message_call(delivery: Delivery, config: Mapping, tenant, host):
    channel = channels_of(delivery.plugin, host).get(delivery.channel or "")
    if channel is None:
        raise LookupError(f"Plugin {delivery.plugin} no longer offers the "
                          f"{delivery.channel} channel.")
    p = delivery.payload or {}
    message = OutboundMessage(id=delivery.key, to=p.get("to", ""), body=p.get("body", ""),
                              subject=p.get("subject"), html=p.get("html"),
                              customer_id=p.get("customer_id"),
                              context=dict(p.get("context") or {}))

    def call() -> dict:
        sent = channel.send(message, config)
        if isinstance(sent, SendResult):
            sent = {"provider_id": sent.provider_id, **dict(sent.detail)}
        if not isinstance(sent, Mapping) or not sent.get("provider_id"):
            raise TypeError(f"channel {delivery.channel} returned {type(sent).__name__}, "
                            "not a result with a provider_id")
        return {"send": {**sent, "provider_id": str(sent["provider_id"])}}

    return call


def _check_result(raw: Any) -> Outcome:
    """Anything a plugin returns is stored only if it is plain JSON of modest size."""
    try:
        text = json.dumps(raw, default=_reject)
    except (TypeError, ValueError) as exc:
        return Outcome(False, error=f"Plugin returned an unusable result: {exc}")
    if len(text) > MAX_RESULT_CHARS:
        return Outcome(True, result={"truncated": text[:2000]})
    return Outcome(True, result=json.loads(text) if raw is not None else None)


def _reject(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def describe(exc: BaseException) -> str:
    text = str(exc).strip() or repr(exc)
    return f"{type(exc).__name__}: {text}"[:2000]


def record(delivery: Delivery, outcome: Outcome, now: datetime | None = None) -> Delivery:
    """Write an attempt's outcome: succeeded, failed with the next retry time, or dead."""
    now = now or utcnow()
    if outcome.ok:
        delivery.status = "succeeded"
        delivery.result = outcome.result
        delivery.last_error = None
        delivery.next_retry_at = None
        delivery.completed_at = now
    elif delivery.attempts >= max_attempts():
        delivery.status = "dead"
        delivery.last_error = outcome.error
        delivery.next_retry_at = None
        delivery.completed_at = now
    else:
        delivery.status = "failed"
        delivery.last_error = outcome.error
        delivery.next_retry_at = now + backoff(delivery.attempts)
    return delivery


def remember_results(session: Session, delivery: Delivery) -> None:
    """Keep what a successful call told us: the external id of a customer it pushed."""
    from saas.services.plugin_sync import record_push

    result = delivery.result or {}
    hooks = [h for h in ("sync_customer", "on_customer_event")
             if isinstance(result, dict) and isinstance(result.get(h), dict)
             and result[h].get("external_id")]
    if delivery.kind != "event" or not hooks:
        return
    row = session.scalars(select(OutboxEvent)
                          .where(OutboxEvent.id == delivery.event_id)).first()
    if row is not None and row.entity_id:
        record_push(session, delivery.plugin, row.entity_id, result[hooks[0]])


def attempt(session: Session, delivery_id: Any) -> tuple[Delivery, Outcome] | None:
    """One attempt: claim (committed first, so a crash mid-call still counts), call,
    record, keep the results. None when the delivery is not due. The caller commits."""
    delivery = claim(session, delivery_id)
    session.commit()
    if delivery is None:
        return None
    outcome = execute(session, delivery)
    record(delivery, outcome)
    if outcome.ok:
        remember_results(session, delivery)
    return delivery, outcome


# -- retries and the admin's view --------------------------------------------------


def due_ids(session: Session, now: datetime | None = None, limit: int = 500,
            host: PluginHost | None = None) -> list[uuid.UUID]:
    """Deliveries of the bound tenant to run now; paused ones whose plugin is back (and
    enabled) are resumed on the way."""
    host = host or get_host()
    now = now or utcnow()
    enabled = set(session.scalars(select(PluginConfig.plugin)
                                  .where(PluginConfig.enabled.is_(True))))
    paused = session.scalars(select(Delivery).where(Delivery.status == "paused")
                             .limit(limit)).all()
    for delivery in paused:
        if delivery.plugin in enabled and host.get(delivery.plugin) is not None:
            delivery.status, delivery.last_error, delivery.next_retry_at = "pending", None, now
    session.flush()
    return list(session.scalars(
        select(Delivery.id).where(Delivery.status.in_(("pending", "failed")),
                                  Delivery.next_retry_at <= now)
        .order_by(Delivery.next_retry_at).limit(limit)))


@dataclass
class DeliveryFilter:
    status: str | None = None
    plugin: str | None = None
    event_name: str | None = None


def query(flt: DeliveryFilter):
    stmt = select(Delivery)
    if flt.status:
        if flt.status not in DELIVERY_STATUSES:
            raise InvalidInput.field("status", f"Use one of: {', '.join(DELIVERY_STATUSES)}.")
        stmt = stmt.where(Delivery.status == flt.status)
    if flt.plugin:
        stmt = stmt.where(Delivery.plugin == flt.plugin)
    if flt.event_name:
        stmt = stmt.where(Delivery.event_name == flt.event_name)
    return stmt.order_by(Delivery.created_at.desc(), Delivery.id.desc())


def list_deliveries(session: Session, flt: DeliveryFilter, page: int = 1,
                    per_page: int = 50) -> tuple[list[Delivery], bool]:
    """One page of deliveries, newest first, and whether another page follows."""
    page = max(1, page)
    rows = list(session.scalars(query(flt).offset((page - 1) * per_page)
                                .limit(per_page + 1)))
    return rows[:per_page], len(rows) > per_page


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    return {status: n for status, n in rows}


def get_delivery(session: Session, delivery_id: Any) -> Delivery:
    delivery = session.scalars(select(Delivery)
                               .where(Delivery.id == _uuid(delivery_id))).first()
    if delivery is None:
        raise NotFound("No such delivery.")
    return delivery


def retry(session: Session, actor: Actor, delivery_id: Any) -> Delivery:
    """Run a failed, dead or paused delivery again now, with a fresh attempt budget."""
    from saas.jobs.queue import enqueue_after_commit

    delivery = get_delivery(session, delivery_id)
    if delivery.status not in RETRYABLE:
        raise Conflict(f"A {delivery.status} delivery cannot be retried.")
    previous = delivery.status
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_retry_at = utcnow()
    delivery.completed_at = None
    audit.record(session, actor, "plugin.delivery_retried", "plugin_delivery", delivery.id,
                 {"status": [previous, "pending"], "plugin": delivery.plugin})
    session.flush()
    enqueue_after_commit(session, "saas.jobs.deliveries:run_delivery", delivery.tenant_id,
                         delivery.id)
    return delivery


def retry_matching(session: Session, actor: Actor, flt: DeliveryFilter,
                   limit: int = 10_000) -> int:
    """Retry every retryable delivery of the bound tenant matching `flt` (after an outage
    is fixed); returns how many were queued again."""
    if flt.status and flt.status not in RETRYABLE:
        raise InvalidInput.field("status", f"Use one of: {', '.join(RETRYABLE)}.")
    stmt = query(flt).where(Delivery.status.in_(RETRYABLE)).limit(limit)
    ids = list(session.scalars(stmt.with_only_columns(Delivery.id)))
    for delivery_id in ids:
        retry(session, actor, delivery_id)
    return len(ids)


def _uuid(value: Any) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise NotFound("No such delivery.") from exc
