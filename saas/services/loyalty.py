"""Loyalty points: the programme, the append-only ledger, earning, redemption, expiry.

Every change of points goes through `post`: one conditional UPDATE of the customer's
balance row (`... WHERE balance + :delta >= 0 RETURNING balance`), which takes the row
lock, so two concurrent redemptions serialise and the second one sees the first one's
result — the balance can never go below zero and always equals the sum of the ledger.
Writes that touch several rows (a redemption: stock, points, coupon) run in a SAVEPOINT,
so a failure leaves nothing behind even if the caller carries on.

Which points expire is derived from the ledger (spending consumes the oldest points
first), so no entry is ever updated: what is due is "points earned with an expiry up to
now" minus "everything ever spent, reversed or expired", when positive.
"""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import String, and_, case, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.models.customers import Customer
from saas.models.loyalty import (
    LEVEL_BASES,
    REWARD_KINDS,
    Coupon,
    LoyaltyProgram,
    MembershipLevel,
    PointsBalance,
    PointsEntry,
    Redemption,
    Reward,
)
from saas.models.orders import COUNTED_STATUSES, Order
from saas.services import audit, outbox
from saas.services.context import Actor
from saas.services.customers import bound_tenant, get_customer, parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.tenant_templates import TemplateError, load_template

BONUS_EVENTS = ("first_order", "birthday", "referral", "survey_answered")
EVENT_NAMES = {"earn": "points.earned", "bonus": "points.earned", "redeem": "points.redeemed",
               "expire": "points.expired", "adjust": "points.adjusted",
               "reverse": "points.reversed"}
MAX_POINTS = 10_000_000
CONTRIBUTION_MEASURES = ("spend_12m", "spend_total", "order_count", "interactions_90d")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# --- programme --------------------------------------------------------------------------

def program(session: Session) -> LoyaltyProgram:
    """The tenant's programme; created from its template on first use."""
    found = session.scalars(select(LoyaltyProgram)).first()
    if found is not None:
        return found
    try:
        defaults = load_template(bound_tenant(session).template)["loyalty"]
    except TemplateError:
        defaults = {"points_per_unit": 1.0, "expiry_months": 24, "tier_multipliers": {},
                    "bonus": {}}
    found = LoyaltyProgram(points_per_unit=defaults["points_per_unit"],
                           expiry_months=defaults["expiry_months"], notice_days=30,
                           tier_multipliers=dict(defaults["tier_multipliers"]),
                           bonus=dict(defaults["bonus"]), contribution_rules=[])
    session.add(found)
    session.flush()
    return found


def _number(data: Mapping, key: str, errors: dict, lo: float, hi: float,
            integer: bool = False, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None or value == "":
        if not optional:
            errors[key] = ["This field is required."]
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value) if integer else float(value)
        if integer and isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        errors[key] = ["Enter a whole number." if integer else "Enter a number."]
        return None
    if not lo <= number <= hi or (not integer and not math.isfinite(number)):
        errors[key] = [f"Use {lo:g}-{hi:g}."]
        return None
    return number


