"""Consent history: every grant and withdrawal per channel, and the state derived from it.

The history (`consent_events`) is the record; `customers.consent` is a cache of the latest
event per channel that the customer service keeps in step (it calls `record_changes`
whenever it writes the column). Channel sends ask `current_status`, which reads the
history and falls back to the column only for customers written by a set-based path
(the import fast path) that recorded no events.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models.base import utcnow
from saas.models.customers import CONSENT_CHANNELS, CONSENT_STATUSES, Customer
from saas.models.privacy import CONSENT_SOURCES, ConsentEvent
from saas.services.context import Actor
from saas.services.errors import InvalidInput
from saas.timeline import TimelineItem, timeline_source


def classify_source(text: str | None, actor: Actor) -> str:
    """One of CONSENT_SOURCES from the free-text source a writer gave."""
    raw = (text or "").lower()
    for word, source in (("unsubscribe", "unsubscribe"), ("import", "import"),
                         ("staff", "staff"), ("form", "form"), ("api", "api")):
        if word in raw:
            return source
    if raw in CONSENT_SOURCES:
        return raw
    return "staff" if actor.staff_id else "system"


def _parse_at(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return utcnow()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


def record_changes(session: Session, actor: Actor, customer: Customer,
                   before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> int:
    """Append one event per channel whose entry changed between `before` and `after`."""
    count = 0
    before = before or {}
    for channel, entry in (after or {}).items():
        if not isinstance(entry, Mapping) or entry.get("status") not in CONSENT_STATUSES:
            continue
        old = before.get(channel)
        if isinstance(old, Mapping) and old.get("status") == entry.get("status") \
                and old.get("at") == entry.get("at"):
            continue
        source_text = entry.get("source")
        session.add(ConsentEvent(
            customer_id=customer.id, channel=channel, status=entry["status"],
            source=classify_source(source_text, actor),
            detail=str(source_text)[:100] if source_text else None,
            actor_id=actor.staff_id, actor_label=actor.label[:255],
            at=_parse_at(entry.get("at"))))
        count += 1
    return count


def history(session: Session, customer_id: uuid.UUID, channel: str | None = None
            ) -> list[ConsentEvent]:
    """The customer's consent events, newest first."""
    stmt = select(ConsentEvent).where(ConsentEvent.customer_id == customer_id)
    if channel:
        stmt = stmt.where(ConsentEvent.channel == channel)
    return list(session.scalars(stmt.order_by(ConsentEvent.at.desc(),
                                              ConsentEvent.id.desc())))


def derived_state(session: Session, customer_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """{channel: {status, at, source}} from the latest event of each channel."""
    state: dict[str, dict[str, Any]] = {}
    for event in history(session, customer_id):
        if event.channel not in state:
            state[event.channel] = {"status": event.status, "at": event.at.isoformat(),
                                    "source": event.detail or event.source}
    return state


def current_status(session: Session, customer: Customer, channel: str) -> str | None:
    """granted / withdrawn / None for one channel: the history first, then the column."""
    latest = session.scalars(
        select(ConsentEvent).where(ConsentEvent.customer_id == customer.id,
                                   ConsentEvent.channel == channel)
        .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc()).limit(1)).first()
    if latest is not None:
        return latest.status
    entry = (customer.consent or {}).get(channel)
    return entry.get("status") if isinstance(entry, Mapping) else entry


def change(session: Session, actor: Actor, customer_id: Any, channel: str, status: str,
           source: str = "staff") -> Customer:
    """Grant or withdraw one channel through the customer service (history + column)."""
    from saas.services.customers import update_customer

    errors = {}
    if channel not in CONSENT_CHANNELS:
        errors["channel"] = [f"Choose one of: {', '.join(CONSENT_CHANNELS)}."]
    if status not in CONSENT_STATUSES:
        errors["status"] = [f"Choose one of: {', '.join(CONSENT_STATUSES)}."]
    if source not in CONSENT_SOURCES:
        errors["source"] = [f"Choose one of: {', '.join(CONSENT_SOURCES)}."]
    if errors:
        raise InvalidInput("Please correct the consent change.", errors)
    return update_customer(session, actor, customer_id, {"consent": {channel: {
        "status": status, "source": source, "at": utcnow().isoformat()}}})


@timeline_source("consent")
def consent_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                  limit: int) -> list[TimelineItem]:
    """Consent grants and withdrawals on the 360 page."""
    stmt = select(ConsentEvent).where(ConsentEvent.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(ConsentEvent.at < before)
    stmt = stmt.order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc()).limit(limit)
    return [TimelineItem(at=e.at, kind="consent", title=f"{e.channel}: {e.status}",
                         entity_type="consent_event", entity_id=str(e.id),
                         body=f"{e.source} · {e.actor_label}",
                         data={"channel": e.channel, "status": e.status,
                               "source": e.source})
            for e in session.scalars(stmt)]
