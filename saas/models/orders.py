"""Orders and their lines. Amounts are Decimal with the order's currency."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Integer, Numeric, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk, utcnow

ORDER_STATUSES = ("placed", "paid", "shipped", "completed", "cancelled", "refunded")
COUNTED_STATUSES = ("placed", "paid", "shipped", "completed")
"""Statuses whose totals count as spend (cancelled and refunded orders do not)."""


class Order(TenantScoped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        tenant_fk("customer_id", "customers"),
        Index("ix_orders_tenant_customer_placed", "tenant_id", "customer_id", "placed_at"),
        Index("ix_orders_tenant_placed", "tenant_id", "placed_at"),
    )

    number: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    channel: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="placed")
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    external_id: Mapped[str | None] = mapped_column(String(100))


class OrderLine(TenantScoped, Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        tenant_fk("order_id", "orders", ondelete="CASCADE"),
        tenant_fk("product_id", "products"),
        Index("ix_order_lines_tenant_order", "tenant_id", "order_id"),
        Index("ix_order_lines_tenant_product", "tenant_id", "product_id"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer, default=0)
    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