def update_program(session: Session, actor: Actor, data: Mapping[str, Any]) -> LoyaltyProgram:
    prog = program(session)
    errors: dict[str, list[str]] = {}
    allowed = {"points_per_unit", "expiry_months", "notice_days", "tier_multipliers", "bonus",
               "cap_per_order", "cap_per_month", "contribution_rules"}
    for key in set(data) - allowed:
        errors[key] = ["Unknown field."]
    changes: dict[str, Any] = {}
    for key, lo, hi, integer, optional in (
            ("points_per_unit", 0, 1000, False, False), ("expiry_months", 1, 120, True, False),
            ("notice_days", 0, 365, True, False), ("cap_per_order", 1, MAX_POINTS, True, True),
            ("cap_per_month", 1, MAX_POINTS, True, True)):
        if key in data:
            changes[key] = _number(data, key, errors, lo, hi, integer, optional)
    if "tier_multipliers" in data:
        raw = data["tier_multipliers"]
        if not isinstance(raw, Mapping):
            errors["tier_multipliers"] = ["Give tier name: multiplier pairs."]
        else:
            changes["tier_multipliers"] = {
                str(k): _number(raw, k, errors, 0, 100) for k in raw}
            for k in raw:
                if k in errors:
                    errors[f"tier_multipliers.{k}"] = errors.pop(k)
    if "bonus" in data:
        raw = data["bonus"]
        if not isinstance(raw, Mapping):
            errors["bonus"] = ["Give event: points pairs."]
        else:
            changes["bonus"] = {}
            for k in raw:
                if k not in BONUS_EVENTS:
                    errors[f"bonus.{k}"] = [f"Choose from: {', '.join(BONUS_EVENTS)}."]
                    continue
                sub: dict[str, list[str]] = {}
                changes["bonus"][k] = _number(raw, k, sub, 0, MAX_POINTS, True)
                if sub:
                    errors[f"bonus.{k}"] = sub[k]
    if "contribution_rules" in data:
        changes["contribution_rules"] = _contribution_rules(data["contribution_rules"],
                                                            errors)
    if errors:
        raise InvalidInput("Please correct the loyalty settings.", errors)
    old = {k: getattr(prog, k) for k in changes}
    for key, value in changes.items():
        setattr(prog, key, value)
    audit.record(session, actor, "loyalty.program_updated", "loyalty_program", prog.id,
                 {k: [old[k], v] for k, v in changes.items()})
    return prog


def _contribution_rules(raw: Any, errors: dict) -> list[dict]:
    if not isinstance(raw, list):
        errors["contribution_rules"] = ["Give a list of rules."]
        return []
    out = []
    for i, rule in enumerate(raw):
        p = f"contribution_rules.{i}"
        if not isinstance(rule, Mapping) or rule.get("measure") not in CONTRIBUTION_MEASURES:
            errors[f"{p}.measure"] = [f"Choose from: {', '.join(CONTRIBUTION_MEASURES)}."]
            continue
        sub: dict[str, list[str]] = {}
        threshold = _number(rule, "threshold", sub, 0, 1e12)
        points = _number(rule, "points", sub, 1, MAX_POINTS, True)
        for k, v in sub.items():
            errors[f"{p}.{k}"] = v
        if not sub:
            out.append({"key": f"{rule['measure']}>={threshold:g}", "measure": rule["measure"],
                        "threshold": threshold, "points": points})
    return out


# --- the ledger -------------------------------------------------------------------------

def balance(session: Session, customer_id: uuid.UUID) -> int:
    return session.scalar(select(PointsBalance.balance).where(
        PointsBalance.id == customer_id)) or 0


def _ensure_balance_row(session: Session, customer_id: uuid.UUID) -> None:
    tid = bound_tenant(session).id
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(maker(PointsBalance).values(
        tenant_id=tid, id=customer_id, created_at=utcnow(), balance=0)
        .on_conflict_do_nothing())


def _existing(session: Session, kind: str, source_type: str | None,
              source_id: str | None) -> PointsEntry | None:
    if source_type is None or source_id is None:
        return None
    return session.scalars(select(PointsEntry).where(
        PointsEntry.kind == kind, PointsEntry.source_type == source_type,
        PointsEntry.source_id == source_id)).first()


