"""The tenant's holiday calendar (shared by SLA business hours and holiday greetings).

One row per holiday of one or more days. A tenant's rows are seeded from its template on
the first edit; until then the template's list is the calendar (`saas.services.holidays`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped


class TenantHoliday(TenantScoped, Base):
    __tablename__ = "tenant_holidays"
    __table_args__ = (
        Index("ix_tenant_holidays_tenant_starts", "tenant_id", "starts_on"),
    )

    name: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    greeting: Mapped[bool] = mapped_column(Boolean, default=True)
