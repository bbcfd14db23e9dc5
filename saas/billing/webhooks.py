"""Applying Stripe webhook events to tenants' billing state.

Stripe delivers at least once and in no particular order. So every event is recorded by
its id first (a repeat finds the record and changes nothing), and subscription and invoice
events carry watermarks: an event created before the last one applied to that tenant's
subscription (or invoices) is recorded as `stale` and not applied.
The tenant comes from the `client_reference_id`/metadata set at checkout (on the session
and on the subscription, whose metadata invoices copy); it is bound before the tenant's
billing row is read, so row-level security applies to webhooks too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from saas.billing import gateway
from saas.billing.plans import FREE, PAID_PLANS, plan_for_price
from saas.billing.state import BillingConfig, billing_row_for_update
from saas.models import Tenant
from saas.models.billing import BillingEvent, TenantBilling
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.errors import InvalidInput
from saas.tenancy import tenant_bound

ENDED = {"canceled", "incomplete_expired"}
KEEPS_PLAN = {"active", "trialing", "past_due", "unpaid"}


class InvalidSignature(InvalidInput):
    status = 400
    code = "invalid_signature"


def verify(payload: bytes, signature: str | None, secret: str) -> dict:
    """The event, if Stripe signed exactly this payload recently; else `InvalidSignature`."""
    try:
        stripe.Webhook.construct_event(payload, signature or "", secret)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidSignature("The Stripe signature does not match this payload.",
                               {"Stripe-Signature": ["Invalid or expired signature."]}) from exc
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise InvalidInput("Not a Stripe event.", {"body": ["Missing id or type."]})
    return event


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _ts(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _id(value: Any) -> str | None:
    """Stripe fields are ids, or expanded objects with an id."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def apply_event(session: Session, config: BillingConfig, event: dict) -> str:
    """Record the event and apply it once; returns the outcome (also stored)."""
    event_id = str(event["id"])[:255]
    if session.get(BillingEvent, event_id) is not None:
        return "duplicate"
    obj = _get(event, "data", "object") or {}
    created = _ts(event.get("created")) or datetime.now(UTC)
    record = BillingEvent(id=event_id, type=str(event["type"])[:80],
                          object_id=(_id(obj) or "")[:255] or None, stripe_created=created,
                          outcome="received", payload=event)
    session.add(record)
    session.flush()
    handler = HANDLERS.get(record.type)
    if handler is None:
        record.outcome = "ignored"
        return record.outcome
    tenant_id = _tenant_of(session, config, record.type, obj)
    if tenant_id is None:
        record.outcome = "unmatched"
        return record.outcome
    with tenant_bound(session, tenant_id):
        row = billing_row_for_update(session, tenant_id)
        record.outcome = handler(session, config, row, obj, created)
        _audit_changes(session, row, record.type)
        session.flush()
    return record.outcome


def _tenant_of(session: Session, config: BillingConfig, event_type: str,
               obj: dict) -> uuid.UUID | None:
    """The tenant named in the metadata billing set at checkout (on the session and the
    subscription; invoices copy the subscription's, else it is fetched from Stripe)."""
    ref = obj.get("client_reference_id") or _get(obj, "metadata", "tenant_id")
    if event_type.startswith("invoice."):
        details = (obj.get("subscription_details")
                   or _get(obj, "parent", "subscription_details") or {})
        ref = _get(details, "metadata", "tenant_id")
        sub_id = _id(obj.get("subscription")) or _id(details.get("subscription"))
        if not ref and sub_id:
            subscription = gateway.find_subscription(config, sub_id)
            ref = _get(subscription, "metadata", "tenant_id")
    try:
        tenant_id = uuid.UUID(str(ref)) if ref else None
    except ValueError:
        return None
    if tenant_id is None or session.get(Tenant, tenant_id) is None:
        return None
    return tenant_id


AUDITED = ("plan", "subscription_status", "cancel_at_period_end", "grace_until")