def post(session: Session, actor: Actor, customer_id: uuid.UUID, kind: str, points: int,
         *, reason: str = "", source_type: str | None = None, source_id: str | None = None,
         expires_at: datetime | None = None, payload: dict | None = None) -> PointsEntry:
    """Append one entry and move the balance with it, or raise without writing.

    An entry with a source (`kind`, `source_type`, `source_id`) is written once: posting
    it again returns the first one, so jobs can be re-run safely.
    """
    if not isinstance(points, int) or isinstance(points, bool) or points == 0 \
            or abs(points) > MAX_POINTS:
        raise InvalidInput.field("points", f"Enter a non-zero whole number up to {MAX_POINTS}.")
    found = _existing(session, kind, source_type, source_id)
    if found is not None:
        return found
    nested = session.begin_nested()
    try:
        _ensure_balance_row(session, customer_id)
        now = utcnow()
        new_balance = session.execute(
            update(PointsBalance)
            .where(PointsBalance.id == customer_id, PointsBalance.balance + points >= 0)
            .values(balance=PointsBalance.balance + points, updated_at=now)
            .returning(PointsBalance.balance)
            .execution_options(synchronize_session=False)).scalar()
        if new_balance is None:
            raise InvalidInput.field("points", "Not enough points: the balance is "
                                               f"{balance(session, customer_id)}.")
        entry = PointsEntry(customer_id=customer_id, kind=kind, points=points,
                            balance_after=new_balance, expires_at=expires_at,
                            source_type=source_type, source_id=source_id,
                            reason=(reason or "")[:200], actor_id=actor.staff_id,
                            actor_label=actor.label)
        session.add(entry)
        session.flush()
        outbox.emit(session, EVENT_NAMES[kind], "customer", customer_id, {
            "customer_id": customer_id, "entry_id": entry.id, "kind": kind,
            "points": points, "balance": new_balance, "reason": entry.reason,
            **(payload or {})})
        nested.commit()
    except IntegrityError:
        nested.rollback()
        found = _existing(session, kind, source_type, source_id)
        if found is None:
            raise
        return found
    except Exception:
        nested.rollback()
        raise
    from saas.services.membership_levels import refresh as refresh_levels

    # Points move the customer's level (points earned in a window): keep it stored, so
    # reaching or losing one is recorded and emitted in this same transaction.
    refresh_levels(session, [customer_id])
    return entry


def ledger(session: Session, customer_id: Any, limit: int = 100) -> list[PointsEntry]:
    customer = get_customer(session, customer_id)
    return list(session.scalars(select(PointsEntry).where(
        PointsEntry.customer_id == customer.id).order_by(
        PointsEntry.created_at.desc(), PointsEntry.id.desc()).limit(limit)))


def _expiry(prog: LoyaltyProgram, at: datetime) -> datetime:
    month = at.month - 1 + prog.expiry_months
    year, month = at.year + month // 12, month % 12 + 1
    day = min(at.day, 28)
    return at.replace(year=year, month=month, day=day)


def adjust(session: Session, actor: Actor, customer_id: Any, points: Any,
           reason: str) -> PointsEntry:
    """A staff correction, positive (expires like earned points) or negative."""
    customer = get_customer(session, customer_id)
    errors: dict[str, list[str]] = {}
    if isinstance(points, str) and points.strip().lstrip("-").isdigit():
        points = int(points)
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        errors["points"] = ["Enter a non-zero whole number."]
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
        errors["reason"] = ["Say why (1-200 characters)."]
    if errors:
        raise InvalidInput("Please correct the adjustment.", errors)
    expires = _expiry(program(session), utcnow()) if points > 0 else None
    entry = post(session, actor, customer.id, "adjust", points, reason=reason.strip(),
                 expires_at=expires)
    audit.record(session, actor, "points.adjusted", "customer", customer.id,
                 {"points": points, "reason": reason.strip()})
    return entry


# --- earning ----------------------------------------------------------------------------

def _tier_name(session: Session, customer_id: uuid.UUID) -> str | None:
    from saas.services.tiers import customer_tier

    found = customer_tier(session, customer_id)
    return found[1].name if found else None


def points_for(prog: LoyaltyProgram, amount: Decimal, tier: str | None) -> int:
    multiplier = Decimal(str((prog.tier_multipliers or {}).get(tier or "", 1.0)))
    points = int((amount * Decimal(str(prog.points_per_unit)) * multiplier)
                 .to_integral_value(rounding="ROUND_FLOOR"))
    if prog.cap_per_order:
        points = min(points, prog.cap_per_order)
    return max(points, 0)


