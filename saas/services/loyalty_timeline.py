"""Points entries, tier and membership-level changes, used coupons and referrals on the
customer timeline.

`title` and `body` are English (what the API returns); `data` carries the entry's kind,
numbers and references, so the 360 page renders each item in the reader's language
(`loyalty/_timeline_item.html`) instead of showing the English title.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models.loyalty import Coupon, LevelChange, PointsEntry, Referral, Reward
from saas.models.tiers import TierChange
from saas.timeline import TimelineItem, timeline_source

_PREFIXES = {"order": "Order ", "reward": "Reward: "}
"""How `loyalty.earn_for_order` and `loyalty.redeem` word the reasons they write."""


def _after(prefix: str, text: str) -> str | None:
    return text[len(prefix):] if text.startswith(prefix) else None


def points_data(e: PointsEntry) -> dict:
    """The entry as plain values: `ref` is the order number or reward name taken from a
    system-written reason, `event` the bonus event (first_order, birthday, referral,
    survey_answered, contribution)."""
    reason = e.reason or ""
    ref = None
    if e.kind == "earn" and e.source_type == "order":
        ref = _after(_PREFIXES["order"], reason)
    elif e.kind == "redeem":
        ref = _after(_PREFIXES["reward"], reason)
    return {"kind": e.kind, "points": e.points, "balance": e.balance_after,
            "source": e.source_type, "event": e.source_type if e.kind == "bonus" else None,
            "ref": ref, "note": reason if e.kind == "adjust" else None,
            "by": e.actor_label}


@timeline_source("points")
def points_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                 limit: int) -> list[TimelineItem]:
    stmt = select(PointsEntry).where(PointsEntry.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(PointsEntry.created_at < before)
    stmt = stmt.order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc()).limit(limit)
    return [TimelineItem(at=e.created_at, kind="points", title=f"{e.points:+d} points",
                         entity_type="points_entry", entity_id=str(e.id), body=e.reason,
                         data=points_data(e))
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
                               "by": t.actor_label, "rule_version": t.rule_version,
                               "until": t.override_until.isoformat()
                               if t.override_until else None})
            for t in session.scalars(stmt)]


@timeline_source("level_changes")
def level_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                limit: int) -> list[TimelineItem]:
    """A membership level reached or lost (`membership_levels.refresh`), with why."""
    stmt = select(LevelChange).where(LevelChange.customer_id == customer_id)
    if before is not None:
        stmt = stmt.where(LevelChange.created_at < before)
    stmt = stmt.order_by(LevelChange.created_at.desc(), LevelChange.id.desc()).limit(limit)
    return [TimelineItem(at=ch.created_at, kind="level",
                         title=f"Level {ch.from_level or '-'} → {ch.to_level or '-'}",
                         entity_type="level_change", entity_id=str(ch.id),
                         body=_level_body(ch),
                         data={"from": ch.from_level, "to": ch.to_level,
                               "reason": ch.reason, "basis": ch.basis,
                               "value": None if ch.value is None else str(ch.value),
                               "threshold": ch.threshold,
                               "window_months": ch.window_months})
            for ch in session.scalars(stmt)]


def _level_body(ch: LevelChange) -> str:
    if ch.reason == "level_removed":
        return "The level was removed"
    if ch.basis is None:
        return ch.reason
    what = "points earned" if ch.basis == "points" else "spend"
    return (f"{ch.reason.capitalize()}: {what} {ch.value} in {ch.window_months} months "
            f"(threshold {ch.threshold})")


@timeline_source("coupons_used")
def coupon_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                 limit: int) -> list[TimelineItem]:
    """A coupon or discount code used (its issue is the redemption's points entry)."""
    stmt = select(Coupon, Reward.name).join(Reward, (Reward.tenant_id == Coupon.tenant_id)
                                            & (Reward.id == Coupon.reward_id)).where(
        Coupon.customer_id == customer_id, Coupon.used_at.is_not(None))
    if before is not None:
        stmt = stmt.where(Coupon.used_at < before)
    stmt = stmt.order_by(Coupon.used_at.desc(), Coupon.id.desc()).limit(limit)
    return [TimelineItem(at=c.used_at, kind="coupon", title=f"Coupon {c.code} used",
                         entity_type="coupon", entity_id=str(c.id), body=c.used_on or None,
                         data={"code": c.code, "reward": reward,
                               "discount_percent": c.discount_percent,
                               "used_on": c.used_on or None})
            for c, reward in session.execute(stmt)]


def _referrals(session: Session, column, customer_id: uuid.UUID, before: datetime | None,
               limit: int) -> list[Referral]:
    stmt = select(Referral).where(column == customer_id)
    if before is not None:
        stmt = stmt.where(Referral.created_at < before)
    return list(session.scalars(stmt.order_by(Referral.created_at.desc(),
                                              Referral.id.desc()).limit(limit)))


@timeline_source("referrals")
def referral_items(session: Session, customer_id: uuid.UUID, before: datetime | None,
                   limit: int) -> list[TimelineItem]:
    """Both sides of a referral. The other customer is named by id only: the reader may
    not be allowed to see them (row scope), and their page checks that."""
    came = [TimelineItem(at=r.created_at, kind="referral", title="Referred by a customer",
                         entity_type="referral", entity_id=str(r.id), body=None,
                         data={"role": "referred", "other_id": str(r.referrer_id),
                               "code": r.code})
            for r in _referrals(session, Referral.referred_id, customer_id, before, limit)]
    brought = [TimelineItem(at=r.created_at, kind="referral", title="Referred a customer",
                            entity_type="referral", entity_id=str(r.id), body=None,
                            data={"role": "referrer", "other_id": str(r.referred_id),
                                  "code": r.code, "rewarded": r.rewarded_at is not None})
               for r in _referrals(session, Referral.referrer_id, customer_id, before,
                                   limit)]
    return sorted(came + brought, key=lambda i: i.at, reverse=True)[:limit]
