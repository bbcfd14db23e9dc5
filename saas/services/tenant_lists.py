"""Short name lists a tenant edits for itself (customer categories, ticket causes), kept in
the tenant's settings: one cleaning rule and one audit trail for all of them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from saas.models import Tenant
from saas.services import audit
from saas.services.context import Actor
from saas.services.errors import InvalidInput


def clean_names(names: list[str] | None, field: str, what: str) -> list[str]:
    """Trimmed, de-duplicated names in the given order; at least one, each 1-60 chars."""
    cleaned: list[str] = []
    for name in names or []:
        text = name.strip() if isinstance(name, str) else ""
        if not text or len(text) > 60:
            raise InvalidInput.field(field, f"Each {what} is 1-60 characters.")
        if text not in cleaned:
            cleaned.append(text)
    if not cleaned:
        raise InvalidInput.field(field, f"Keep at least one {what}.")
    return cleaned


def save_list(session: Session, actor: Actor, tenant: Tenant, key: str, field: str,
              old: list[str], new: list[str]) -> list[str]:
    tenant.settings = {**(tenant.settings or {}), key: new}
    audit.record(session, actor, f"{key}.changed", "tenant", tenant.id, {field: [old, new]})
    return new
