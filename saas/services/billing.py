"""What the owner does with billing: see plan and usage, subscribe through Stripe
Checkout, open the customer portal, change or cancel the plan.

Stripe stays the source of truth: Checkout and the portal end in webhooks
(`saas.billing.webhooks`) that set the plan. Plan changes and cancellation made here
also apply Stripe's answer at once, and move the subscription watermark so that older
webhooks arriving afterwards cannot undo them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from saas.billing import gateway
from saas.billing.plans import (
    LIMIT_LABELS,
    LIMITS,
    PAID_PLANS,
    PLANS,
    Plan,
    get_plan,
    price_for,
)
from saas.billing.state import (
    BillingConfig,
    BillingState,
    billing_row,
    billing_row_for_update,
    state_from_row,
)
from saas.billing.webhooks import apply_subscription
from saas.models import Tenant
from saas.models.base import utcnow
from saas.models.billing import TenantBilling
from saas.services import audit, limits, outbox
from saas.services.context import Actor
from saas.services.errors import Conflict, Forbidden, InvalidInput
from saas.tenancy import tenant_bound


@dataclass(frozen=True)
class Usage:
    limit: str
    label: str
    used: int
    allowed: int | None

    @property
    def percent(self) -> int:
        if not self.allowed:
            return 0 if self.allowed is None else 100
        return min(100, round(100 * self.used / self.allowed))

    @property
    def over(self) -> bool:
        return self.allowed is not None and self.used > self.allowed


@dataclass(frozen=True)
class Overview:
    state: BillingState
    usage: list[Usage]
    plans: list[Plan]


def overview(session: Session, tenant: Tenant, config: BillingConfig,
             now: datetime | None = None) -> Overview:
    """Plan, dunning state and usage of every limit (the tenant must be bound)."""
    row = billing_row(session, tenant.id) if config.enabled else None
    state = state_from_row(row, config, now)
    usage = [Usage(limit, LIMIT_LABELS[limit], limits.usage(session, tenant, limit),
                   state.plan.limits[limit]) for limit in LIMITS]
    return Overview(state, usage, sorted(PLANS.values(), key=lambda p: p.rank))


def _owner_only(actor: Actor) -> None:
    if actor.role != "owner":
        raise Forbidden("Only the owner can manage billing.")


def _paid_plan(config: BillingConfig, plan: str) -> str:
    if plan not in PAID_PLANS:
        raise InvalidInput.field("plan", f"Choose one of: {', '.join(PAID_PLANS)}.")
    if not price_for(config.settings or {}, plan):
        raise InvalidInput.field("plan", "This plan has no price configured yet.")
    return plan


def _billing_url(config: BillingConfig, tenant: Tenant, query: str = "") -> str:
    return f"{config.base_url.rstrip('/')}/t/{tenant.slug}/billing/{query}"


def start_checkout(session: Session, actor: Actor, tenant: Tenant, config: BillingConfig,
                   plan: str, email: str | None = None) -> str:
    """A Stripe Checkout address where the owner pays for `plan` (subscription mode)."""
    _owner_only(actor)
    plan = _paid_plan(config, plan)
    row = billing_row(session, tenant.id)
    current = state_from_row(row, config)
    if current.has_subscription and current.status not in (None, "canceled"):
        raise Conflict("You already have a subscription: change its plan instead.",
                       {"plan": ["Already subscribed."]})
    meta = {"tenant_id": str(tenant.id), "plan": plan}
    params: dict = {
        "mode": "subscription",
        "line_items": [{"price": price_for(config.settings or {}, plan), "quantity": 1}],
        "client_reference_id": str(tenant.id),
        "metadata": meta,
        "subscription_data": {"metadata": meta},
        "success_url": _billing_url(config, tenant, "?checkout=success"),
        "cancel_url": _billing_url(config, tenant, "?checkout=cancelled"),
    }
    if row is not None and row.stripe_customer_id:
        params["customer"] = row.stripe_customer_id
    elif email:
        params["customer_email"] = email
    result = gateway.create_checkout_session(config, params)
    audit.record(session, actor, "billing.checkout_started", "tenant", tenant.id,
                 {"plan": plan, "checkout_session": result.get("id")})
    if not result.get("url"):
        raise gateway.PaymentProviderError("The payment provider returned no checkout page.")
    return result["url"]


def portal_url(session: Session, actor: Actor, tenant: Tenant, config: BillingConfig) -> str:
    """A Stripe customer-portal address for cards, invoices and cancellation."""
    _owner_only(actor)
    row = billing_row(session, tenant.id)
    if row is None or not row.stripe_customer_id:
        raise Conflict("There is no billing account yet: subscribe to a plan first.")
    result = gateway.create_portal_session(config, row.stripe_customer_id,
                                           _billing_url(config, tenant))
    audit.record(session, actor, "billing.portal_opened", "tenant", tenant.id)
    if not result.get("url"):
        raise gateway.PaymentProviderError("The payment provider returned no portal page.")
    return result["url"]


def _live_subscription(session: Session, tenant: Tenant, config: BillingConfig):
    row = billing_row(session, tenant.id)
    if row is None or not row.stripe_subscription_id or row.subscription_status in (
            None, "canceled", "incomplete_expired") or not get_plan(row.plan).paid:
        raise Conflict("There is no active subscription: choose a plan first.")
    return row


def _apply_answer(session: Session, config: BillingConfig, row: TenantBilling,
                  subscription: dict) -> None:
    stamp = max(utcnow().replace(microsecond=0), row.subscription_event_at or utcnow())
    apply_subscription(session, config, row, subscription, stamp)


def change_plan(session: Session, actor: Actor, tenant: Tenant, config: BillingConfig,
                plan: str) -> BillingState:
    """Move the subscription to another paid plan (prorated by Stripe).

    A downgrade is refused while usage exceeds the smaller plan, so nobody ends up over
    their limits by accident.
    """
    _owner_only(actor)
    plan = _paid_plan(config, plan)
    row = _live_subscription(session, tenant, config)
    if row.plan == plan and not row.cancel_at_period_end:
        raise InvalidInput.field("plan", "You are already on this plan.")
    over = [LIMIT_LABELS[limit] for limit in LIMITS if limit != "api_calls"
            and not PLANS[plan].allows(limit, limits.usage(session, tenant, limit))]
    if over:
        raise Conflict(f"Your usage exceeds the {PLANS[plan].name} plan: {', '.join(over)}. "
                       "Reduce it first.", {"plan": ["Usage above this plan's limits."]})
    current = gateway.retrieve_subscription(config, row.stripe_subscription_id)
    items = (current.get("items") or {}).get("data") or []
    if not items:
        raise gateway.PaymentProviderError("The subscription has no item to change.")
    answer = gateway.update_subscription(config, row.stripe_subscription_id, {
        "items": [{"id": items[0]["id"], "price": price_for(config.settings or {}, plan)}],
        "cancel_at_period_end": False,
        "proration_behavior": "create_prorations",
        "metadata": {"tenant_id": str(tenant.id), "plan": plan},
    })
    previous = row.plan
    _apply_answer(session, config, row, answer)
    audit.record(session, actor, "billing.plan_changed", "tenant", tenant.id,
                 {"plan": [previous, row.plan]})
    outbox.emit(session, "tenant.plan_changed", "tenant", tenant.id,
                {"plan": [previous, row.plan]})
    return state_from_row(row, config)


def cancel(session: Session, actor: Actor, tenant: Tenant, config: BillingConfig,
           resume: bool = False) -> BillingState:
    """Cancel at the end of the paid period (limits drop to free then), or undo that."""
    _owner_only(actor)
    row = _live_subscription(session, tenant, config)
    answer = gateway.update_subscription(config, row.stripe_subscription_id,
                                         {"cancel_at_period_end": not resume})
    _apply_answer(session, config, row, answer)
    audit.record(session, actor, "billing.resumed" if resume else "billing.cancelled",
                 "tenant", tenant.id, {"period_end": row.current_period_end})
    return state_from_row(row, config)


def set_plan_by_operator(session: Session, tenant: Tenant, plan: str) -> TenantBilling:
    """A plan granted outside Stripe (an invoiced contract, a trial by hand).

    Refused while a Stripe subscription is live: its next webhook would undo it.
    """
    if plan not in PLANS:
        raise InvalidInput.field("plan", f"Choose one of: {', '.join(PLANS)}.")
    with tenant_bound(session, tenant.id):
        row = billing_row_for_update(session, tenant.id)
        if row.stripe_subscription_id and row.subscription_status not in (
                None, "canceled", "incomplete_expired"):
            raise Conflict("This tenant has a live Stripe subscription; change it in Stripe.")
        previous = row.plan
        row.plan = plan
        row.cancel_at_period_end = False
        audit.record(session, Actor.system("operator"), "billing.plan_set", "tenant",
                     tenant.id, {"plan": [previous, plan]})
        if previous != plan:
            outbox.emit(session, "tenant.plan_changed", "tenant", tenant.id,
                        {"plan": [previous, plan]})
        session.flush()
    return row
