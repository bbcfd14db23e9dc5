"""Declarative base and the tenant mixin every tenant-owned model uses.

Primary keys are time-ordered UUIDs generated in Python, so that `(tenant_id, id)`
composite keys work on SQLite as on PostgreSQL and ids never leak row counts.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, ForeignKeyConstraint, MetaData, TypeDecorator, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> uuid.UUID:
    """UUIDv7: 48-bit millisecond timestamp then random bits, so ids sort by creation."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone).

    A TypeDecorator, because SQLite adapts a plain DateTime subclass to its own DATETIME
    type and a result_processor override on the subclass would never run.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TenantScoped:
    """Mixin for tenant-owned tables: `(tenant_id, id)` primary key, ORM auto-filtered."""

    __tenant_scoped__ = True

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        return mapped_column(Uuid, ForeignKey("tenants.id"), primary_key=True,
                             sort_order=-10)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id,
                                          sort_order=-9)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def tenant_fk(local: str, target_table: str, **kw) -> ForeignKeyConstraint:
    """A foreign key to another tenant table that carries `tenant_id` (Citus-ready)."""
    return ForeignKeyConstraint(["tenant_id", local], [f"{target_table}.tenant_id",
                                                       f"{target_table}.id"], **kw)


def is_tenant_table(table) -> bool:
    return "tenant_id" in table.c and table.name != "tenants"
