"""Automated care: birthday and holiday greetings, post-purchase follow-ups and win-back
offers, sent through the tenant's channel plugins.

Rules are tenant-written (a Jinja template in the sandbox); a template is checked when
it is saved, and a variable the rule's kind does not provide is refused by name, so a
typo never reaches a customer as an empty gap. Each run finds the customers due for
each rule and, per customer, first *claims* the occasion (a `CareSend` row unique per
rule, customer and occasion) and then queues the message in the same transaction:
running the job twice, or two workers at once, sends each greeting once. Customers who
withdrew consent for the channel are skipped (and remembered as such); during the
tenant's quiet hours nothing is sent (the next run picks the customers up, since only
claimed occasions are skipped).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from saas.models.base import new_id, utcnow
from saas.models.care import CARE_KINDS, CareRule, CareSend
from saas.models.customers import Customer
from saas.models.loyalty import Coupon, Reward
from saas.models.orders import Order
from saas.models.tiers import CustomerMeasure
from saas.services import audit, field_access
from saas.services.context import Actor
from saas.services.customers import bound_tenant, parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.tenancy import current_tenant_id

CHANNELS = ("email", "sms", "wechat", "forum")
COMMON_VARIABLES = ("name", "company")
VARIABLES: dict[str, tuple[str, ...]] = {
    "birthday": COMMON_VARIABLES,
    "holiday": (*COMMON_VARIABLES, "holiday"),
    "post_purchase": (*COMMON_VARIABLES, "order_number", "order_total", "order_date"),
    "win_back": (*COMMON_VARIABLES, "coupon_code", "discount_percent", "coupon_expires"),
}
DEFAULT_QUIET_HOURS = ("21:00", "09:00")
WIN_BACK_BEHAVIOURS = ("at_risk", "churned")
WIN_BACK_EVERY_DAYS = 90
_ENV = ImmutableSandboxedEnvironment(keep_trailing_newline=True)


# -- rules ---------------------------------------------------------------------------


def check_template(source: Any, kind: str, field_name: str = "template") -> list[str]:
    """Errors of a template for a rule kind: syntax, or variables the kind lacks."""
    if not isinstance(source, str) or not source.strip():
        return ["Write the message."]
    try:
        parsed = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [f"Template error on line {exc.lineno}: {exc.message}"]
    allowed = set(VARIABLES.get(kind, COMMON_VARIABLES))
    unknown = sorted(meta.find_undeclared_variables(parsed) - allowed)
    if unknown:
        return [f"Unknown variable: {name} (available: {', '.join(sorted(allowed))})."
                for name in unknown]
    return []


RULE_FIELDS = ("name", "kind", "channel", "subject", "template", "days_after",
               "reward_id", "active")


def _clean_rule(session: Session, data: Mapping[str, Any], current: CareRule | None) -> dict:
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in RULE_FIELDS:
            errors[key] = ["Unknown field."]
    merged = {k: getattr(current, k) for k in RULE_FIELDS} if current else {}
    merged.update({k: v for k, v in data.items() if k in RULE_FIELDS})
    name = merged.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors["name"] = ["Give the rule a name (up to 100 characters)."]
    kind = merged.get("kind")
    if kind not in CARE_KINDS:
        errors["kind"] = [f"Choose one of: {', '.join(CARE_KINDS)}."]
    if merged.get("channel") not in CHANNELS:
        errors["channel"] = [f"Choose one of: {', '.join(CHANNELS)}."]
    subject = merged.get("subject") or None
    if subject is not None:
        if not isinstance(subject, str) or len(subject) > 200:
            errors["subject"] = ["Use at most 200 characters."]
        elif kind in CARE_KINDS:
            problems = check_template(subject, kind)
            if problems:
                errors["subject"] = problems
    if kind in CARE_KINDS:
        problems = check_template(merged.get("template"), kind)
        if problems:
            errors["template"] = problems
    days_after = merged.get("days_after")
    if kind == "post_purchase":
        if isinstance(days_after, bool) or not isinstance(days_after, int) \
                or not 0 <= days_after <= 365:
            errors["days_after"] = ["Give the number of days after the order (0-365)."]
    else:
        days_after = None
    reward_id = merged.get("reward_id")
    if kind == "win_back":
        reward = None
        if reward_id:
            try:
                reward = session.scalars(select(Reward).where(
                    Reward.id == parse_id(reward_id, "reward"))).first()
            except NotFound:
                reward = None
        if reward is None or reward.kind not in ("coupon", "discount") or not reward.active:
            errors["reward_id"] = ["Choose an active coupon or discount from the loyalty "
                                   "catalogue."]
        else:
            reward_id = reward.id
    else:
        reward_id = None
    active = merged.get("active", True)
    if not isinstance(active, bool):
        errors["active"] = ["Give true or false."]
    if errors:
        raise InvalidInput("The care rule is invalid.", errors)
    return {"name": name.strip(), "kind": kind, "channel": merged["channel"],
            "subject": subject, "template": merged["template"], "days_after": days_after,
            "reward_id": reward_id, "active": active}


def list_rules(session: Session) -> list[CareRule]:
    return list(session.scalars(select(CareRule).order_by(CareRule.kind, CareRule.name)))


def get_rule(session: Session, rule_id: Any) -> CareRule:
    rule = session.scalars(select(CareRule).where(
        CareRule.id == parse_id(rule_id, "care rule"))).first()
    if rule is None:
        raise NotFound("No such care rule.")
    return rule


# Template variables holding a protected field (docs/privacy.md): variable → field key.
PRIVATE_VARIABLES = {"order_total": field_access.ORDER_AMOUNTS}


def _check_private_variables(session: Session, actor: Actor, values: Mapping[str, Any],
                             data: Mapping[str, Any]) -> None:
    """403 when the author saves a subject or message reading a variable of a field
    their role may not see in clear (they would see it in every greeting sent)."""
    for part in ("subject", "template"):
        if part in data:
            field_access.check_variables(session, actor, values.get(part), part,
                                         PRIVATE_VARIABLES)


def create_rule(session: Session, actor: Actor, data: Mapping[str, Any]) -> CareRule:
    values = _clean_rule(session, data, None)
    _check_private_variables(session, actor, values, data)
    if session.scalars(select(CareRule.id).where(CareRule.name == values["name"])).first():
        raise Conflict("A rule with this name exists.", {"name": ["This name is taken."]})
    rule = CareRule(id=new_id(), **values)
    session.add(rule)
    session.flush()
    audit.record(session, actor, "care_rule.created", "care_rule", rule.id,
                 {k: v for k, v in values.items() if k != "template"})
    return rule


def update_rule(session: Session, actor: Actor, rule_id: Any,
                data: Mapping[str, Any]) -> CareRule:
    rule = get_rule(session, rule_id)
    if dict(data) == {"active": False}:
        # Switching off never depends on the rest being valid (a withdrawn coupon...).
        values: dict[str, Any] = {"active": False}
    else:
        values = _clean_rule(session, data, rule)
        _check_private_variables(session, actor, values, data)
    if values.get("name", rule.name) != rule.name and session.scalars(select(CareRule.id).where(
            CareRule.name == values["name"])).first():
        raise Conflict("A rule with this name exists.", {"name": ["This name is taken."]})
    changes = audit.apply_changes(rule, values)
    session.flush()
    audit.record(session, actor, "care_rule.updated", "care_rule", rule.id, changes)
    return rule


def delete_rule(session: Session, actor: Actor, rule_id: Any) -> None:
    rule = get_rule(session, rule_id)
    for sent in session.scalars(select(CareSend).where(CareSend.rule_id == rule.id)):
        session.delete(sent)
    session.delete(rule)
    audit.record(session, actor, "care_rule.deleted", "care_rule", rule.id, {})
    session.flush()


# -- quiet hours and occasions -------------------------------------------------------


def _zone(tenant) -> ZoneInfo:
    try:
        return ZoneInfo(tenant.timezone)
    except Exception:
        return ZoneInfo("UTC")


def in_quiet_hours(tenant, now: datetime) -> bool:
    """Whether `now` falls in the tenant's quiet hours (default 21:00-09:00 local)."""
    start_s, end_s = (tenant.settings or {}).get("quiet_hours") or DEFAULT_QUIET_HOURS
    start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
    local = now.astimezone(_zone(tenant)).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def set_quiet_hours(session: Session, actor: Actor, start: str, end: str) -> tuple[str, str]:
    """Save the tenant's quiet hours (local HH:MM; equal times mean never quiet)."""
    errors: dict[str, list[str]] = {}
    for name, value in (("start", start), ("end", end)):
        try:
            time.fromisoformat(str(value))
            if len(str(value)) != 5:
                raise ValueError
        except ValueError:
            errors[name] = ["Use HH:MM."]
    if errors:
        raise InvalidInput("The quiet hours are invalid.", errors)
    tenant = bound_tenant(session)
    old = (tenant.settings or {}).get("quiet_hours") or list(DEFAULT_QUIET_HOURS)
    tenant.settings = {**(tenant.settings or {}), "quiet_hours": [start, end]}
    audit.record(session, actor, "care.quiet_hours_changed", "tenant", tenant.id,
                 {"quiet_hours": [old, [start, end]]})
    return start, end


