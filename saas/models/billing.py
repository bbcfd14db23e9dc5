"""Billing state: each tenant's plan and Stripe subscription, usage counters, and the log
of Stripe webhook events.

`tenant_billing` (one row per tenant) and `usage_counters` are ordinary tenant tables
under row-level security: a webhook names its tenant in the metadata set at checkout and
binds it before touching them. `billing_events` is the operator's log of Stripe
deliveries (no tenant data), keyed by Stripe's event id so a repeat is recognised.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, utcnow
from saas.models.types import JSONType


class TenantBilling(TenantScoped, Base):
    __tablename__ = "tenant_billing"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    plan: Mapped[str] = mapped_column(String(20), default="free")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255))
    subscription_status: Mapped[str | None] = mapped_column(String(30))
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    subscription_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invoice_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


class BillingEvent(Base):
    __tablename__ = "billing_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str | None] = mapped_column(String(255))
    stripe_created: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UsageCounter(TenantScoped, Base):
    """A metered quantity per period (`messages` per `YYYY-MM`)."""

    __tablename__ = "usage_counters"
    __table_args__ = (UniqueConstraint("tenant_id", "metric", "period"),)

    metric: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10))
    count: Mapped[int] = mapped_column(Integer, default=0)
