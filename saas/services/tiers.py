"""Ordered tiers: definition, preview, set-based assignment, manual overrides, history.

Tiers are evaluated top to bottom; a customer gets the first tier whose rule matches
(one CASE expression), unless a manual override is in force. Saving tiers does not move
anyone: the admin previews how many customers would move from which tier to which, then
applies, which records a numbered ruleset snapshot. The nightly job re-applies the latest
*applied* snapshot to fresh measures, so an edited-but-unapplied rule never leaks out.
Every move is a `tier_changes` row written by the same INSERT ... SELECT.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    MetaData,
    Select,
    String,
    Table,
    Uuid,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from saas.models.base import UTCDateTime, utcnow
from saas.models.customers import Customer
from saas.models.tiers import CustomerMeasure, CustomerTier, Tier, TierChange, TierRuleset
from saas.services import audit, outbox, rules
from saas.services.context import Actor
from saas.services.customers import bound_tenant, get_customer, parse_id
from saas.services.errors import InvalidInput, NotFound
from saas.tenant_templates import TemplateError, load_template

log = logging.getLogger(__name__)
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_TIERS = 20


@dataclass(frozen=True)
class TierSpec:
    name: str
    rule: dict
    id: uuid.UUID | None = None
    colour: str = "#888888"
    description: str = ""


def list_tiers(session: Session) -> list[Tier]:
    """The tenant's tiers in order; on first use, the tenant template's defaults."""
    found = list(session.scalars(select(Tier).order_by(Tier.position)))
    if found or session.scalar(select(func.count()).select_from(TierRuleset)):
        return found
    try:
        defaults = load_template(bound_tenant(session).template)["tiers"]
    except TemplateError:
        return []
    ctx = rules.context_for(session)
    for i, t in enumerate(defaults):
        session.add(Tier(name=t["name"], colour=t["colour"], description=t["description"],
                         position=i, rule=rules.validate(t["rule"], ctx)))
    session.flush()
    return list(session.scalars(select(Tier).order_by(Tier.position)))


def get_tier(session: Session, tier_id: Any) -> Tier:
    tier = session.scalars(select(Tier).where(Tier.id == parse_id(tier_id, "tier"))).first()
    if tier is None:
        raise NotFound("No such tier.")
    return tier


def clean_tiers(session: Session, data: Any) -> list[TierSpec]:
    """Validated tier definitions; overlapping, unreachable or empty tiers are errors."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, list) or not data:
        raise InvalidInput.field("tiers", "Define at least one tier.")
    if len(data) > MAX_TIERS:
        raise InvalidInput.field("tiers", f"Use at most {MAX_TIERS} tiers.")
    ctx = rules.context_for(session)
    specs: list[TierSpec] = []
    seen_names: dict[str, int] = {}
    seen_rules: dict[str, int] = {}
    for i, raw in enumerate(data):
        p = f"tiers.{i}"
        if not isinstance(raw, Mapping):
            errors[p] = ["Each tier is an object with name and rule."]
            continue
        unknown = set(raw) - {"name", "colour", "description", "rule", "id"}
        if unknown:
            errors[f"{p}.{sorted(unknown)[0]}"] = ["Unknown field."]
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 40:
            errors[f"{p}.name"] = ["Enter a name of 1-40 characters."]
            name = None
        else:
            name = name.strip()
            if name in seen_names:
                errors[f"{p}.name"] = [f"Tier {seen_names[name] + 1} has this name already."]
            seen_names.setdefault(name, i)
        colour = raw.get("colour") or "#888888"
        if not isinstance(colour, str) or not COLOUR_RE.match(colour):
            errors[f"{p}.colour"] = ["Use a colour such as #1a2b3c."]
        description = raw.get("description") or ""
        if not isinstance(description, str) or len(description) > 500:
            errors[f"{p}.description"] = ["Use at most 500 characters."]
        try:
            rule = rules.validate(raw.get("rule"), ctx, f"{p}.rule")
        except InvalidInput as exc:
            errors.update(exc.errors)
            continue
        if rule == {"any": []}:
            errors[f"{p}.rule"] = ["This rule matches no one: the tier would stay empty."]
        elif rule == {"all": []} and i < len(data) - 1:
            errors[f"{p}.rule"] = ["This rule matches everyone, so the tiers below it "
                                   "could never be reached. Only the last tier may be a "
                                   "catch-all."]
        key = repr(rule)
        if key in seen_rules:
            errors[f"{p}.rule"] = [f"Same rule as tier {seen_rules[key] + 1}: the two tiers "
                                   "overlap completely and this one would stay empty."]
        seen_rules.setdefault(key, i)
        if name:
            specs.append(TierSpec(name, rule, colour=colour, description=description))
    if errors:
        first = next(iter(errors.items()))
        raise InvalidInput(f"The tiers have errors ({first[0]}: {first[1][0]})", errors)
    return specs


