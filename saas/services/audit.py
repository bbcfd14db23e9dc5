"""Writing and reading the audit log. Services call `record` inside their transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import AuditEntry
from saas.services.context import Actor


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def apply_changes(obj: Any, values: dict[str, Any]) -> dict[str, list]:
    """Set `values` on `obj`; return `{field: [old, new]}` for those that really changed,
    the shape `record` keeps as an entry's changes."""
    changes = {k: [getattr(obj, k), v] for k, v in values.items() if getattr(obj, k) != v}
    for key, (_old, new) in changes.items():
        setattr(obj, key, new)
    return changes


HIDDEN = "[hidden]"
"""Stands in the log for the value of an encrypted field: the entry says the field was
set or changed, never what it holds."""


def _hide(value: Any) -> Any:
    return value if value in (None, "", [], {}) else HIDDEN


def hide_encrypted(entity_type: str, action: str, changes: dict) -> dict:
    """`changes` without the clear values of fields encrypted at rest.

    The audit log is not encrypted, so a phone copied into it would undo the column's
    encryption. The entity's table is `<entity_type>s` (customer -> customers, contact ->
    contacts); its registered encrypted columns are hidden, empty values stay (they
    reveal nothing and keep "phone removed" readable). An `.updated` entry holds
    `[old, new]` pairs, each side hidden on its own."""
    from saas.crypto import encrypted_columns

    table = f"{entity_type}s"
    secret = {c.column for c in encrypted_columns() if c.table.name == table}
    if not secret or not changes:
        return changes
    pairs = action.endswith(".updated")
    out = {}
    for key, value in changes.items():
        if key not in secret:
            out[key] = value
        elif pairs and isinstance(value, list | tuple) and len(value) == 2:
            out[key] = [_hide(value[0]), _hide(value[1])]
        else:
            out[key] = _hide(value)
    return out


def record(session: Session, actor: Actor, action: str, entity_type: str,
           entity_id: Any = None, changes: dict | None = None) -> AuditEntry:
    """One audit entry; values of encrypted fields are replaced by `HIDDEN`."""
    entry = AuditEntry(actor_id=actor.staff_id, actor_label=actor.label, action=action,
                       entity_type=entity_type,
                       entity_id=str(entity_id) if entity_id is not None else None,
                       changes=_jsonable(hide_encrypted(entity_type, action,
                                                        changes or {})), ip=actor.ip,
                       user_agent=actor.user_agent)
    session.add(entry)
    return entry


@dataclass
class AuditFilter:
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    actor_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def query(flt: AuditFilter):
    stmt = select(AuditEntry)
    if flt.action:
        stmt = stmt.where(AuditEntry.action == flt.action)
    if flt.entity_type:
        stmt = stmt.where(AuditEntry.entity_type == flt.entity_type)
    if flt.entity_id:
        stmt = stmt.where(AuditEntry.entity_id == flt.entity_id)
    if flt.actor_id:
        stmt = stmt.where(AuditEntry.actor_id == flt.actor_id)
    if flt.since:
        stmt = stmt.where(AuditEntry.created_at >= flt.since)
    if flt.until:
        stmt = stmt.where(AuditEntry.created_at < flt.until)
    return stmt
