"""Campaigns: one message (with A/B variants) to a snapshot of a segment, per channel.

The audience is frozen at launch as one `CampaignRecipient` row per customer. That row is
the unit of exactly-once sending: a worker claims it with a conditional UPDATE
(`pending` → `sending`) before it hands the message to the channel with the key
`campaign:<id>:<recipient id>`, so two workers never send the same row and a resend after
a crash is a no-op at the channel. Rows are numbered (`seq`) and grouped into `batch`es,
one RQ job each, so several workers share a large campaign.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.crypto import EncryptedText, register_encrypted
from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk, utcnow

CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "paused", "completed", "cancelled")
RECIPIENT_STATUSES = ("held", "pending", "sending", "sent", "failed", "skipped")
WINNER_METRICS = ("clicks", "delivered", "conversions")


class Campaign(TenantScoped, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        tenant_fk("segment_id", "segments"),
        Index("ix_campaigns_tenant_status", "tenant_id", "status"),
        Index("ix_campaigns_tenant_created", "tenant_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    segment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(40))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    winner_metric: Mapped[str | None] = mapped_column(String(20))
    test_minutes: Mapped[int | None] = mapped_column(Integer)
    test_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    winner_variant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    conversion_days: Mapped[int] = mapped_column(Integer, default=7)
    survey_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    pause_reason: Mapped[str | None] = mapped_column(Text)
    resume_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    audience_size: Mapped[int] = mapped_column(Integer, default=0)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


class CampaignVariant(TenantScoped, Base):
    """One version of the content; `split_percent` of the audience gets it first."""

    __tablename__ = "campaign_variants"
    __table_args__ = (
        tenant_fk("campaign_id", "campaigns", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "campaign_id", "name"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    split_percent: Mapped[int] = mapped_column(Integer, default=100)


class CampaignRecipient(TenantScoped, Base):
    """One customer of the launch-time snapshot and what happened to their message.

    `held` rows wait for the A/B winner; `sending` rows carry `claimed_at`, and a sweep
    returns them to `pending` only after the lease has run out. `opted_out_at` is set when
    the customer followed this message's own unsubscribe link (opt-outs per variant).
    """

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        tenant_fk("campaign_id", "campaigns", ondelete="CASCADE"),
        tenant_fk("customer_id", "customers"),
        UniqueConstraint("tenant_id", "campaign_id", "customer_id"),
        Index("ix_campaign_recipients_tenant_batch", "tenant_id", "campaign_id", "batch",
              "status"),
        Index("ix_campaign_recipients_tenant_status", "tenant_id", "campaign_id", "status",
              "claimed_at"),
        Index("ix_campaign_recipients_tenant_customer_sent", "tenant_id", "customer_id",
              "sent_at"),
        Index("ix_campaign_recipients_tenant_sent", "tenant_id", "sent_at"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    variant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(Integer)
    batch: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(EncryptedText())  # issue 11: at rest
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    click_count: Mapped[int] = mapped_column(Integer, default=0)
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


register_encrypted(CampaignRecipient, "address")