def earn_for_order(session: Session, order_id: Any) -> list[PointsEntry]:
    """Points for a placed order (tier multiplier, caps), the first-order bonus and the
    referrer's reward. Idempotent: re-running returns the entries already written."""
    order = session.scalars(select(Order).where(Order.id == parse_id(order_id, "order"))).first()
    if order is None or order.status not in COUNTED_STATUSES:
        return []
    prog = program(session)
    actor = Actor.system("loyalty")
    entries = []
    if order.currency == bound_tenant(session).currency:
        points = points_for(prog, order.total, _tier_name(session, order.customer_id))
        if prog.cap_per_month:
            start = order.placed_at.astimezone(UTC).replace(day=1, hour=0, minute=0,
                                                            second=0, microsecond=0)
            so_far = session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                                    .where(PointsEntry.customer_id == order.customer_id,
                                           PointsEntry.kind == "earn",
                                           PointsEntry.created_at >= start)) or 0
            points = min(points, max(prog.cap_per_month - so_far, 0))
        if points > 0:
            entries.append(post(session, actor, order.customer_id, "earn", points,
                                reason=f"Order {order.number}", source_type="order",
                                source_id=str(order.id),
                                expires_at=_expiry(prog, order.placed_at)))
    counted = session.scalar(select(func.count()).select_from(Order).where(
        Order.customer_id == order.customer_id, Order.status.in_(COUNTED_STATUSES)))
    if counted == 1:
        bonus = award_bonus(session, actor, order.customer_id, "first_order", "first")
        if bonus:
            entries.append(bonus)
        from saas.services.referrals import reward_referrer

        reward_referrer(session, order.customer_id)
    return entries


def award_bonus(session: Session, actor: Actor, customer_id: Any, event: str,
                ref: str) -> PointsEntry | None:
    """A bonus for `event` (first_order, birthday, referral, survey_answered) once per
    `ref` (e.g. the year for birthdays, the survey answer id); None if the programme
    gives nothing for it."""
    if event not in BONUS_EVENTS:
        raise InvalidInput.field("event", f"Choose from: {', '.join(BONUS_EVENTS)}.")
    customer = get_customer(session, customer_id)
    prog = program(session)
    points = int((prog.bonus or {}).get(event) or 0)
    if points <= 0:
        return None
    return post(session, actor, customer.id, "bonus", points, reason=event.replace("_", " "),
                source_type=event, source_id=f"{customer.id}:{ref}"[:64],
                expires_at=_expiry(prog, utcnow()), payload={"event": event})


def reverse_for_order(session: Session, order_id: Any) -> PointsEntry | None:
    """Take back what an order earned when it is refunded — as much as is left: the
    balance never goes negative, and the shortfall is noted on the entry."""
    oid = str(parse_id(order_id, "order"))
    rows = session.execute(select(PointsEntry.customer_id, PointsEntry.points).where(
        PointsEntry.source_type == "order", PointsEntry.source_id == oid,
        PointsEntry.kind == "earn")).all()
    if not rows:
        return None
    customer_id, earned = rows[0][0], sum(p for _, p in rows)
    take = min(earned, balance(session, customer_id))
    if take <= 0:
        return None
    reason = "Refund" + (f" ({earned - take} points already spent)" if take < earned else "")
    return post(session, Actor.system("loyalty"), customer_id, "reverse", -take,
                reason=reason, source_type="order", source_id=oid)


def award_birthdays(session: Session, today: datetime | None = None) -> int:
    """The birthday bonus for customers whose birthday is today (once a year each)."""
    today = today or utcnow()
    if not (program(session).bonus or {}).get("birthday"):
        return 0
    month_day = f"{today.month:02d}-{today.day:02d}"
    ids = session.scalars(select(Customer.id).where(
        Customer.birthday.is_not(None), Customer.merged_into_id.is_(None),
        func.substr(cast(Customer.birthday, String), 6, 5) == month_day)).all()
    actor = Actor.system("loyalty")
    for cid in ids:
        award_bonus(session, actor, cid, "birthday", str(today.year))
    return len(ids)


def award_contributions(session: Session) -> int:
    """Points for each contribution threshold a customer has reached (once per rule)."""
    from saas.models.tiers import CustomerMeasure

    prog = program(session)
    actor = Actor.system("loyalty")
    count = 0
    for rule in prog.contribution_rules or []:
        column = getattr(CustomerMeasure, rule["measure"])
        ids = session.scalars(select(CustomerMeasure.id).where(
            column >= Decimal(str(rule["threshold"])))).all()
        for cid in ids:
            source_id = f"{cid}:{rule['key']}"[:64]
            if _existing(session, "bonus", "contribution", source_id):
                continue
            post(session, actor, cid, "bonus", int(rule["points"]),
                 reason=f"Contribution: {rule['key']}", source_type="contribution",
                 source_id=source_id, expires_at=_expiry(prog, utcnow()))
            count += 1
    return count


