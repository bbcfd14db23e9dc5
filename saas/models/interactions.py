"""Conversations with a customer: calls, visits, messages, meetings."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk, utcnow

CHANNELS = ("phone", "email", "visit", "meeting", "wechat", "sms", "chat", "social")
DIRECTIONS = ("in", "out")
KINDS = ("need", "feedback", "problem", "solution")


class Interaction(TenantScoped, Base):
    __tablename__ = "interactions"
    __table_args__ = (
        tenant_fk("customer_id", "customers"),
        tenant_fk("contact_id", "contacts"),
        tenant_fk("staff_id", "staff"),
        Index("ix_interactions_tenant_customer_at", "tenant_id", "customer_id",
              "occurred_at"),
        Index("ix_interactions_tenant_follow_up", "tenant_id", "follow_up_on"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(3), default="out")
    kind: Mapped[str | None] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    follow_up_on: Mapped[date | None] = mapped_column(Date)
