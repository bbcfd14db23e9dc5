"""Points entries and tier changes on the customer timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models.loyalty import PointsEntry
from saas.models.tiers import TierChange
from saas.timeline import TimelineItem, timeline_source


@timeline_source("points")
def points_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                 limit: int) -> list[TimelineItem]:
    stmt = select(PointsEntry).where(PointsEntry.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(PointsEntry.created_at < before)
    stmt = stmt.order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc()).limit(limit)
    return [TimelineItem(at=e.created_at, kind="points", title=f"{e.points:+d} points",
                         entity_type="points_entry", entity_id=str(e.id), body=e.reason,
                         data={"kind": e.kind, "points": e.points,
                               "balance": e.balance_after})
            for e in session.scalars(stmt)]


@timeline_source("tier_changes")
def tier_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
               limit: int) -> list[TimelineItem]:
    stmt = select(TierChange).where(TierChange.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(TierChange.created_at < before)
    stmt = stmt.order_by(TierChange.created_at.desc(), TierChange.id.desc()).limit(limit)
    return [TimelineItem(at=t.created_at, kind="tier",
                         title=f"Tier {t.from_tier or '-'} → {t.to_tier or '-'}",
                         entity_type="tier_change", entity_id=str(t.id),
                         body=t.reason if t.reason != "rule" else f"rules v{t.rule_version}",
                         data={"from": t.from_tier, "to": t.to_tier, "reason": t.reason,
                               "by": t.actor_label})
            for t in session.scalars(stmt)]
