"""All models. Every module in this package is imported here, so that the metadata (and
Alembic) sees every table without anyone having to remember to list a new module."""

import importlib
import pkgutil

from saas.models.audit import AuditEntry
from saas.models.base import Base, TenantScoped, new_id
from saas.models.outbox import OutboxEvent
from saas.models.tenant import ROLES, ApiToken, Invitation, Staff, Tenant

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["ROLES", "ApiToken", "AuditEntry", "Base", "Invitation", "OutboxEvent", "Staff",
           "Tenant", "TenantScoped", "new_id"]
