"""Per-tenant plugin configuration, the delivery log, and links to external records.

A `PluginConfig` row exists once a tenant admin touched a plugin; no row means "installed
but not enabled". Secrets live apart from the other settings in one encrypted column, so
key rotation covers them and a settings dump never carries them in clear.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.crypto import EncryptedText, register_encrypted
from saas.models.base import Base, TenantScoped, UTCDateTime, utcnow
from saas.models.types import JSONType

DELIVERY_STATUSES = ("pending", "succeeded", "failed", "dead", "paused")
DELIVERY_KINDS = ("event", "message")


class PluginConfig(TenantScoped, Base):
    __tablename__ = "plugin_configs"
    __table_args__ = (UniqueConstraint("tenant_id", "plugin"),)

    plugin: Mapped[str] = mapped_column(String(80))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict] = mapped_column(JSONType, default=dict)
    secrets: Mapped[str | None] = mapped_column(EncryptedText())
    state: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


register_encrypted(PluginConfig, "secrets")


class Delivery(TenantScoped, Base):
    """One event (or one channel message) handed to one plugin, with its retry state.

    `key` is the idempotency key the plugin receives: the outbox event id for events, the
    caller's key for messages; unique per plugin so a re-run never doubles a delivery.
    """

    __tablename__ = "plugin_deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "plugin", "key"),
        Index("ix_plugin_deliveries_tenant_status_due", "tenant_id", "status",
              "next_retry_at"),
        Index("ix_plugin_deliveries_tenant_created", "tenant_id", "created_at"),
        Index("ix_plugin_deliveries_tenant_event", "tenant_id", "event_id"),
    )

    plugin: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10), default="event")
    key: Mapped[str] = mapped_column(String(120))
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    event_name: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict | None] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


class PluginLink(TenantScoped, Base):
    """Which external record (CRM contact, forum user) stands for which of ours."""

    __tablename__ = "plugin_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "plugin", "entity_type", "entity_id"),
        Index("ix_plugin_links_tenant_external", "tenant_id", "plugin", "external_id"),
    )

    plugin: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(120))
    remote_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)
