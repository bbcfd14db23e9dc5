"""Saved dynamic segments: a named rule over measures and fields, evaluated live."""

from __future__ import annotations

import uuid

from sqlalchemy import String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, TenantScoped
from saas.models.types import JSONType


class Segment(TenantScoped, Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[dict] = mapped_column(JSONType)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