def holidays(tenant) -> list[dict]:
    """Greeting holidays: those of the tenant's holiday calendar marked for greetings,
    greeted on their first day."""
    from saas.services import holidays as calendar

    return [{"date": h.start, "name": h.name} for h in calendar.greeting_holidays(tenant)]


@dataclass
class Due:
    customer: Customer
    occasion: str
    variables: dict[str, Any] = field(default_factory=dict)


def _birthday_matches(birthday: date, today: date) -> bool:
    if (birthday.month, birthday.day) == (today.month, today.day):
        return True
    # 29 February birthdays are greeted on 28 February in common years.
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    return (birthday.month, birthday.day) == (2, 29) and not leap \
        and (today.month, today.day) == (2, 28)


def _active_customers(session: Session):
    return select(Customer).where(Customer.merged_into_id.is_(None))


def due_for(session: Session, rule: CareRule, today: date) -> Iterator[Due]:
    """The customers a rule is due for today, each with its occasion key."""
    tenant = bound_tenant(session)
    common = {"company": tenant.name}
    if rule.kind == "birthday":
        for c in session.scalars(_active_customers(session).where(
                Customer.birthday.is_not(None))):
            if _birthday_matches(c.birthday, today):
                yield Due(c, f"birthday:{today.year}", {**common, "name": c.name})
    elif rule.kind == "holiday":
        todays = [h for h in holidays(tenant) if h["date"] == today]
        for h in todays:
            for c in session.scalars(_active_customers(session)):
                yield Due(c, f"holiday:{h['date'].isoformat()}",
                          {**common, "name": c.name, "holiday": h["name"]})
    elif rule.kind == "post_purchase":
        # A three-day window, so a run missed for a day or two still follows up.
        target = today - timedelta(days=rule.days_after or 0)
        zone = _zone(tenant)
        start = datetime.combine(target - timedelta(days=2), time(0), tzinfo=zone)
        end = datetime.combine(target + timedelta(days=1), time(0), tzinfo=zone)
        rows = session.execute(select(Order, Customer).join(
            Customer, (Customer.tenant_id == Order.tenant_id)
            & (Customer.id == Order.customer_id)).where(
            Order.placed_at >= start, Order.placed_at < end, Order.status != "refunded",
            Customer.merged_into_id.is_(None))).all()
        for order, c in rows:
            yield Due(c, f"order:{order.id}", {
                **common, "name": c.name, "order_number": order.number,
                "order_total": f"{order.total} {order.currency}",
                "order_date": order.placed_at.astimezone(zone).date().isoformat()})
    elif rule.kind == "win_back":
        # One offer per customer per 90-day period while they stay at risk or churned.
        period = (today.toordinal() // WIN_BACK_EVERY_DAYS)
        rows = session.execute(select(Customer).join(
            CustomerMeasure, (CustomerMeasure.tenant_id == Customer.tenant_id)
            & (CustomerMeasure.id == Customer.id)).where(
            CustomerMeasure.behaviour.in_(WIN_BACK_BEHAVIOURS),
            Customer.merged_into_id.is_(None))).scalars().all()
        for c in rows:
            yield Due(c, f"win_back:{period}", {**common, "name": c.name})


def _address(customer: Customer, channel: str) -> str | None:
    if channel == "email":
        return customer.email
    if channel == "sms":
        return customer.phone
    if channel == "wechat":
        return customer.wechat_id
    return customer.email or customer.phone


def _issue_coupon(session: Session, rule: CareRule, customer: Customer) -> Coupon:
    reward = session.scalars(select(Reward).where(Reward.id == rule.reward_id)).one()
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    for _ in range(10):
        code = "".join(secrets.choice(alphabet) for _ in range(10))
        if not session.scalar(select(Coupon.id).where(Coupon.code == code)):
            break
    else:  # pragma: no cover - 32^10 codes
        raise Conflict("Could not generate a unique coupon code; try again.")
    coupon = Coupon(code=code, customer_id=customer.id, reward_id=reward.id,
                    discount_percent=reward.discount_percent,
                    expires_at=utcnow() + timedelta(days=reward.valid_days)
                    if reward.valid_days else None)
    session.add(coupon)
    session.flush()
    return coupon


# -- running -------------------------------------------------------------------------


@dataclass
class RunResult:
    sent: int = 0
    skipped: int = 0
    already: int = 0
    quiet: bool = False


def _claim(session: Session, rule: CareRule, due: Due, status: str) -> uuid.UUID | None:
    """Claim (rule, customer, occasion) with INSERT ... ON CONFLICT DO NOTHING: the row
    is ours only if we inserted it. A concurrent run's insert waits for ours to commit
    and then inserts nothing, so exactly one run sends."""
    claim_id = new_id()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(CareSend.__table__).values(
        tenant_id=current_tenant_id(session), id=claim_id, created_at=utcnow(),
        rule_id=rule.id, customer_id=due.customer.id, occasion=due.occasion, status=status,
        detail="consent withdrawn" if status == "skipped" else None,
    ).on_conflict_do_nothing(index_elements=["tenant_id", "rule_id", "customer_id",
                                             "occasion"]).returning(CareSend.__table__.c.id)
    return session.execute(stmt).scalar()


def run(session: Session, now: datetime | None = None,
        rule_ids: list[uuid.UUID] | None = None) -> RunResult:
    """Send what is due now for every active rule (see the module docstring)."""
    from saas.services.plugins import channel_provider, send_via_channel

    now = now or utcnow()
    tenant = bound_tenant(session)
    result = RunResult()
    if in_quiet_hours(tenant, now):
        result.quiet = True
        return result
    today = now.astimezone(_zone(tenant)).date()
    rules = [r for r in list_rules(session) if r.active
             and (rule_ids is None or r.id in rule_ids)]
    for rule in rules:
        try:
            channel_provider(session, rule.channel)
        except InvalidInput:
            # No enabled plugin offers the channel: claim nothing, so the customers are
            # greeted once the plugin is enabled (the occasion permitting).
            result.skipped += 1
            continue
        for due in due_for(session, rule, today):
            to = _address(due.customer, rule.channel)
            if not to:
                result.skipped += 1
                continue
            consent = (due.customer.consent or {}).get(rule.channel)
            withdrawn = (consent.get("status") if isinstance(consent, dict)
                         else consent) == "withdrawn"
            claim_id = _claim(session, rule, due, "skipped" if withdrawn else "claimed")
            if claim_id is None:
                result.already += 1
                continue
            if withdrawn:
                result.skipped += 1
                continue
            variables = dict(due.variables)
            if rule.kind == "win_back":
                coupon = _issue_coupon(session, rule, due.customer)
                variables.update(coupon_code=coupon.code,
                                 discount_percent=coupon.discount_percent,
                                 coupon_expires=coupon.expires_at.date().isoformat()
                                 if coupon.expires_at else "")
            body = _ENV.from_string(rule.template).render(**variables)
            subject = _ENV.from_string(rule.subject).render(**variables) \
                if rule.subject else None
            delivery = send_via_channel(session, tenant.id, rule.channel, {
                "to": to, "body": body, "subject": subject,
                "customer_id": str(due.customer.id),
                "context": {"care_rule": rule.name, "occasion": due.occasion}},
                key=f"care:{claim_id}")  # the claim is unique per occasion
            session.execute(update(CareSend).where(CareSend.id == claim_id).values(
                status="sent", delivery_id=delivery.id))
            result.sent += 1
    session.flush()
    return result


def history(session: Session, limit: int = 100) -> list[CareSend]:
    return list(session.scalars(select(CareSend).order_by(CareSend.created_at.desc())
                                .limit(limit)))
