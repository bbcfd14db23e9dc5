"""Imports (the uploaded file, its mapping, progress and per-row errors), the tenant's
saved column mappings, and the record of every merge of two customers.

The uploaded file is kept in the database rather than on a web host's disk, so that any
worker can run the import; uploads are bounded by `MAX_CONTENT_LENGTH`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, deferred, mapped_column

from saas.models.base import Base, TenantScoped, UTCDateTime, tenant_fk, utcnow
from saas.models.types import JSONType

IMPORT_ENTITIES = ("customers", "contacts", "products", "orders", "interactions")
IMPORT_STATUSES = ("uploaded", "queued", "running", "done", "failed")


class ImportJob(TenantScoped, Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        tenant_fk("staff_id", "staff"),
        Index("ix_import_jobs_tenant_created", "tenant_id", "created_at", "id"),
    )

    entity: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(10))
    encoding: Mapped[str | None] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    columns: Mapped[list] = mapped_column(JSONType, default=list)
    mapping: Mapped[dict] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="uploaded")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportRowError(TenantScoped, Base):
    """One problem of one row: the error report is these rows as CSV."""

    __tablename__ = "import_errors"
    __table_args__ = (
        tenant_fk("job_id", "import_jobs", ondelete="CASCADE"),
        Index("ix_import_errors_tenant_job_row", "tenant_id", "job_id", "row_number"),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    row_number: Mapped[int] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)


class ImportMapping(TenantScoped, Base):
    """The tenant's last used mapping per entity, offered again on the next upload."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("tenant_id", "entity"),)

    entity: Mapped[str] = mapped_column(String(20))
    mapping: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


class MergeRecord(TenantScoped, Base):
    """What was merged into what, with the field choices and the merged record as it was."""

    __tablename__ = "merge_records"
    __table_args__ = (
        tenant_fk("survivor_id", "customers"),
        tenant_fk("merged_id", "customers"),
        tenant_fk("staff_id", "staff"),
        Index("ix_merge_records_tenant_survivor", "tenant_id", "survivor_id"),
    )

    survivor_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    merged_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    choices: Mapped[dict] = mapped_column(JSONType, default=dict)
    snapshot: Mapped[dict] = mapped_column(JSONType, default=dict)
    moved: Mapped[dict] = mapped_column(JSONType, default=dict)


class DuplicateDismissal(TenantScoped, Base):
    """A pair staff said is not a duplicate; the queue stops offering it."""

    __tablename__ = "duplicate_dismissals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "first_id", "second_id"),
        tenant_fk("first_id", "customers", ondelete="CASCADE"),
        tenant_fk("second_id", "customers", ondelete="CASCADE"),
    )

    first_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    second_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
