"""Satisfaction surveys: definitions, invitations (the token holders) and answers.

An invitation is what a signed link points at: one customer, one survey, the context it
was sent in (a campaign, a resolved ticket, a recorded visit) and the agent who handled
it. Answering stamps `answered_at` with a conditional UPDATE, which is what makes "one
answer per token" hold under concurrent submits. Each answered question is also a row of
`survey_answer_items` carrying its dimension and score, so results by dimension, agent,
tier and period are plain GROUP BYs.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk, utcnow
from saas.models.types import JSONType

SURVEY_KINDS = ("csat", "nps", "custom")
QUESTION_KINDS = ("nps", "csat", "rating", "single", "multiple", "text")
TRIGGERS = ("ticket.resolved", "visit.recorded")


class Survey(TenantScoped, Base):
    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="csat")
    questions: Mapped[list] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(40))
    expiry_days: Mapped[int] = mapped_column(Integer, default=14)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


class SurveyInvitation(TenantScoped, Base):
    __tablename__ = "survey_invitations"
    __table_args__ = (
        tenant_fk("survey_id", "surveys", ondelete="CASCADE"),
        tenant_fk("customer_id", "customers"),
        UniqueConstraint("tenant_id", "survey_id", "customer_id", "source_type",
                         "source_id"),
        Index("ix_survey_invitations_tenant_survey", "tenant_id", "survey_id",
              "created_at"),
    )

    survey_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    source_type: Mapped[str] = mapped_column(String(20), default="manual")
    source_id: Mapped[str] = mapped_column(String(64), default="")
    agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SurveyAnswer(TenantScoped, Base):
    __tablename__ = "survey_answers"
    __table_args__ = (
        tenant_fk("survey_id", "surveys", ondelete="CASCADE"),
        tenant_fk("invitation_id", "survey_invitations", ondelete="CASCADE"),
        tenant_fk("customer_id", "customers"),
        UniqueConstraint("tenant_id", "invitation_id"),
        Index("ix_survey_answers_tenant_survey_at", "tenant_id", "survey_id",
              "answered_at"),
        Index("ix_survey_answers_tenant_customer_at", "tenant_id", "customer_id",
              "answered_at"),
    )

    survey_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    invitation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tier: Mapped[str | None] = mapped_column(String(60))
    score: Mapped[int | None] = mapped_column(Integer)
    answers: Mapped[dict] = mapped_column(JSONType, default=dict)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurveyAnswerItem(TenantScoped, Base):
    """One answered question, with its dimension: what the result tables group on."""

    __tablename__ = "survey_answer_items"
    __table_args__ = (
        tenant_fk("answer_id", "survey_answers", ondelete="CASCADE"),
        Index("ix_survey_answer_items_tenant_survey", "tenant_id", "survey_id",
              "dimension"),
    )

    answer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    survey_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    question: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    dimension: Mapped[str] = mapped_column(String(60))
    score: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
