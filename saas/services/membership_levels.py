"""Stored membership levels: the refresh that turns level changes into history and events.

`loyalty.membership` computes a customer's level on the fly (points earned or spend over
each level's window). Computed alone, reaching or losing a level would leave no trace,
so the level is also stored (`customer_levels`) and `refresh` compares the two: one SQL
statement computes every customer's level — per-customer sums over the widest window,
one CASE over the levels from the highest down — and returns only the customers whose
computed level differs from the stored one. Only those rows are written: a
`level_changes` row and a `customer.level_changed` event each, and the stored level,
all in the caller's transaction. Running it again finds no difference and writes nothing.

Called by the nightly loyalty job (windows move even when nothing happens), after every
points entry for that customer (`loyalty.post`), after an order event, and when levels
are created or deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Uuid, and_, case, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from saas.models import OutboxEvent
from saas.models.base import new_id, utcnow
from saas.models.customers import Customer
from saas.models.loyalty import CustomerLevel, LevelChange, MembershipLevel, PointsEntry
from saas.models.orders import COUNTED_STATUSES, Order
from saas.services.customers import bound_tenant, parse_id

EVENT = "customer.level_changed"
REASONS = ("reached", "dropped", "level_removed")
EARNING_KINDS = ("earn", "bonus")
CHUNK = 500
"""Rows per multi-row write (and ids per IN list, well under SQLite's variable limit)."""


def window_start(now: datetime, months: int) -> datetime:
    """Where a level's window starts; the same month-of-30-days rule as `membership`."""
    return now - timedelta(days=30 * months)


def ranked_levels(session: Session) -> list[MembershipLevel]:
    """Levels from the highest down. A higher threshold wins (as in `membership`); the
    basis and then the name break ties, so the order is the same on every run."""
    levels = list(session.scalars(select(MembershipLevel)))
    return sorted(levels, key=lambda lv: (lv.threshold, lv.basis, lv.name), reverse=True)


def _key(level: MembershipLevel) -> str:
    return f"{'p' if level.basis == 'points' else 's'}{level.window_months}"


def _diff(session: Session, levels: list[MembershipLevel], now: datetime,
          ids: list[uuid.UUID] | None):
    """Customers whose computed level differs from the stored one, with their sums."""
    tid = bound_tenant(session).id
    c, cl = Customer, CustomerLevel
    windows = {"p": sorted({lv.window_months for lv in levels if lv.basis == "points"}),
               "s": sorted({lv.window_months for lv in levels if lv.basis == "spend"})}
    values: dict[str, Any] = {}
    joins: list[tuple[Any, Any]] = []
    if windows["p"]:
        pe = PointsEntry
        sums = [func.sum(case((pe.created_at >= window_start(now, w), pe.points), else_=0))
                .label(f"p{w}") for w in windows["p"]]
        pts = select(pe.customer_id.label("cid"), *sums).where(
            pe.tenant_id == tid, pe.points > 0, pe.kind.in_(EARNING_KINDS),
            pe.created_at >= window_start(now, max(windows["p"])))
        if ids is not None:
            pts = pts.where(pe.customer_id.in_(ids))
        pts_q = pts.group_by(pe.customer_id).subquery("level_points")
        joins.append((pts_q, pts_q.c.cid == c.id))
        values.update({f"p{w}": func.coalesce(pts_q.c[f"p{w}"], 0) for w in windows["p"]})
    if windows["s"]:
        o = Order
        sums = [func.sum(case((o.placed_at >= window_start(now, w), o.total), else_=0))
                .label(f"s{w}") for w in windows["s"]]
        spend = select(o.customer_id.label("cid"), *sums).where(
            o.tenant_id == tid, o.status.in_(COUNTED_STATUSES),
            o.currency == bound_tenant(session).currency,
            o.placed_at >= window_start(now, max(windows["s"])))
        if ids is not None:
            spend = spend.where(o.customer_id.in_(ids))
        spend_q = spend.group_by(o.customer_id).subquery("level_spend")
        joins.append((spend_q, spend_q.c.cid == c.id))
        values.update({f"s{w}": func.coalesce(spend_q.c[f"s{w}"], 0) for w in windows["s"]})
    target = case(*[(values[_key(lv)] >= lv.threshold, literal(lv.id, Uuid()))
                    for lv in levels], else_=None) if levels else literal(None, Uuid())
    joins.append((cl, and_(cl.tenant_id == c.tenant_id, cl.id == c.id)))
    stmt = select(c.id.label("customer_id"), cl.level_id.label("old_id"),
                  cl.level_name.label("old_name"), target.label("new_id"),
                  *[v.label(k) for k, v in values.items()]).select_from(c)
    for right, on in joins:  # ORM joins: the tenant criteria go into each ON clause
        stmt = stmt.outerjoin(right, on)
    stmt = (stmt.where(c.tenant_id == tid, c.merged_into_id.is_(None),
                   target.is_distinct_from(cl.level_id)))
    if ids is not None:
        stmt = stmt.where(c.id.in_(ids))
    return session.execute(stmt).mappings().all()


def _why(row: Any, old: MembershipLevel | None, new: MembershipLevel | None,
         rank: dict[uuid.UUID, int]) -> dict[str, Any]:
    """The reason and the level that explains it (reached: the new one; dropped: the one
    lost), with the customer's value of that level's measure over its window."""
    if row["old_id"] is not None and old is None:
        reason, level = "level_removed", new
    elif new is not None and (old is None or rank[new.id] < rank[old.id]):
        reason, level = "reached", new
    else:
        reason, level = "dropped", old
    if level is None:
        return {"reason": reason, "basis": None, "value": None, "threshold": None,
                "window_months": None}
    value = Decimal(str(row[_key(level)] or 0)).quantize(Decimal("0.01"))
    return {"reason": reason, "basis": level.basis, "value": value,
            "threshold": level.threshold, "window_months": level.window_months}


def refresh(session: Session, customer_ids: Iterable[Any] | None = None,
            now: datetime | None = None) -> int:
    """Bring the stored levels in line with the computed ones; returns how many changed.

    All customers, or only `customer_ids`. For each change: one `level_changes` row, one
    `customer.level_changed` event (`from`, `to`, `why`) and the stored level updated,
    in the caller's transaction (nothing is committed here).
    """
    session.flush()
    now = now or utcnow()
    ids = None if customer_ids is None else [parse_id(i) for i in customer_ids]
    if ids is not None and not ids:
        return 0
    levels = ranked_levels(session)
    if not levels and not session.scalar(select(CustomerLevel.id).limit(1)):
        return 0
    rows = _diff(session, levels, now, ids)
    if not rows:
        return 0
    tid = bound_tenant(session).id
    by_id = {lv.id: lv for lv in levels}
    rank = {lv.id: i for i, lv in enumerate(levels)}
    changes, events, stored = [], [], []
    for row in rows:
        old, new = by_id.get(row["old_id"]), by_id.get(row["new_id"])
        why = _why(row, old, new, rank)
        to_name = new.name if new else None
        changes.append({"tenant_id": tid, "id": new_id(), "created_at": now,
                        "customer_id": row["customer_id"], "from_level": row["old_name"],
                        "to_level": to_name, **why})
        events.append({"tenant_id": tid, "id": new_id(), "created_at": now, "name": EVENT,
                       "entity_type": "customer", "entity_id": str(row["customer_id"]),
                       "status": "pending", "attempts": 0,
                       "payload": {"customer_id": str(row["customer_id"]),
                                   "from": row["old_name"], "to": to_name,
                                   "why": {**why, "value": None if why["value"] is None
                                           else str(why["value"])}}})
        if new is not None:
            stored.append({"tenant_id": tid, "id": row["customer_id"], "created_at": now,
                           "level_id": new.id, "level_name": new.name, "reached_at": now})
    changed = [r["customer_id"] for r in rows]
    for i in range(0, len(changed), CHUNK):
        session.execute(delete(CustomerLevel).where(CustomerLevel.id.in_(
            changed[i:i + CHUNK])).execution_options(synchronize_session=False))
    for table, data in ((CustomerLevel, stored), (LevelChange, changes),
                        (OutboxEvent, events)):
        for i in range(0, len(data), CHUNK):
            session.execute(insert(table), data[i:i + CHUNK])
    for obj in list(session.identity_map.values()):
        if isinstance(obj, CustomerLevel):
            session.expire(obj)
    _deliver_after_commit(session, tid, [e["id"] for e in events])
    return len(rows)


def _deliver_after_commit(session: Session, tenant_id: uuid.UUID,
                          event_ids: list[uuid.UUID]) -> None:
    """What `outbox.emit` does for one event, for rows written in bulk."""
    from saas.jobs.queue import enqueue_after_commit

    for event_id in event_ids:
        enqueue_after_commit(session, "saas.jobs.outbox:deliver_event", tenant_id, event_id)


def current_level(session: Session, customer_id: Any) -> CustomerLevel | None:
    """The stored level (as of the last refresh), or None."""
    return session.scalars(select(CustomerLevel).where(
        CustomerLevel.id == parse_id(customer_id))).first()


def history(session: Session, customer_id: Any, limit: int = 100) -> list[LevelChange]:
    """The customer's level changes, newest first."""
    return list(session.scalars(select(LevelChange).where(
        LevelChange.customer_id == parse_id(customer_id)).order_by(
        LevelChange.created_at.desc(), LevelChange.id.desc()).limit(limit)))
