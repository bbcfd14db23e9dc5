"""The customer timeline: one list merged from many sources, newest first.

A source is a function `(session, customer_id, before, limit) -> list[TimelineItem]`
returning at most `limit` items of one kind that happened strictly before `before` (all
of them when `before` is None), newest first. The 360 page and the API ask every
registered source and merge the answers, so a feature adds its events to the timeline
by registering a source, without touching the page:

    from saas.timeline import TimelineItem, timeline_source

    @timeline_source("tickets")
    def ticket_items(session, customer_id, before, limit):
        ...

Put the decorated function in a module under `saas/services/`: `sources()` imports that
package once, so a registration there is found from web, API, jobs and CLI alike.
"""

from __future__ import annotations

import heapq
import importlib
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

Source = Callable[[Session, uuid.UUID, datetime | None, int], list["TimelineItem"]]
_SOURCES: dict[str, Source] = {}
_discovered = False
MAX_LIMIT = 200


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    title: str
    entity_type: str
    entity_id: str
    body: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def register_source(name: str, fn: Source) -> Source:
    """Add (or replace, by name) a source; returns `fn` so it also works as a decorator."""
    _SOURCES[name] = fn
    return fn


def unregister_source(name: str) -> None:
    _SOURCES.pop(name, None)


def timeline_source(name: str) -> Callable[[Source], Source]:
    def decorator(fn: Source) -> Source:
        return register_source(name, fn)

    return decorator


def sources() -> dict[str, Source]:
    global _discovered
    if not _discovered:
        _discovered = True
        import saas.services as services_package

        for info in pkgutil.iter_modules(services_package.__path__):
            importlib.import_module(f"saas.services.{info.name}")
    return dict(_SOURCES)


def timeline(session: Session, customer_id: uuid.UUID, before: datetime | None = None,
             limit: int = 50) -> list[TimelineItem]:
    """The newest `limit` items before `before`, merged from every source.

    Page on by passing the last item's `at` as `before`.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    answers = [sorted(fn(session, customer_id, before, limit), key=lambda i: i.at,
                      reverse=True) for fn in sources().values()]
    merged = heapq.merge(*answers, key=lambda i: i.at, reverse=True)
    return [item for _, item in zip(range(limit), merged, strict=False)]


@timeline_source("orders")
def order_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                limit: int) -> list[TimelineItem]:
    from saas.models.orders import Order

    stmt = select(Order).where(Order.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(Order.placed_at < before)
    stmt = stmt.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)
    return [TimelineItem(at=o.placed_at, kind="order", title=o.number, entity_type="order",
                         entity_id=str(o.id), body=None,
                         data={"status": o.status, "total": str(o.total),
                               "currency": o.currency, "channel": o.channel})
            for o in session.scalars(stmt)]


@timeline_source("interactions")
def interaction_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                      limit: int) -> list[TimelineItem]:
    from saas.models.interactions import Interaction

    stmt = select(Interaction).where(Interaction.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(Interaction.occurred_at < before)
    stmt = stmt.order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit)
    return [TimelineItem(at=i.occurred_at, kind="interaction", title=i.channel,
                         entity_type="interaction", entity_id=str(i.id), body=i.summary,
                         data={"channel": i.channel, "direction": i.direction,
                               "kind": i.kind, "staff_id": str(i.staff_id or ""),
                               "follow_up_on": i.follow_up_on.isoformat()
                               if i.follow_up_on else None})
            for i in session.scalars(stmt)]
