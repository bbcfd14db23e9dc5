"""Privacy and access control: what each role may see and change, consent history and
erasure records.

Role settings are rows rather than tenant JSON so that one change is one audited row and
the defaults (everything visible and editable, all customers) need no rows at all.
Consent events are append-only: the customer's `consent` column is only a cache of the
latest event per channel, re-derived by `saas.services.consent`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, String, UniqueConstraint, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk, utcnow
from saas.models.types import JSONType

ROW_SCOPES = ("all", "department", "own")
CONSENT_SOURCES = ("form", "import", "unsubscribe", "staff", "api", "system")


class RoleFieldPermission(TenantScoped, Base):
    """One role's access to one customer field (absent row = visible and editable).

    `masked`: visible only masked (138****8000) until revealed, which is audited."""

    __tablename__ = "role_field_permissions"
    __table_args__ = (UniqueConstraint("tenant_id", "role", "field"),)

    role: Mapped[str] = mapped_column(String(20))
    field: Mapped[str] = mapped_column(String(80))
    visible: Mapped[bool] = mapped_column(Boolean, default=True)
    editable: Mapped[bool] = mapped_column(Boolean, default=True)
    masked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RoleRowScope(TenantScoped, Base):
    """Which customers a role sees: all, its own department's, or the ones it owns."""

    __tablename__ = "role_row_scopes"
    __table_args__ = (UniqueConstraint("tenant_id", "role"),)

    role: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20), default="all")


class ConsentEvent(TenantScoped, Base):
    """One grant or withdrawal of consent for one channel (append-only)."""

    __tablename__ = "consent_events"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        Index("ix_consent_events_tenant_customer_at", "tenant_id", "customer_id", "at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(100))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_label: Mapped[str] = mapped_column(String(255), default="system")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ErasureRecord(TenantScoped, Base):
    """Proof that a customer was erased: ids and counts only, no personal data."""

    __tablename__ = "erasure_records"
    __table_args__ = (Index("ix_erasure_records_tenant_customer", "tenant_id",
                            "customer_id"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_label: Mapped[str] = mapped_column(String(255), default="system")
    reason: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[dict] = mapped_column(JSONType, default=dict)
