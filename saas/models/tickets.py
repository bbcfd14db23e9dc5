"""Service-desk tickets: complaints, requests and questions, their conversation and files.

A ticket carries its SLA deadlines as plain columns (computed by `saas.services.sla`
when it is opened and when its priority changes), so the queues "overdue" and "due soon"
and the escalation job are simple indexed range queries. Escalation is recorded per
breach kind (`response_escalated_at`, `resolution_escalated_at`): the job claims a breach
with a conditional UPDATE, which is what makes it happen exactly once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk, utcnow
from saas.models.types import JSONType

TICKET_TYPES = ("complaint", "request", "question")
TICKET_CHANNELS = ("web", "api", "email", "sms", "phone", "wechat", "chat", "visit")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("new", "open", "pending_customer", "resolved", "closed", "reopened")
OPEN_STATUSES = ("new", "open", "pending_customer", "reopened")
MESSAGE_KINDS = ("reply", "note", "inbound")


class Ticket(TenantScoped, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        tenant_fk("customer_id", "customers"),
        tenant_fk("owner_id", "staff"),
        Index("ix_tickets_tenant_customer_opened", "tenant_id", "customer_id", "opened_at"),
        Index("ix_tickets_tenant_status_due", "tenant_id", "status", "resolution_due_at"),
        Index("ix_tickets_tenant_owner_status", "tenant_id", "owner_id", "status"),
        Index("ix_tickets_tenant_opened", "tenant_id", "opened_at", "id"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20), default="web")
    type: Mapped[str] = mapped_column(String(20), default="request")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    cause: Mapped[str | None] = mapped_column(String(60))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    watchers: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="new")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


class TicketMessage(TenantScoped, Base):
    """One entry of a ticket's conversation: a reply to the customer, an internal note
    (never sent), or an inbound message from the customer."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        tenant_fk("ticket_id", "tickets"),
        tenant_fk("author_id", "staff"),
        Index("ix_ticket_messages_tenant_ticket", "tenant_id", "ticket_id", "created_at"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    author_label: Mapped[str | None] = mapped_column(String(254))
    channel: Mapped[str | None] = mapped_column(String(20))
    delivery_status: Mapped[str | None] = mapped_column(String(200))


class TicketAttachment(TenantScoped, Base):
    """A file on a ticket; the bytes live on disk under the instance folder by tenant."""

    __tablename__ = "ticket_attachments"
    __table_args__ = (
        tenant_fk("ticket_id", "tickets"),
        tenant_fk("uploaded_by_id", "staff"),
        Index("ix_ticket_attachments_tenant_ticket", "tenant_id", "ticket_id"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