def _audit_changes(session: Session, row: TenantBilling, event_type: str) -> None:
    """Tenants see in their audit log what Stripe changed; plugins hear of plan changes."""
    state = inspect(row)
    changes = {}
    for name in AUDITED:
        history = state.attrs[name].history
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else before
        if history.added and before != after:
            changes[name] = [before, after]
    if not changes:
        return
    audit.record(session, Actor.system("stripe"), f"billing.{event_type}", "tenant",
                 row.tenant_id, changes)
    if "plan" in changes:
        outbox.emit(session, "tenant.plan_changed", "tenant", row.tenant_id,
                    {"plan": changes["plan"]})


def _checkout_completed(session: Session, config: BillingConfig, row: TenantBilling,
                        obj: dict, created: datetime) -> str:
    if obj.get("mode") != "subscription":
        return "ignored"
    row.stripe_customer_id = _id(obj.get("customer")) or row.stripe_customer_id
    if row.subscription_event_at and created < row.subscription_event_at:
        return "stale"
    plan = _get(obj, "metadata", "plan")
    paid = obj.get("payment_status") in ("paid", "no_payment_required")
    if not paid or plan not in PAID_PLANS:
        return "ignored"
    # Not a watermark: the subscription's own events (even ones created before this
    # one) still bring its status and period end.
    row.stripe_subscription_id = _id(obj.get("subscription")) or row.stripe_subscription_id
    row.plan = plan
    row.subscription_status = row.subscription_status or "active"
    return "applied"


def apply_subscription(session: Session, config: BillingConfig, row: TenantBilling,
                       obj: dict, created: datetime, deleted: bool = False) -> str:
    """Apply a subscription's state (from a webhook or from Stripe's answer to a change)."""
    sub_id = _id(obj)
    status = "canceled" if deleted else str(obj.get("status") or "")
    if (row.stripe_subscription_id and row.stripe_subscription_id != sub_id
            and (status in ENDED or status == "incomplete")):
        return "ignored"
    if row.subscription_event_at and created < row.subscription_event_at:
        return "stale"
    row.subscription_event_at = created
    row.stripe_subscription_id = sub_id
    row.stripe_customer_id = _id(obj.get("customer")) or row.stripe_customer_id
    row.subscription_status = status[:30] or None
    items = _get(obj, "items", "data") or [{}]
    first = items[0] if isinstance(items, list) and items else {}
    row.current_period_end = (_ts(obj.get("current_period_end"))
                              or _ts(_get(first, "current_period_end")))
    if status in ENDED:
        row.plan = FREE
        row.cancel_at_period_end = False
        row.payment_failed_at = row.grace_until = None
        return "applied"
    row.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    plan = (plan_for_price(config.settings or {}, _id(_get(first, "price")))
            or _get(obj, "metadata", "plan"))
    if status in KEEPS_PLAN and plan in PAID_PLANS:
        row.plan = plan
    return "applied"


def _subscription_deleted(session: Session, config: BillingConfig, row: TenantBilling,
                          obj: dict, created: datetime) -> str:
    return apply_subscription(session, config, row, obj, created, deleted=True)


def _invoice_paid(session: Session, config: BillingConfig, row: TenantBilling, obj: dict,
                  created: datetime) -> str:
    if row.invoice_event_at and created < row.invoice_event_at:
        return "stale"
    row.invoice_event_at = created
    row.payment_failed_at = row.grace_until = None
    return "applied"


def _invoice_failed(session: Session, config: BillingConfig, row: TenantBilling,
                    obj: dict, created: datetime) -> str:
    if row.invoice_event_at and created < row.invoice_event_at:
        return "stale"
    row.invoice_event_at = created
    if row.payment_failed_at is None:
        row.payment_failed_at = created
        row.grace_until = created + timedelta(days=config.grace_days)
    return "applied"


Handler = Callable[[Session, BillingConfig, TenantBilling, dict, datetime], str]
HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": apply_subscription,
    "customer.subscription.updated": apply_subscription,
    "customer.subscription.deleted": _subscription_deleted,
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _invoice_failed,
}
