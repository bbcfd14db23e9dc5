"""Per-customer measures, the tenant's ordered tiers and every tier change.

`customer_measures` and `customer_tiers` have one row per customer whose `id` *is* the
customer's id: they are rebuilt set-based by INSERT ... SELECT, where no Python-generated
id is available, and the customer id is already unique within the tenant.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Float, Index, Integer, Numeric, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk
from saas.models.types import JSONType


class CustomerMeasure(TenantScoped, Base):
    __tablename__ = "customer_measures"
    __table_args__ = (
        tenant_fk("id", "customers", ondelete="CASCADE"),
        Index("ix_customer_measures_tenant_lifecycle", "tenant_id", "lifecycle"),
    )

    spend_12m: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    spend_total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    order_count: Mapped[int] = mapped_column(Integer)
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    days_since_last_order: Mapped[int | None] = mapped_column(Integer)
    avg_order_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    avg_interval_days: Mapped[float | None] = mapped_column(Float)
    last_gap_days: Mapped[float | None] = mapped_column(Float)
    interactions_90d: Mapped[int] = mapped_column(Integer)
    points_balance: Mapped[int] = mapped_column(Integer)
    r_score: Mapped[int] = mapped_column(Integer)
    f_score: Mapped[int] = mapped_column(Integer)
    m_score: Mapped[int] = mapped_column(Integer)
    rfm_score: Mapped[int] = mapped_column(Integer)
    value_segment: Mapped[str] = mapped_column(String(10))
    behaviour: Mapped[str] = mapped_column(String(10))
    lifecycle: Mapped[str] = mapped_column(String(12))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Tier(TenantScoped, Base):
    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(40))
    colour: Mapped[str] = mapped_column(String(7), default="#888888")
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)
    rule: Mapped[dict] = mapped_column(JSONType)


class TierRuleset(TenantScoped, Base):
    """A numbered snapshot of all tiers and rules, so history can say which rules moved
    a customer even after the tiers were edited again."""

    __tablename__ = "tier_rulesets"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    version: Mapped[int] = mapped_column(Integer)
    tiers: Mapped[list] = mapped_column(JSONType)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by_label: Mapped[str] = mapped_column(String(254))


class CustomerTier(TenantScoped, Base):
    """A customer's current tier: by rule, or a manual override until `override_until`."""

    __tablename__ = "customer_tiers"
    __table_args__ = (
        tenant_fk("id", "customers", ondelete="CASCADE"),
        tenant_fk("tier_id", "tiers", ondelete="CASCADE"),
        Index("ix_customer_tiers_tenant_tier", "tenant_id", "tier_id"),
    )

    tier_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    source: Mapped[str] = mapped_column(String(10))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    override_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    override_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TierChange(TenantScoped, Base):
    __tablename__ = "tier_changes"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        Index("ix_tier_changes_tenant_customer", "tenant_id", "customer_id", "created_at"),
        Index("ix_tier_changes_tenant_created", "tenant_id", "created_at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    from_tier: Mapped[str | None] = mapped_column(String(40))
    to_tier: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(20))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_label: Mapped[str | None] = mapped_column(String(254))
    override_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
