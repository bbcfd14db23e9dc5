"""Precomputed dashboard figures (issue #10): small tables the managers' home reads.

`dashboard_facts` is one narrow cube for every figure: a row is "on `day`, figure
`figure` had `count` (and `amount`) for `key` (a tier, stage, cause, bucket, campaign
id...)". Each figure is stored twice: at the grain (customer's owner, customer's
department) for the filters, and once more as tenant totals (`rollup` true, no owner, no
department) so the unfiltered dashboard reads a few hundred rows, whatever the tenant's
size. `dashboard_stamps` holds the tenant's "last computed" stamp and the owner and
department lists the filters offer.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, Index, Integer, Numeric, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime
from saas.models.types import JSONType


class DashboardFact(TenantScoped, Base):
    __tablename__ = "dashboard_facts"
    __table_args__ = (
        Index("ix_dashboard_facts_tenant_figure_rollup_day", "tenant_id", "figure",
              "rollup", "day"),
        Index("ix_dashboard_facts_tenant_figure_owner_day", "tenant_id", "figure",
              "owner_id", "day"),
        Index("ix_dashboard_facts_tenant_figure_department_day", "tenant_id", "figure",
              "department", "day"),
    )

    figure: Mapped[str] = mapped_column(String(30))
    day: Mapped[date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(100), default="")
    rollup: Mapped[bool] = mapped_column(Boolean, default=False)
    # No foreign key: a snapshot outlives staff changes and is rebuilt from the source.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    department: Mapped[str] = mapped_column(String(100), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))


class DashboardStamp(TenantScoped, Base):
    """One row per tenant: when the facts were last computed and over which days."""

    __tablename__ = "dashboard_stamps"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    facts: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    owners: Mapped[list] = mapped_column(JSONType, default=list)
    departments: Mapped[list] = mapped_column(JSONType, default=list)