# --- expiry -----------------------------------------------------------------------------

def _due(session: Session, cutoff: datetime, customer_ids=None):
    e = func.sum(case((and_(PointsEntry.points > 0, PointsEntry.expires_at <= cutoff),
                       PointsEntry.points), else_=0))
    d = func.sum(case((PointsEntry.points < 0, -PointsEntry.points), else_=0))
    stmt = select(PointsEntry.customer_id, (e - d).label("due")).group_by(
        PointsEntry.customer_id).having(e - d > 0)
    if customer_ids is not None:
        stmt = stmt.where(PointsEntry.customer_id.in_(customer_ids))
    return session.execute(stmt).all()


def expire_due(session: Session, now: datetime | None = None) -> int:
    """Expire what is due, oldest first; returns the number of points expired."""
    now = now or utcnow()
    actor = Actor.system("loyalty")
    total = 0
    for customer_id, due in _due(session, now):
        take = min(int(due), balance(session, customer_id))
        if take > 0:
            post(session, actor, customer_id, "expire", -take, reason="Points expired")
            total += take
    return total


def notify_expiring(session: Session, now: datetime | None = None) -> int:
    """Emit `points.expiring` for customers with points expiring within the notice
    window (once per window), for channel plugins to tell them."""
    now = now or utcnow()
    prog = program(session)
    if not prog.notice_days:
        return 0
    horizon = now + timedelta(days=prog.notice_days)
    due_now = dict(_due(session, now))
    sent = 0
    for customer_id, due_later in _due(session, horizon):
        amount = int(due_later) - int(due_now.get(customer_id, 0))
        if amount <= 0:
            continue
        already = session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.name == "points.expiring", OutboxEvent.entity_id == str(customer_id),
            OutboxEvent.created_at >= now - timedelta(days=prog.notice_days)))
        if already:
            continue
        outbox.emit(session, "points.expiring", "customer", customer_id, {
            "customer_id": customer_id, "points": amount, "before": horizon.isoformat()})
        sent += 1
    return sent


# --- rewards and redemption -------------------------------------------------------------

def list_rewards(session: Session, active_only: bool = False) -> list[Reward]:
    stmt = select(Reward).order_by(Reward.points_cost, Reward.name)
    if active_only:
        stmt = stmt.where(Reward.active.is_(True))
    return list(session.scalars(stmt))


def get_reward(session: Session, reward_id: Any) -> Reward:
    found = session.scalars(select(Reward).where(
        Reward.id == parse_id(reward_id, "reward"))).first()
    if found is None:
        raise NotFound("No such reward.")
    return found


