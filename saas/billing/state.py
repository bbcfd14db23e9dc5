"""What a tenant is on right now: plan, dunning and cancellation, as of a moment.

Everything is derived from the stored `TenantBilling` row and the clock, so a grace
period ends and a cancellation takes effect on time even when no webhook arrives then.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.billing.plans import FREE, PLANS, Plan, get_plan
from saas.models.base import utcnow
from saas.models.billing import TenantBilling
from saas.tenancy import current_tenant_id, tenant_bound


@dataclass(frozen=True)
class BillingConfig:
    secret_key: str | None = None
    webhook_secret: str | None = None
    api_base: str | None = None
    default_plan: str = "enterprise"
    grace_days: int = 7
    base_url: str = "http://127.0.0.1:5000"
    settings: Mapping[str, Any] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> BillingConfig:
        default = config.get("BILLING_DEFAULT_PLAN") or "enterprise"
        if default not in PLANS:
            raise ValueError(f"BILLING_DEFAULT_PLAN must be one of {', '.join(PLANS)}")
        return cls(secret_key=config.get("STRIPE_SECRET_KEY") or None,
                   webhook_secret=config.get("STRIPE_WEBHOOK_SECRET") or None,
                   api_base=config.get("STRIPE_API_BASE") or None,
                   default_plan=default,
                   grace_days=int(config.get("BILLING_GRACE_DAYS") or 7),
                   base_url=config.get("BASE_URL") or "http://127.0.0.1:5000",
                   settings=config)


def billing_config() -> BillingConfig:
    """The app's billing settings; defaults (billing off) outside an app context."""
    if not has_app_context():
        return BillingConfig()
    return BillingConfig.from_mapping(current_app.config)


@dataclass(frozen=True)
class BillingState:
    plan: Plan
    enabled: bool
    subscribed_plan: Plan | None = None
    status: str | None = None
    grace_until: datetime | None = None
    read_only: bool = False
    cancel_at: datetime | None = None
    has_customer: bool = False
    has_subscription: bool = False

    @property
    def in_grace(self) -> bool:
        return self.grace_until is not None and not self.read_only


def billing_row(session: Session, tenant_id: uuid.UUID) -> TenantBilling | None:
    """The tenant's row; binds the tenant for the read, so RLS never hides it by mistake."""
    with tenant_bound(session, tenant_id):
        return session.scalars(select(TenantBilling)).first()


def billing_row_for_update(session: Session, tenant_id: uuid.UUID) -> TenantBilling:
    """The row, created on first need. The caller keeps the tenant bound until flush."""
    if current_tenant_id(session) != tenant_id:
        raise RuntimeError("bind the tenant before changing its billing")
    row = session.scalars(select(TenantBilling)).first()
    if row is None:
        row = TenantBilling(plan=FREE, cancel_at_period_end=False)
        session.add(row)
    return row


def state_from_row(row: TenantBilling | None, config: BillingConfig,
                   now: datetime | None = None) -> BillingState:
    if not config.enabled:
        return BillingState(plan=get_plan(config.default_plan), enabled=False)
    if row is None:
        return BillingState(plan=get_plan(FREE), enabled=True)
    now = now or utcnow()
    subscribed = get_plan(row.plan)
    plan = subscribed
    cancel_at = row.current_period_end if row.cancel_at_period_end else None
    if cancel_at is not None and cancel_at <= now:
        plan = get_plan(FREE)
    return BillingState(
        plan=plan, enabled=True, subscribed_plan=subscribed if subscribed.paid else None,
        status=row.subscription_status, grace_until=row.grace_until,
        read_only=row.grace_until is not None and row.grace_until <= now,
        cancel_at=cancel_at, has_customer=bool(row.stripe_customer_id),
        has_subscription=bool(row.stripe_subscription_id) and plan.paid)


def tenant_state(session: Session, tenant_id: uuid.UUID, config: BillingConfig | None = None,
                 now: datetime | None = None) -> BillingState:
    config = config or billing_config()
    row = billing_row(session, tenant_id) if config.enabled else None
    return state_from_row(row, config, now)