def save_tiers(session: Session, actor: Actor, data: Any) -> list[Tier]:
    """Replace the tier definitions (matched by name, so ids and assignments survive a
    rename-free edit). Customers are not moved until `apply`."""
    specs = clean_tiers(session, data)
    existing = {t.name: t for t in list_tiers(session)}
    keep = {s.name for s in specs}
    now = utcnow()
    for name, tier in existing.items():
        if name not in keep:
            _record_removal(session, actor, tier, now)
            session.execute(delete(CustomerTier).where(CustomerTier.tier_id == tier.id)
                            .execution_options(synchronize_session=False))
            session.delete(tier)
    session.flush()
    for i, spec in enumerate(specs):
        tier = existing.get(spec.name)
        if tier is None:
            tier = Tier(name=spec.name)
            session.add(tier)
        tier.colour, tier.description = spec.colour, spec.description
        tier.position, tier.rule = i, spec.rule
    session.flush()
    audit.record(session, actor, "tiers.saved", "tier", None,
                 {"tiers": [{"name": s.name, "rule": s.rule} for s in specs]})
    return list(session.scalars(select(Tier).order_by(Tier.position)))


def _record_removal(session: Session, actor: Actor, tier: Tier, now: datetime) -> None:
    tid = bound_tenant(session).id
    session.execute(insert(TierChange).from_select(
        ["tenant_id", "id", "created_at", "customer_id", "from_tier", "to_tier", "reason",
         "actor_id", "actor_label"],
        select(literal(tid, Uuid()), _new_uuid(session), literal(now, UTCDateTime()),
               CustomerTier.id, literal(tier.name), literal(None), literal("tier_removed"),
               literal(actor.staff_id, Uuid()), literal(actor.label))
        .where(CustomerTier.tenant_id == tid, CustomerTier.tier_id == tier.id)))


def _new_uuid(session: Session):
    """A random id made by the database, for rows written by INSERT ... SELECT."""
    if session.get_bind().dialect.name == "postgresql":
        return func.gen_random_uuid()
    return func.lower(func.hex(func.randomblob(16)))


def _as_data(tiers: list[Tier]) -> list[dict]:
    return [{"name": t.name, "colour": t.colour, "description": t.description,
             "rule": t.rule} for t in tiers]


def saved_problems(session: Session) -> dict[str, list[str]]:
    """What in the saved tiers no longer validates — typically a custom field deleted or
    retyped since the rules were saved — by path (`tiers.0.rule.all.1.custom_field`);
    empty when they are sound. Apply and preview refuse such rules with these errors."""
    tiers = list_tiers(session)
    if not tiers:
        return {}
    try:
        clean_tiers(session, _as_data(tiers))
    except InvalidInput as exc:
        return exc.errors
    return {}


def _specs_from_tiers(tiers: list[Tier]) -> list[TierSpec]:
    return [TierSpec(t.name, t.rule, t.id, t.colour, t.description) for t in tiers]