def _clean_reward(data: Mapping[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    allowed = {"name", "kind", "description", "points_cost", "stock", "discount_percent",
               "valid_days", "active"}
    for key in set(data) - allowed:
        errors[key] = ["Unknown field."]
    out: dict[str, Any] = {}
    if creating or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 120:
            errors["name"] = ["Enter a name of 1-120 characters."]
        else:
            out["name"] = name.strip()
    if creating or "kind" in data:
        if data.get("kind") not in REWARD_KINDS:
            errors["kind"] = [f"Choose one of: {', '.join(REWARD_KINDS)}."]
        else:
            out["kind"] = data["kind"]
    if "description" in data:
        if not isinstance(data["description"], str) or len(data["description"]) > 2000:
            errors["description"] = ["Use at most 2000 characters."]
        else:
            out["description"] = data["description"]
    if creating or "points_cost" in data:
        out["points_cost"] = _number(data, "points_cost", errors, 1, MAX_POINTS, True)
    for key, lo, hi in (("stock", 0, 10_000_000), ("discount_percent", 1, 100),
                        ("valid_days", 1, 3650)):
        if key in data:
            out[key] = _number(data, key, errors, lo, hi, True, optional=True)
    if "active" in data:
        out["active"] = bool(data["active"])
    if out.get("kind") == "discount" and creating and not out.get("discount_percent"):
        errors["discount_percent"] = ["A discount needs a percentage."]
    if errors:
        raise InvalidInput("Please correct the reward.", errors)
    return out


def create_reward(session: Session, actor: Actor, data: Mapping[str, Any]) -> Reward:
    values = _clean_reward(data, creating=True)
    if session.scalar(select(Reward.id).where(Reward.name == values["name"])):
        raise Conflict("A reward with this name exists.", {"name": ["Already exists."]})
    reward = Reward(**values)
    session.add(reward)
    session.flush()
    audit.record(session, actor, "reward.created", "reward", reward.id, values)
    return reward


def update_reward(session: Session, actor: Actor, reward_id: Any,
                  data: Mapping[str, Any]) -> Reward:
    reward = get_reward(session, reward_id)
    values = _clean_reward(data, creating=False)
    if "name" in values and values["name"] != reward.name and session.scalar(
            select(Reward.id).where(Reward.name == values["name"])):
        raise Conflict("A reward with this name exists.", {"name": ["Already exists."]})
    for key, value in values.items():
        setattr(reward, key, value)
    audit.record(session, actor, "reward.updated", "reward", reward.id, values)
    return reward


def _new_code(session: Session) -> str:
    for _ in range(10):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        if not session.scalar(select(Coupon.id).where(Coupon.code == code)):
            return code
    raise Conflict("Could not generate a unique coupon code; try again.")


def redeem(session: Session, actor: Actor, customer_id: Any, reward_id: Any) -> Redemption:
    """Spend points on a reward: stock, points, coupon and redemption all or nothing."""
    customer = get_customer(session, customer_id)
    try:
        reward = get_reward(session, reward_id)
    except NotFound as exc:
        raise InvalidInput.field("reward_id", "No such reward.") from exc
    if not reward.active:
        raise InvalidInput.field("reward_id", "This reward is no longer offered.")
    nested = session.begin_nested()
    try:
        if reward.stock is not None:
            taken = session.execute(update(Reward).where(
                Reward.id == reward.id, Reward.stock > 0).values(stock=Reward.stock - 1)
                .returning(Reward.stock).execution_options(synchronize_session=False)).scalar()
            if taken is None:
                raise InvalidInput.field("reward_id", "This reward is out of stock.")
        entry = post(session, actor, customer.id, "redeem", -reward.points_cost,
                     reason=f"Reward: {reward.name}",
                     payload={"reward_id": reward.id, "reward": reward.name})
        code = None
        if reward.kind in ("coupon", "discount"):
            code = _new_code(session)
            expires = utcnow() + timedelta(days=reward.valid_days) if reward.valid_days \
                else None
            session.add(Coupon(code=code, customer_id=customer.id, reward_id=reward.id,
                               discount_percent=reward.discount_percent, expires_at=expires))
        redemption = Redemption(customer_id=customer.id, reward_id=reward.id,
                                points=reward.points_cost, entry_id=entry.id,
                                coupon_code=code, actor_label=actor.label)
        session.add(redemption)
        session.flush()
        audit.record(session, actor, "reward.redeemed", "customer", customer.id,
                     {"reward": reward.name, "points": reward.points_cost, "coupon": code})
        nested.commit()
    except Exception:
        nested.rollback()
        raise
    session.refresh(reward)
    return redemption


def coupons(session: Session, customer_id: Any) -> list[Coupon]:
    customer = get_customer(session, customer_id)
    return list(session.scalars(select(Coupon).where(Coupon.customer_id == customer.id)
                                .order_by(Coupon.created_at.desc())))


def use_coupon(session: Session, actor: Actor, code: Any, used_on: str = "") -> Coupon:
    """Mark a coupon used (once). Expired, used or unknown codes are clear errors."""
    if not isinstance(code, str) or not code.strip():
        raise InvalidInput.field("code", "Enter a coupon code.")
    coupon = session.scalars(select(Coupon).where(
        Coupon.code == code.strip().upper())).first()
    if coupon is None:
        raise InvalidInput.field("code", "No such coupon.")
    now = utcnow()
    if coupon.expires_at is not None and coupon.expires_at <= now:
        raise InvalidInput.field("code", "This coupon has expired.")
    used = session.execute(update(Coupon).where(
        Coupon.id == coupon.id, Coupon.used_at.is_(None)).values(
        used_at=now, used_on=(used_on or "")[:100]).returning(Coupon.id)
        .execution_options(synchronize_session=False)).scalar()
    if used is None:
        raise Conflict("This coupon has already been used.", {"code": ["Already used."]})
    session.refresh(coupon)
    audit.record(session, actor, "coupon.used", "customer", coupon.customer_id,
                 {"code": coupon.code, "used_on": used_on})
    outbox.emit(session, "coupon.used", "customer", coupon.customer_id,
                {"customer_id": coupon.customer_id, "code": coupon.code})
    return coupon


# --- membership levels ------------------------------------------------------------------

def list_levels(session: Session) -> list[MembershipLevel]:
    return list(session.scalars(select(MembershipLevel).order_by(
        MembershipLevel.basis, MembershipLevel.threshold)))


def create_level(session: Session, actor: Actor, data: Mapping[str, Any]) -> MembershipLevel:
    errors: dict[str, list[str]] = {}
    for key in set(data) - {"name", "basis", "threshold", "window_months", "benefits"}:
        errors[key] = ["Unknown field."]
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 60:
        errors["name"] = ["Enter a name of 1-60 characters."]
    if data.get("basis") not in LEVEL_BASES:
        errors["basis"] = [f"Choose one of: {', '.join(LEVEL_BASES)}."]
    threshold = _number(data, "threshold", errors, 0, 1e12, True)
    window = _number(data, "window_months", errors, 1, 120, True, optional=True) or 12
    benefits = data.get("benefits") or ""
    if not isinstance(benefits, str) or len(benefits) > 2000:
        errors["benefits"] = ["Use at most 2000 characters."]
    if errors:
        raise InvalidInput("Please correct the level.", errors)
    if session.scalar(select(MembershipLevel.id).where(MembershipLevel.name == name.strip())):
        raise Conflict("A level with this name exists.", {"name": ["Already exists."]})
    level = MembershipLevel(name=name.strip(), basis=data["basis"], threshold=threshold,
                            window_months=window, benefits=benefits)
    session.add(level)
    session.flush()
    audit.record(session, actor, "membership_level.created", "membership_level", level.id,
                 {"name": level.name, "basis": level.basis, "threshold": threshold})
    from saas.services.membership_levels import refresh as refresh_levels

    refresh_levels(session)  # who already qualifies reaches it now, not tonight
    return level


def delete_level(session: Session, actor: Actor, level_id: Any) -> None:
    level = session.scalars(select(MembershipLevel).where(
        MembershipLevel.id == parse_id(level_id, "level"))).first()
    if level is None:
        raise NotFound("No such membership level.")
    session.delete(level)
    audit.record(session, actor, "membership_level.deleted", "membership_level", level.id,
                 {"name": level.name})
    from saas.services.membership_levels import refresh as refresh_levels

    refresh_levels(session)  # its members move now (reason level_removed)


@dataclass
class Membership:
    level: MembershipLevel | None
    points_earned: int
    spend: Decimal


def membership(session: Session, customer_id: Any) -> Membership:
    """The highest level whose threshold the customer reaches: points earned, or spend in
    the tenant's currency, over the level's window."""
    customer = get_customer(session, customer_id)
    levels = list_levels(session)
    best: MembershipLevel | None = None
    best_points, best_spend = 0, Decimal(0)
    for level in levels:
        since = utcnow() - timedelta(days=30 * level.window_months)
        if level.basis == "points":
            value = session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                PointsEntry.customer_id == customer.id, PointsEntry.points > 0,
                PointsEntry.kind.in_(("earn", "bonus")), PointsEntry.created_at >= since)) or 0
            best_points = max(best_points, int(value))
        else:
            value = session.scalar(select(func.coalesce(func.sum(Order.total), 0)).where(
                Order.customer_id == customer.id, Order.status.in_(COUNTED_STATUSES),
                Order.currency == bound_tenant(session).currency,
                Order.placed_at >= since)) or 0
            best_spend = max(best_spend, Decimal(value))
        if value >= level.threshold and (best is None or level.threshold >= best.threshold):
            best = level
    return Membership(best, best_points, best_spend)
