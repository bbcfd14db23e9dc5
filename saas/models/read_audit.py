"""Which customers a list export contained (issue 11), for "who saw this customer".

A list export is one `customers.exported` audit entry; its customers are one narrow row
each here, written with one INSERT ... SELECT of the export's own filter, so a
million-customer export costs one statement, not a million audit entries. No foreign key
to customers: the read history outlives merges and erasure, like the audit log.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, tenant_fk


class ReadAuditExport(Base):
    __tablename__ = "read_audit_exports"
    __table_args__ = (
        tenant_fk("audit_id", "audit_entries", ondelete="CASCADE"),
        Index("ix_read_audit_exports_tenant_customer", "tenant_id", "customer_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id"),
                                                 primary_key=True)
    audit_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