def _movement(session: Session, specs: list[TierSpec], now: datetime) -> Select:
    """Each customer not under an active override: current tier and the rules' tier."""
    tid = bound_tenant(session).id
    dialect = session.get_bind().dialect.name
    c, m, ct, t = Customer, CustomerMeasure, CustomerTier, Tier
    whens = [(rules.compile_rule(s.rule, dialect), s) for s in specs]
    target_name = case(*[(cond, literal(s.name)) for cond, s in whens], else_=None)
    target_id = case(*[(cond, literal(s.id, Uuid())) for cond, s in whens if s.id],
                     else_=None) if all(s.id for s in specs) else literal(None, Uuid())
    now_p = literal(now, UTCDateTime())
    return (
        select(c.id.label("customer_id"), c.name.label("customer_name"),
               t.name.label("old_name"), ct.source.label("old_source"),
               target_name.label("new_name"), target_id.label("new_id"))
        .select_from(c)
        .outerjoin(m, and_(m.tenant_id == c.tenant_id, m.id == c.id))
        .outerjoin(ct, and_(ct.tenant_id == c.tenant_id, ct.id == c.id))
        .outerjoin(t, and_(t.tenant_id == ct.tenant_id, t.id == ct.tier_id))
        .where(c.tenant_id == tid, c.merged_into_id.is_(None),
               or_(ct.id.is_(None), ct.source != "manual",
                   and_(ct.override_until.is_not(None), ct.override_until <= now_p)))
    )


@dataclass
class Preview:
    moves: list[dict]
    sample: list[dict]
    moving: int
    total: int


def preview(session: Session, data: Any = None, sample: int = 20,
            now: datetime | None = None) -> Preview:
    """How many customers the given (or the saved) tiers would move, from where to where,
    with a sample. Nothing is written."""
    if data is None:
        saved = list_tiers(session)
        data = _as_data(saved) if saved else None
    specs = [TierSpec(s.name, s.rule) for s in clean_tiers(session, data)] \
        if data is not None else []
    moves_q = _movement(session, specs, now or utcnow()).subquery()
    differs = moves_q.c.new_name.is_distinct_from(moves_q.c.old_name)
    moves = [{"from": f, "to": t, "count": n} for f, t, n in session.execute(
        select(moves_q.c.old_name, moves_q.c.new_name, func.count())
        .where(differs).group_by(moves_q.c.old_name, moves_q.c.new_name)
        .order_by(func.count().desc()))]
    rows = session.execute(select(moves_q).where(differs).order_by(
        moves_q.c.customer_name, moves_q.c.customer_id).limit(sample)).mappings()
    total = session.scalar(select(func.count()).select_from(moves_q)) or 0
    return Preview(moves, [{"customer_id": r["customer_id"], "name": r["customer_name"],
                            "from": r["old_name"], "to": r["new_name"]} for r in rows],
                   sum(mv["count"] for mv in moves), total)


def apply(session: Session, actor: Actor, now: datetime | None = None) -> dict:
    """Assign every customer (overrides aside) by the saved tiers; snapshot the rules."""
    tiers = list_tiers(session)
    if not tiers:
        raise InvalidInput.field("tiers", "Define at least one tier.")
    clean_tiers(session, _as_data(tiers))  # a custom field may have gone since saving
    version = (session.scalar(select(func.max(TierRuleset.version))) or 0) + 1
    session.add(TierRuleset(version=version, created_by_id=actor.staff_id,
                            created_by_label=actor.label,
                            tiers=[{"id": str(t.id), "name": t.name, "rule": t.rule}
                                   for t in tiers]))
    moved = _assign(session, actor, _specs_from_tiers(tiers), version, now or utcnow())
    audit.record(session, actor, "tiers.applied", "tier", None,
                 {"version": version, "moved": moved})
    outbox.emit(session, "tiers.applied", "tier_ruleset", version,
                {"version": version, "moved": moved})
    return {"version": version, "moved": moved}


