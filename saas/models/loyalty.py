"""Loyalty: the programme's rules, the append-only points ledger and what points buy.

The ledger (`points_entries`) is never updated or deleted. `points_balances` holds one
row per customer (id = customer id) equal to the sum of that customer's entries; it is
changed only together with an entry, by a conditional UPDATE that takes its row lock, so
concurrent redemptions can never take the balance below zero. Which earned points are
still unspent (for expiry, oldest first) is derived from the ledger, not stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk
from saas.models.types import JSONType

ENTRY_KINDS = ("earn", "bonus", "redeem", "expire", "adjust", "reverse")
REWARD_KINDS = ("gift", "coupon", "discount")
LEVEL_BASES = ("points", "spend")


class LoyaltyProgram(TenantScoped, Base):
    __tablename__ = "loyalty_programs"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    points_per_unit: Mapped[float] = mapped_column(Float)
    expiry_months: Mapped[int] = mapped_column(Integer)
    notice_days: Mapped[int] = mapped_column(Integer, default=30)
    tier_multipliers: Mapped[dict] = mapped_column(JSONType, default=dict)
    bonus: Mapped[dict] = mapped_column(JSONType, default=dict)
    cap_per_order: Mapped[int | None] = mapped_column(Integer)
    cap_per_month: Mapped[int | None] = mapped_column(Integer)
    contribution_rules: Mapped[list] = mapped_column(JSONType, default=list)


class PointsBalance(TenantScoped, Base):
    __tablename__ = "points_balances"
    __table_args__ = (tenant_fk("id", "customers", ondelete="CASCADE"),)

    balance: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PointsEntry(TenantScoped, Base):
    __tablename__ = "points_entries"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "kind", "source_type", "source_id"),
        Index("ix_points_entries_tenant_customer", "tenant_id", "customer_id", "created_at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(10))
    points: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_type: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_label: Mapped[str] = mapped_column(String(254), default="system")


class Reward(TenantScoped, Base):
    __tablename__ = "rewards"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text, default="")
    points_cost: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int | None] = mapped_column(Integer)
    discount_percent: Mapped[int | None] = mapped_column(Integer)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Redemption(TenantScoped, Base):
    __tablename__ = "redemptions"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("reward_id", "rewards"),
        Index("ix_redemptions_tenant_customer", "tenant_id", "customer_id", "created_at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reward_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    points: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    coupon_code: Mapped[str | None] = mapped_column(String(24))
    actor_label: Mapped[str] = mapped_column(String(254))


class Coupon(TenantScoped, Base):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("reward_id", "rewards"),
        Index("ix_coupons_tenant_customer", "tenant_id", "customer_id", "used_at"),
    )

    code: Mapped[str] = mapped_column(String(24))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reward_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    discount_percent: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_on: Mapped[str | None] = mapped_column(String(100))


class MembershipLevel(TenantScoped, Base):
    __tablename__ = "membership_levels"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(60))
    basis: Mapped[str] = mapped_column(String(10))
    threshold: Mapped[int] = mapped_column(Integer)
    window_months: Mapped[int] = mapped_column(Integer, default=12)
    benefits: Mapped[str] = mapped_column(Text, default="")


class CustomerLevel(TenantScoped, Base):
    """A customer's stored membership level (`id` is the customer's id; no row = none).

    Stored, not only computed, so that reaching or losing a level is an event: the
    refresh compares the computed level with this row. There is no foreign key to
    `membership_levels` on purpose: when a level is deleted the row must still say what
    the customer had, so the change away from it can be recorded with its name.
    """

    __tablename__ = "customer_levels"
    __table_args__ = (
        tenant_fk("id", "customers", ondelete="CASCADE"),
        Index("ix_customer_levels_tenant_level", "tenant_id", "level_id"),
    )

    level_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    level_name: Mapped[str] = mapped_column(String(60))
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LevelChange(TenantScoped, Base):
    """One row per change of a customer's membership level (append-only history).

    `reason` is reached / dropped / level_removed; `basis`, `value`, `threshold` and
    `window_months` say why: the measure of the level reached (or of the level lost)
    and the customer's value of it over the window when the change was seen.
    """

    __tablename__ = "level_changes"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        Index("ix_level_changes_tenant_customer", "tenant_id", "customer_id", "created_at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    from_level: Mapped[str | None] = mapped_column(String(60))
    to_level: Mapped[str | None] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str | None] = mapped_column(String(10))
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    threshold: Mapped[int | None] = mapped_column(Integer)
    window_months: Mapped[int | None] = mapped_column(Integer)


class ReferralCode(TenantScoped, Base):
    __tablename__ = "referral_codes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "customer_id"),
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code: Mapped[str] = mapped_column(String(16))


class Referral(TenantScoped, Base):
    """Who referred whom; a customer is referred at most once (unique referred_id)."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "referred_id"),
        tenant_fk("referrer_id", "customers", ondelete="CASCADE"),
        tenant_fk("referred_id", "customers", ondelete="CASCADE"),
        Index("ix_referrals_tenant_referrer", "tenant_id", "referrer_id"),
    )

    referrer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    referred_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code: Mapped[str] = mapped_column(String(16))
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
