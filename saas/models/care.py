"""Automated care: tenant-editable rules (birthday, holiday, post-purchase, win-back) and
one claim row per (rule, customer, occasion).

The claim is what makes "at most once per occasion" hold: a run inserts it before
queueing the message, in the same transaction, and the unique constraint turns a second
or concurrent run into a no-op for that customer.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, tenant_fk

CARE_KINDS = ("birthday", "holiday", "post_purchase", "win_back")


class CareRule(TenantScoped, Base):
    __tablename__ = "care_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        tenant_fk("reward_id", "rewards"),
    )

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(Text)
    days_after: Mapped[int | None] = mapped_column(Integer)
    reward_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CareSend(TenantScoped, Base):
    __tablename__ = "care_sends"
    __table_args__ = (
        UniqueConstraint("tenant_id", "rule_id", "customer_id", "occasion"),
        tenant_fk("rule_id", "care_rules", ondelete="CASCADE"),
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        Index("ix_care_sends_tenant_customer", "tenant_id", "customer_id"),
    )

    rule_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    occasion: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    detail: Mapped[str | None] = mapped_column(String(200))
