"""Precomputed analytics (issue #10), rebuilt per tenant by `saas.jobs.analytics`.

Per-customer tables (`customer_clv`, `churn_scores`) have one row per customer whose `id`
*is* the customer's id (as `customer_measures`): a recompute replaces the tenant's rows,
and the customer id is unique within the tenant. Every row has `computed_at`, the
"last computed" stamp the API shows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Float, Index, Integer, Numeric, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk
from saas.models.types import JSONType


class AnalyticsFit(TenantScoped, Base):
    """The fitted parameters of one model for the tenant (`bgnbd`, `gamma_gamma`)."""

    __tablename__ = "analytics_fits"
    __table_args__ = (UniqueConstraint("tenant_id", "kind"),)

    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    log_likelihood: Mapped[float | None] = mapped_column(Float)
    customers: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomerClv(TenantScoped, Base):
    __tablename__ = "customer_clv"
    __table_args__ = (
        tenant_fk("id", "customers", ondelete="CASCADE"),
        Index("ix_customer_clv_tenant_clv", "tenant_id", "clv"),
    )

    frequency: Mapped[int] = mapped_column(Integer)
    recency_weeks: Mapped[float] = mapped_column(Float)
    age_weeks: Mapped[float] = mapped_column(Float)
    monetary: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    expected_purchases_90d: Mapped[float] = mapped_column(Float)
    p_alive: Mapped[float] = mapped_column(Float)
    expected_spend: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    clv: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AssociationRule(TenantScoped, Base):
    """"Bought `antecedent` → also bought `consequent`" over the tenant's order baskets."""

    __tablename__ = "association_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "antecedent_id", "consequent_id"),
        tenant_fk("antecedent_id", "products", ondelete="CASCADE"),
        tenant_fk("consequent_id", "products", ondelete="CASCADE"),
        Index("ix_association_rules_tenant_lift", "tenant_id", "lift"),
    )

    antecedent_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    consequent_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    pair_count: Mapped[int] = mapped_column(Integer)
    support: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    lift: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChurnScore(TenantScoped, Base):
    __tablename__ = "churn_scores"
    __table_args__ = (
        tenant_fk("id", "customers", ondelete="CASCADE"),
        Index("ix_churn_scores_tenant_score", "tenant_id", "score"),
        Index("ix_churn_scores_tenant_value", "tenant_id", "value_at_stake", "id"),
    )

    score: Mapped[float] = mapped_column(Float)
    at_risk: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list] = mapped_column(JSONType, default=list)
    value_at_stake: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
