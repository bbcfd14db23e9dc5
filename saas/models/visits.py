"""Return-visit plans per tier and the visit tasks generated from them.

A task is unique per (customer, plan, due date): the daily generator can run twice, or
two workers at once, and still make one task per due date. When a customer changes tier
their open tasks of the old tier's plan are cancelled and the new plan takes over.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk

VISIT_METHODS = ("in_person", "phone", "video", "message")
TASK_STATUSES = ("planned", "done", "cancelled")


class VisitPlan(TenantScoped, Base):
    __tablename__ = "visit_plans"
    __table_args__ = (
        UniqueConstraint("tenant_id", "tier_id"),
        tenant_fk("tier_id", "tiers", ondelete="CASCADE"),
        tenant_fk("assignee_id", "staff"),
    )

    tier_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    every_days: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))
    # None: the customer's owner (account manager) visits; else this staff member.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class VisitTask(TenantScoped, Base):
    __tablename__ = "visit_tasks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_id", "plan_id", "due_on"),
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("plan_id", "visit_plans", ondelete="CASCADE"),
        tenant_fk("assignee_id", "staff"),
        tenant_fk("interaction_id", "interactions"),
        Index("ix_visit_tasks_tenant_assignee_due", "tenant_id", "assignee_id", "status",
              "due_on"),
        Index("ix_visit_tasks_tenant_customer", "tenant_id", "customer_id", "status"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    due_on: Mapped[date] = mapped_column(Date)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="planned")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    needs: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    interaction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    cancel_reason: Mapped[str | None] = mapped_column(String(100))
