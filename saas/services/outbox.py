"""Emitting events: a row in the same transaction, a job enqueued after commit.

`emit` is for one event at a time (one `deliver_event` job each). A set-based writer (the
import fast path) inserts its events with `INSERT ... SELECT` instead, giving them ids
from an `EventIds` range, and calls `deliver_range_after_commit` once per chunk: one
`deliver_batch` job then hands that chunk's events to the dispatchers in id order, so a
million events never become a million jobs.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from saas.models import OutboxEvent
from saas.models.base import new_id
from saas.services.audit import _jsonable

_SUFFIX_BITS = 48  # the last 12 hex digits of an id count the events of one range
_SPAN = 1 << 40  # room for ordinals above a random start; file rows stay far below


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


@dataclass(frozen=True)
class EventIds:
    """Ids for events written in SQL: a UUIDv7 whose last 48 bits are `start + ordinal`.

    They sort like the ordinals (file row numbers, say) and all fall between
    `first()` and `last(n)`, which is what `deliver_batch` is given; the timestamp and
    random bits of the prefix keep two ranges, even of the same millisecond, apart."""

    prefix: str
    start: int

    @classmethod
    def new(cls) -> EventIds:
        return cls(new_id().hex[:-_SUFFIX_BITS // 4],
                   int.from_bytes(os.urandom(5), "big") % ((1 << _SUFFIX_BITS) - _SPAN))

    def of(self, ordinal: int) -> uuid.UUID:
        if not 0 <= ordinal < _SPAN:
            raise ValueError(f"ordinal {ordinal} is outside an event id range")
        return uuid.UUID(self.prefix + f"{self.start + ordinal:012x}")

    def sql(self, ordinal: str) -> str:
        """The id as a SQL expression of the integer expression `ordinal`; binds
        `:event_prefix` and `:event_start` (see `params`)."""
        return (f"CAST(:event_prefix || lpad(to_hex(:event_start + ({ordinal})), 12, '0')"
                " AS uuid)")

    def params(self) -> dict[str, Any]:
        return {"event_prefix": self.prefix, "event_start": self.start}


def deliver_range_after_commit(session: Session, tenant_id: Any, first: uuid.UUID,
                               last: uuid.UUID) -> None:
    """Deliver the events with ids in [first, last] in one job once this transaction
    commits (the sweep still finds them if Redis loses the job)."""
    from saas.jobs.queue import enqueue_after_commit

    enqueue_after_commit(session, "saas.jobs.outbox:deliver_batch", tenant_id, str(first),
                         str(last))
