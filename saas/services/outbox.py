"""Emitting events: a row in the same transaction, a job enqueued after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from saas.models import OutboxEvent
from saas.services.audit import _jsonable


def emit(session: Session, name: str, entity_type: str | None = None,
         entity_id: Any = None, payload: dict | None = None) -> OutboxEvent:
    event = OutboxEvent(name=name, entity_type=entity_type,
                        entity_id=str(entity_id) if entity_id is not None else None,
                        payload=_jsonable(payload or {}))
    session.add(event)
    session.flush()
    from saas.jobs.queue import enqueue_after_commit

    enqueue_after_commit(session, "saas.jobs.outbox:deliver_event", event.tenant_id, event.id)
    return event
