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


def record(session: Session, actor: Actor, action: str, entity_type: str,
           entity_id: Any = None, changes: dict | None = None) -> AuditEntry:
    entry = AuditEntry(actor_id=actor.staff_id, actor_label=actor.label, action=action,
                       entity_type=entity_type,
                       entity_id=str(entity_id) if entity_id is not None else None,
                       changes=_jsonable(changes or {}), ip=actor.ip,
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