def reapply(session: Session, now: datetime | None = None) -> dict | None:
    """Re-evaluate the latest applied ruleset (nightly, after measures are refreshed)."""
    ruleset = session.scalars(select(TierRuleset).order_by(TierRuleset.version.desc())
                              .limit(1)).first()
    if ruleset is None:
        return None
    current = {t.id: t for t in session.scalars(select(Tier))}
    specs = [TierSpec(t["name"], t["rule"], uuid.UUID(t["id"]))
             for t in ruleset.tiers if uuid.UUID(t["id"]) in current]
    if not specs:
        return None
    ctx = rules.context_for(session)
    try:
        for spec in specs:
            rules.validate(spec.rule, ctx)
    except InvalidInput as exc:
        # Not raised: the nightly job must keep the fresh measures. Nobody moves until
        # the admin fixes the rules, which the tiers page says (`saved_problems`).
        log.warning("tier rules v%s not re-applied: %s", ruleset.version, exc.message)
        return {"version": ruleset.version, "moved": 0, "stale": True}
    moved = _assign(session, Actor.system("tier rules"), specs, ruleset.version,
                    now or utcnow())
    return {"version": ruleset.version, "moved": moved}


_MOVES = Table(
    "tier_moves", MetaData(),
    Column("customer_id", Uuid, primary_key=True),
    Column("old_name", String(40)),
    Column("old_source", String(10)),
    Column("new_name", String(40)),
    Column("new_id", Uuid),
    prefixes=["TEMPORARY"],
)
"""The rows an apply must write, evaluated once (a temporary table, per connection)."""


def _assign(session: Session, actor: Actor, specs: list[TierSpec], version: int,
            now: datetime) -> int:
    """Move the customers whose rule result differs from their current tier.

    The rules are evaluated once, into a temporary table holding only the customers who
    move (or whose manual override has run out); history, removals and the upsert of
    `customer_tiers` all read that table. Customers who stay put are not written at all,
    so their row keeps the rule version that last moved them.
    """
    session.flush()
    tid = bound_tenant(session).id
    conn = session.connection()
    now_p = literal(now, UTCDateTime())
    _MOVES.drop(conn, checkfirst=True)
    _MOVES.create(conn)
    # On failure the rollback removes the table too (DDL is transactional).
    mv = _movement(session, specs, now).subquery()
    differs = mv.c.new_name.is_distinct_from(mv.c.old_name)
    session.execute(insert(_MOVES).from_select(
        ["customer_id", "old_name", "old_source", "new_name", "new_id"],
        select(mv.c.customer_id, mv.c.old_name, mv.c.old_source, mv.c.new_name,
               mv.c.new_id).where(or_(differs, mv.c.old_source == "manual"))))
    m = _MOVES.c
    reason = case((m.old_source == "manual", "override_expired"), else_="rule")
    moved = session.scalar(select(func.count()).select_from(_MOVES).where(
        m.new_name.is_distinct_from(m.old_name))) or 0
    session.execute(insert(TierChange).from_select(
        ["tenant_id", "id", "created_at", "customer_id", "from_tier", "to_tier",
         "reason", "rule_version", "actor_id", "actor_label"],
        select(literal(tid, Uuid()), _new_uuid(session), now_p, m.customer_id,
               m.old_name, m.new_name, reason, literal(version),
               literal(actor.staff_id, Uuid()), literal(actor.label))
        .where(m.new_name.is_distinct_from(m.old_name))))
    session.execute(delete(CustomerTier).where(CustomerTier.id.in_(
        select(m.customer_id).where(m.new_id.is_(None))))
        .execution_options(synchronize_session=False))
    maker = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    ins = maker(CustomerTier).from_select(
        ["tenant_id", "id", "created_at", "tier_id", "source", "rule_version",
         "assigned_at"],
        select(literal(tid, Uuid()), m.customer_id, now_p, m.new_id, literal("rule"),
               literal(version), now_p).where(m.new_id.is_not(None)))
    session.execute(ins.on_conflict_do_update(
        index_elements=[CustomerTier.tenant_id, CustomerTier.id],
        set_={"tier_id": ins.excluded.tier_id, "source": "rule",
              "rule_version": ins.excluded.rule_version, "override_until": None,
              "override_by_id": None, "assigned_at": ins.excluded.assigned_at})
        .execution_options(synchronize_session=False))
    _MOVES.drop(conn)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, CustomerTier):
            session.expire(obj)
    return moved


def customer_tier(session: Session, customer_id: Any) -> tuple[CustomerTier, Tier] | None:
    row = session.execute(select(CustomerTier, Tier).join(
        Tier, and_(Tier.tenant_id == CustomerTier.tenant_id, Tier.id == CustomerTier.tier_id))
        .where(CustomerTier.id == parse_id(customer_id))).first()
    return (row[0], row[1]) if row else None


def override(session: Session, actor: Actor, customer_id: Any, tier_id: Any,
             until: datetime | None, note: str = "") -> CustomerTier:
    """Pin a customer to a tier (until `until`, or until cleared), recorded with who."""
    customer = get_customer(session, customer_id)
    try:
        tier = get_tier(session, tier_id)
    except NotFound as exc:
        raise InvalidInput.field("tier_id", "No such tier.") from exc
    now = utcnow()
    if until is not None and (until.tzinfo is None or until <= now):
        raise InvalidInput.field("until", "Give a future time with its UTC offset.")
    if len(note or "") > 200:
        raise InvalidInput.field("note", "Use at most 200 characters.")
    current = customer_tier(session, customer.id)
    old_name = current[1].name if current else None
    row = current[0] if current else CustomerTier(id=customer.id)
    row.tier_id, row.source, row.override_until = tier.id, "manual", until
    row.override_by_id, row.assigned_at, row.rule_version = actor.staff_id, now, None
    session.add(row)
    session.add(TierChange(customer_id=customer.id, from_tier=old_name, to_tier=tier.name,
                           reason="manual", actor_id=actor.staff_id, actor_label=actor.label,
                           override_until=until))
    payload = {"customer_id": customer.id, "from": old_name, "to": tier.name,
               "until": until.isoformat() if until else None, "note": note or ""}
    audit.record(session, actor, "customer.tier_overridden", "customer", customer.id, payload)
    outbox.emit(session, "customer.tier_changed", "customer", customer.id, payload)
    session.flush()
    return row


def clear_override(session: Session, actor: Actor, customer_id: Any) -> None:
    """End a manual override now; the next apply (or nightly run) assigns by rule."""
    customer = get_customer(session, customer_id)
    current = customer_tier(session, customer.id)
    if current is None or current[0].source != "manual":
        raise NotFound("This customer has no manual tier override.")
    current[0].override_until = utcnow()
    audit.record(session, actor, "customer.tier_override_cleared", "customer", customer.id,
                 {"tier": current[1].name})


def history(session: Session, customer_id: Any, limit: int = 100) -> list[TierChange]:
    customer = get_customer(session, customer_id)
    return list(session.scalars(select(TierChange).where(
        TierChange.customer_id == customer.id).order_by(
        TierChange.created_at.desc(), TierChange.id.desc()).limit(limit)))


def distribution(session: Session) -> list[dict]:
    """Customers per tier (in tier order), plus those without a tier."""
    tiers = list_tiers(session)
    counts = dict(session.execute(select(CustomerTier.tier_id, func.count()).join(
        Customer, and_(Customer.tenant_id == CustomerTier.tenant_id,
                       Customer.id == CustomerTier.id))
        .where(Customer.merged_into_id.is_(None)).group_by(CustomerTier.tier_id)).all())
    total = session.scalar(select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None))) or 0
    rows = [{"name": t.name, "colour": t.colour, "count": counts.get(t.id, 0)} for t in tiers]
    rows.append({"name": None, "colour": "#cccccc",
                 "count": total - sum(r["count"] for r in rows)})
    return rows
