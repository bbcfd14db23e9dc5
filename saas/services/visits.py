"""Return visits: plans per tier, generated tasks, recording, and the plan report.

Each tier may have one plan (every N days, a method, who visits: the customer's owner
unless a staff member is named). The daily generator gives every customer of a planned
tier one open task at a time; the next one is due `every_days` after the last visit
(or today for a customer never visited). Tasks are unique per (customer, plan, due
date), so generating twice — or concurrently — makes one task. A customer who changed
tier has their open tasks of the old plan cancelled and gets one of the new plan.

Recording a visit logs an interaction (so it shows on the customer timeline) and closes
the task; the report compares done dates with due dates, and `purchase_effect` compares
what customers bought in the days before each visit with the days after it, and — per
plan — with a control group of the tier's customers not visited in the period
(difference-in-differences).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Numeric,
    String,
    Uuid,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from saas.models import Staff
from saas.models.base import UTCDateTime, new_id, utcnow
from saas.models.customers import Customer
from saas.models.orders import COUNTED_STATUSES, Order
from saas.models.tiers import CustomerTier, Tier
from saas.models.visits import VISIT_METHODS, VisitPlan, VisitTask
from saas.services import audit, interactions, outbox
from saas.services.context import Actor
from saas.services.customers import bound_tenant, parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound
from saas.tenancy import current_tenant_id
from saas.tenant_templates import TemplateError, load_template

# How far ahead tasks are made, so "upcoming" shows the next week's visits.
LOOKAHEAD_DAYS = 7
MAX_EVERY_DAYS = 3660
# The interaction channel a visit method is logged as.
INTERACTION_CHANNEL = {"in_person": "visit", "phone": "phone", "video": "meeting",
                       "message": "chat"}


def tenant_today(session: Session, now: datetime | None = None) -> date:
    """Today in the tenant's time zone (due dates are local dates)."""
    tenant = bound_tenant(session)
    try:
        zone = ZoneInfo(tenant.timezone)
    except Exception:
        zone = ZoneInfo("UTC")
    return (now or utcnow()).astimezone(zone).date()


# -- plans ---------------------------------------------------------------------------


def list_plans(session: Session) -> list[VisitPlan]:
    """The tenant's plans; on first use, the template's visit plans for its tiers."""
    plans = list(session.scalars(select(VisitPlan).order_by(VisitPlan.created_at)))
    tenant = bound_tenant(session)
    if plans or (tenant.settings or {}).get("visit_plans_seeded"):
        return plans
    from saas.services import tiers as tier_service

    by_name = {t.name: t for t in tier_service.list_tiers(session)}
    try:
        defaults = load_template(tenant.template).get("visit_plans", [])
    except TemplateError:
        defaults = []
    try:
        # Two first uses at once (two generator runs): the unique (tenant, tier) lets
        # one seed win; the other rolls its savepoint back and reads the winner's plans.
        with session.begin_nested():
            for spec in defaults:
                tier = by_name.get(spec["tier"])
                if tier is not None:
                    session.add(VisitPlan(tier_id=tier.id, every_days=spec["every_days"],
                                          method=spec["method"], active=True))
            session.flush()
    except IntegrityError:
        pass
    else:
        tenant.settings = {**(tenant.settings or {}), "visit_plans_seeded": True}
        session.flush()
    return list(session.scalars(select(VisitPlan).order_by(VisitPlan.created_at)))


def get_plan(session: Session, plan_id: Any) -> VisitPlan:
    plan = session.scalars(select(VisitPlan).where(
        VisitPlan.id == parse_id(plan_id, "visit plan"))).first()
    if plan is None:
        raise NotFound("No such visit plan.")
    return plan


PLAN_FIELDS = ("tier_id", "every_days", "method", "assignee_id", "active")


def _clean_plan(session: Session, data: Mapping[str, Any], partial: bool) -> dict:
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in PLAN_FIELDS:
            errors[key] = ["Unknown field."]
    values: dict[str, Any] = {}
    if "tier_id" in data or not partial:
        try:
            tier = session.scalars(select(Tier).where(
                Tier.id == parse_id(data.get("tier_id"), "tier"))).first()
        except NotFound:
            tier = None
        if tier is None:
            errors["tier_id"] = ["No such tier."]
        else:
            values["tier_id"] = tier.id
    if "every_days" in data or not partial:
        every = data.get("every_days")
        if isinstance(every, str) and every.strip().isdigit():
            every = int(every)
        if isinstance(every, bool) or not isinstance(every, int):
            errors["every_days"] = ["Enter a whole number of days."]
        elif every < 1:
            errors["every_days"] = ["The frequency must be at least every 1 day "
                                    "(zero would mean endless visits)."]
        elif every > MAX_EVERY_DAYS:
            errors["every_days"] = [f"Use at most {MAX_EVERY_DAYS} days."]
        else:
            values["every_days"] = every
    if "method" in data or not partial:
        if data.get("method") not in VISIT_METHODS:
            errors["method"] = [f"Choose one of: {', '.join(VISIT_METHODS)}."]
        else:
            values["method"] = data["method"]
    if "assignee_id" in data:
        raw = data.get("assignee_id")
        if raw in (None, ""):
            values["assignee_id"] = None
        else:
            try:
                staff = session.scalars(select(Staff).where(
                    Staff.id == parse_id(raw, "staff member"), Staff.active.is_(True))).first()
            except NotFound:
                staff = None
            if staff is None:
                errors["assignee_id"] = ["No such staff member."]
            else:
                values["assignee_id"] = staff.id
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = ["Give true or false."]
        else:
            values["active"] = data["active"]
    if errors:
        raise InvalidInput("The visit plan is invalid.", errors)
    return values


def create_plan(session: Session, actor: Actor, data: Mapping[str, Any]) -> VisitPlan:
    list_plans(session)  # seed the template's plans first, so they are not re-seeded
    values = _clean_plan(session, data, partial=False)
    if session.scalars(select(VisitPlan).where(VisitPlan.tier_id == values["tier_id"])
                       ).first() is not None:
        raise Conflict("This tier already has a visit plan.",
                       {"tier_id": ["This tier already has a visit plan."]})
    plan = VisitPlan(id=new_id(), active=True, **values)
    session.add(plan)
    session.flush()
    audit.record(session, actor, "visit_plan.created", "visit_plan", plan.id, values)
    return plan


def update_plan(session: Session, actor: Actor, plan_id: Any,
                data: Mapping[str, Any]) -> VisitPlan:
    plan = get_plan(session, plan_id)
    values = _clean_plan(session, data, partial=True)
    if "tier_id" in values and values["tier_id"] != plan.tier_id and session.scalars(
            select(VisitPlan).where(VisitPlan.tier_id == values["tier_id"])).first():
        raise Conflict("This tier already has a visit plan.",
                       {"tier_id": ["This tier already has a visit plan."]})
    changes = audit.apply_changes(plan, values)
    session.flush()
    audit.record(session, actor, "visit_plan.updated", "visit_plan", plan.id, changes)
    return plan


def delete_plan(session: Session, actor: Actor, plan_id: Any) -> None:
    plan = get_plan(session, plan_id)
    for task in session.scalars(select(VisitTask).where(VisitTask.plan_id == plan.id)):
        session.delete(task)
    session.delete(plan)
    audit.record(session, actor, "visit_plan.deleted", "visit_plan", plan.id, {})
    session.flush()


# -- generation ----------------------------------------------------------------------


@dataclass
class GenerationResult:
    created: int = 0
    cancelled: int = 0


def generate(session: Session, today: date | None = None,
             customer_ids: list[uuid.UUID] | None = None) -> GenerationResult:
    """Make the due visit tasks (idempotent; see the module docstring).

    Set-based: one UPDATE cancels the open tasks of plans a customer no longer has, then
    one INSERT ... SELECT per active plan (a tenant has a handful) adds the due tasks.
    The unique (customer, plan, due date) key turns a second or concurrent run into a
    no-op; a task cancelled by a tier change is revived if the customer moves back.
    """
    today = today or tenant_today(session)
    tid = current_tenant_id(session)
    zone = _tenant_zone(session)
    plans = [p for p in list_plans(session) if p.active]
    session.flush()
    result = GenerationResult()
    result.cancelled = _cancel_stale(session, tid, customer_ids)
    for plan in plans:
        result.created += _insert_due(session, tid, plan, today, zone, customer_ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, VisitTask):
            session.expire(obj)
    return result


def _tenant_zone(session: Session) -> ZoneInfo:
    try:
        return ZoneInfo(bound_tenant(session).timezone)
    except Exception:
        return ZoneInfo("UTC")


def _live_customers(tid: uuid.UUID, customer_ids: list[uuid.UUID] | None):
    # A SELECT inside an INSERT is not reached by the ORM tenant filter: say it here.
    stmt = select(Customer.id).where(Customer.tenant_id == tid,
                                     Customer.merged_into_id.is_(None))
    if customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(customer_ids))
    return stmt


def _cancel_stale(session: Session, tid: uuid.UUID,
                  customer_ids: list[uuid.UUID] | None) -> int:
    """Cancel open tasks whose plan is not the active plan of the customer's tier."""
    current = select(VisitPlan.id).join(CustomerTier, and_(
        CustomerTier.tenant_id == VisitPlan.tenant_id,
        CustomerTier.tier_id == VisitPlan.tier_id)).where(
        VisitPlan.tenant_id == tid, VisitPlan.active.is_(True),
        VisitPlan.id == VisitTask.plan_id, CustomerTier.id == VisitTask.customer_id)
    stmt = update(VisitTask).where(
        VisitTask.tenant_id == tid, VisitTask.status == "planned",
        VisitTask.customer_id.in_(_live_customers(tid, customer_ids)),
        ~exists(current)).values(status="cancelled", cancel_reason="tier changed"
                                 ).returning(VisitTask.id
                                             ).execution_options(synchronize_session=False)
    return len(session.execute(stmt).all())


def _new_id_sql(dialect: str):
    """A UUIDv7 made by the database, one per inserted row (ids sort by creation)."""
    if dialect == "postgresql":
        return literal_column(
            "encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
            "substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)"
            "::bigint) from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid")
    return literal_column(
        "lower(printf('%012x', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))"
        " || '7' || substr(hex(randomblob(2)), 2) || substr('89ab', 1 + abs(random()) % 4, 1)"
        " || substr(hex(randomblob(2)), 2) || hex(randomblob(6)))")


def _insert_due(session: Session, tid: uuid.UUID, plan: VisitPlan, today: date,
                zone: ZoneInfo, customer_ids: list[uuid.UUID] | None) -> int:
    """INSERT ... SELECT the due tasks of one plan; returns how many were added.

    The due date is `every_days` after the local date of the customer's last done
    visit, never before today, and only within the look-ahead. The date arithmetic is
    done here as instants (local midnights), so the SQL is the same on every dialect:
    a last visit before midnight of (today - every + k + 1) makes the task due today + k.
    """
    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    done = aliased(VisitTask)
    last = select(done.customer_id.label("customer_id"),
                  func.max(done.done_at).label("at")).where(
        done.tenant_id == tid, done.status == "done").group_by(done.customer_id).subquery()
    base = today - timedelta(days=plan.every_days)
    whens = [(last.c.at.is_(None), literal(today, Date()))]
    for k in range(LOOKAHEAD_DAYS + 1):
        whens.append((last.c.at < midnight(base + timedelta(days=k + 1)),
                      literal(today + timedelta(days=k), Date())))
    due = case(*whens, else_=literal(None, Date()))
    horizon = midnight(base + timedelta(days=LOOKAHEAD_DAYS + 1))
    open_task = aliased(VisitTask)
    assignee = literal(plan.assignee_id, Uuid()) if plan.assignee_id else Customer.owner_id
    rows = select(
        _new_id_sql(session.get_bind().dialect.name), literal(tid, Uuid()),
        literal(utcnow(), UTCDateTime()), Customer.id, literal(plan.id, Uuid()), due,
        assignee, literal(plan.method, String()), literal("planned", String()),
    ).select_from(Customer).join(CustomerTier, and_(
        CustomerTier.tenant_id == Customer.tenant_id, CustomerTier.id == Customer.id)
    ).outerjoin(last, last.c.customer_id == Customer.id).where(
        Customer.id.in_(_live_customers(tid, customer_ids)),
        Customer.tenant_id == tid, CustomerTier.tier_id == plan.tier_id,
        or_(last.c.at.is_(None), last.c.at < horizon),
        ~exists(select(open_task.id).where(
            open_task.tenant_id == tid, open_task.customer_id == Customer.id,
            open_task.plan_id == plan.id, open_task.status == "planned")))
    table = VisitTask.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).from_select(
        ["id", "tenant_id", "created_at", "customer_id", "plan_id", "due_on", "assignee_id",
         "method", "status"], rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "customer_id", "plan_id", "due_on"],
        set_={"status": "planned", "cancel_reason": None,
              "assignee_id": stmt.excluded.assignee_id, "method": stmt.excluded.method},
        where=table.c.status == "cancelled").returning(table.c.id)
    return len(session.execute(stmt).all())


# -- my visits and recording ----------------------------------------------------------


def get_task(session: Session, task_id: Any) -> VisitTask:
    task = session.scalars(select(VisitTask).where(
        VisitTask.id == parse_id(task_id, "visit"))).first()
    if task is None:
        raise NotFound("No such visit.")
    return task


def my_visits(session: Session, staff_id: uuid.UUID | None,
              today: date | None = None) -> dict[str, list[VisitTask]]:
    """Open tasks of one staff member: overdue, today, upcoming."""
    today = today or tenant_today(session)
    tasks = session.scalars(select(VisitTask).where(
        VisitTask.assignee_id == staff_id, VisitTask.status == "planned")
        .order_by(VisitTask.due_on, VisitTask.id)).all()
    return {"overdue": [t for t in tasks if t.due_on < today],
            "today": [t for t in tasks if t.due_on == today],
            "upcoming": [t for t in tasks if t.due_on > today]}


RECORD_FIELDS = ("outcome", "rating", "needs", "next_step")


def record_visit(session: Session, actor: Actor, task_id: Any,
                 data: Mapping[str, Any]) -> VisitTask:
    """Record a done visit: outcome, effectiveness rating (1-5), needs found, next step.
    Logs an interaction on the customer's timeline and plans the next visit."""
    task = get_task(session, task_id)
    if task.status != "planned":
        raise Conflict("This visit is not open.", {"status": [f"The visit is {task.status}."]})
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in RECORD_FIELDS:
            errors[key] = ["Unknown field."]
    outcome = data.get("outcome")
    if not isinstance(outcome, str) or not outcome.strip():
        errors["outcome"] = ["Describe the outcome."]
    elif len(outcome) > 5000:
        errors["outcome"] = ["Use at most 5000 characters."]
    rating = data.get("rating")
    if isinstance(rating, str) and rating.strip().isdigit():
        rating = int(rating)
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = ["Rate the visit from 1 to 5."]
    texts = {}
    for name in ("needs", "next_step"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = ["Enter text."]
        elif value and len(value) > 5000:
            errors[name] = ["Use at most 5000 characters."]
        else:
            texts[name] = (value or "").strip() or None
    if errors:
        raise InvalidInput("The visit record is invalid.", errors)
    summary = outcome.strip()
    if texts["needs"]:
        summary += f"\nNeeds: {texts['needs']}"
    if texts["next_step"]:
        summary += f"\nNext step: {texts['next_step']}"
    interaction = interactions.log_interaction(session, actor, task.customer_id, {
        "channel": INTERACTION_CHANNEL.get(task.method, "visit"), "direction": "out",
        "kind": "need" if texts["needs"] else "feedback",
        "summary": f"Return visit ({task.method}, rated {rating}/5): {summary}"[:5000]})
    task.status, task.done_at = "done", utcnow()
    task.outcome, task.rating = summary.split("\n")[0], rating
    task.needs, task.next_step = texts["needs"], texts["next_step"]
    task.interaction_id = interaction.id
    session.flush()
    audit.record(session, actor, "visit.recorded", "visit", task.id,
                 {"rating": rating, "customer_id": str(task.customer_id)})
    outbox.emit(session, "visit.recorded", "visit", task.id,
                {"customer_id": str(task.customer_id), "rating": rating,
                 "method": task.method, "due_on": task.due_on.isoformat()})
    generate(session, customer_ids=[task.customer_id])
    return task


# -- report --------------------------------------------------------------------------


def report(session: Session, since: date, until: date) -> list[dict]:
    """Per plan, visits due in [since, until]: done, done on time, on-time rate, average
    rating, and the most common outcomes."""
    if until < since:
        raise InvalidInput.field("until", "The end is before the start.")
    tiers = {t.id: t.name for t in session.scalars(select(Tier))}
    tenant = bound_tenant(session)
    zone = ZoneInfo(tenant.timezone) if tenant.timezone else ZoneInfo("UTC")
    rows = []
    for plan in list_plans(session):
        tasks = session.scalars(select(VisitTask).where(
            VisitTask.plan_id == plan.id, VisitTask.due_on >= since,
            VisitTask.due_on <= until, VisitTask.status != "cancelled")).all()
        done = [t for t in tasks if t.status == "done"]
        on_time = [t for t in done if t.done_at.astimezone(zone).date() <= t.due_on]
        ratings = [t.rating for t in done if t.rating]
        rows.append({
            "plan_id": plan.id, "tier": tiers.get(plan.tier_id, "?"),
            "every_days": plan.every_days, "method": plan.method, "due": len(tasks),
            "done": len(done), "done_on_time": len(on_time),
            "on_time_rate": round(len(on_time) / len(tasks), 3) if tasks else None,
            "average_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
            "outcomes": [{"outcome": o, "count": n} for o, n in
                         Counter(t.outcome for t in done if t.outcome).most_common(5)]})
    return rows


MAX_WINDOW_DAYS = 365


def _shift(column, days: int, dialect: str):
    """`column` moved by `days` in SQL (SQLite keeps times as ISO text)."""
    if dialect == "postgresql":
        return column + func.make_interval(0, 0, 0, days)
    return func.strftime("%Y-%m-%d %H:%M:%f", column, f"{days:+d} days")


def purchase_effect(session: Session, since: date, until: date,
                    window_days: int = 30) -> dict[str, list[dict]]:
    """Did visits change what customers bought? For each visit done in [since, until],
    the counted orders (in the tenant's currency) in the `window_days` before the visit
    and in the `window_days` after it; summed per plan, per method and per outcome.

    One grouped query does the work in the database (a row per visit, then per plan,
    method and outcome); only the roll-up of those few rows into the three views is
    done here.
    """
    errors: dict[str, list[str]] = {}
    if until < since:
        errors["until"] = ["The end is before the start."]
    if isinstance(window_days, bool) or not isinstance(window_days, int) \
            or not 1 <= window_days <= MAX_WINDOW_DAYS:
        errors["window_days"] = [f"Give a number of days from 1 to {MAX_WINDOW_DAYS}."]
    if errors:
        raise InvalidInput("The report period is invalid.", errors)
    tenant = bound_tenant(session)
    zone = _tenant_zone(session)
    dialect = session.get_bind().dialect.name
    start = datetime.combine(since, time(0), tzinfo=zone)
    end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone)
    before_from = _shift(VisitTask.done_at, -window_days, dialect)
    after_to = _shift(VisitTask.done_at, window_days, dialect)
    is_before = and_(Order.placed_at >= before_from, Order.placed_at < VisitTask.done_at)
    is_after = and_(Order.placed_at >= VisitTask.done_at, Order.placed_at < after_to)
    money = Numeric(14, 2)
    per_visit = select(
        VisitTask.id.label("visit_id"), VisitTask.plan_id, VisitTask.method,
        VisitTask.outcome,
        func.count(case((is_before, Order.id))).label("orders_before"),
        func.count(case((is_after, Order.id))).label("orders_after"),
        func.coalesce(func.sum(case((is_before, Order.total), else_=0)), 0)
        .label("spend_before"),
        func.coalesce(func.sum(case((is_after, Order.total), else_=0)), 0)
        .label("spend_after"),
    ).select_from(VisitTask).outerjoin(Order, and_(
        Order.tenant_id == VisitTask.tenant_id, Order.customer_id == VisitTask.customer_id,
        Order.status.in_(COUNTED_STATUSES), Order.currency == tenant.currency,
        Order.placed_at >= before_from, Order.placed_at < after_to)).where(
        VisitTask.status == "done", VisitTask.done_at >= start, VisitTask.done_at < end
    ).group_by(VisitTask.id, VisitTask.plan_id, VisitTask.method, VisitTask.outcome
               ).subquery()
    grouped = select(
        per_visit.c.plan_id, per_visit.c.method, per_visit.c.outcome,
        func.count().label("visits"),
        func.sum(per_visit.c.orders_before).label("orders_before"),
        func.sum(per_visit.c.orders_after).label("orders_after"),
        func.sum(per_visit.c.spend_before, type_=money).label("spend_before"),
        func.sum(per_visit.c.spend_after, type_=money).label("spend_after"),
        func.count(case((per_visit.c.orders_after > 0, 1))).label("bought_after"),
    ).group_by(per_visit.c.plan_id, per_visit.c.method, per_visit.c.outcome)
    tiers = {t.id: t.name for t in session.scalars(select(Tier))}
    plan_tier = {p.id: tiers.get(p.tier_id, "?") for p in session.scalars(select(VisitPlan))}
    views: dict[str, dict[Any, dict]] = {"by_plan": {}, "by_method": {}, "by_outcome": {}}
    total = _effect_row({})
    for row in session.execute(grouped).mappings():
        keys = {"by_plan": (row["plan_id"],), "by_method": (row["method"],),
                "by_outcome": (row["outcome"] or "",)}
        for view, key in keys.items():
            if key not in views[view]:
                views[view][key] = _effect_row(
                    {"plan_id": row["plan_id"], "tier": plan_tier.get(row["plan_id"], "?"),
                     "method": row["method"]} if view == "by_plan" else
                    {"method": row["method"]} if view == "by_method" else
                    {"outcome": row["outcome"] or ""})
            _add_effect(views[view][key], row)
        _add_effect(total, row)
    reference = start + (end - start) / 2
    controls = _control_effect(session, start, end, reference, window_days)
    for key, row in views["by_plan"].items():
        _add_control(row, controls.get(key[0]))
    out: dict[str, Any] = {
        view: sorted((_finish_effect(r) for r in rows.values()),
                     key=lambda r: (-r["visits"], str(r.get("tier") or r.get("method")
                                                       or r.get("outcome"))))
        for view, rows in views.items()}
    out.update(total=_finish_effect(total), window_days=window_days,
               currency=tenant.currency, since=since, until=until,
               control_reference_at=reference.astimezone(UTC))
    return out


def _control_effect(session: Session, start: datetime, end: datetime, reference: datetime,
                    window_days: int) -> dict[uuid.UUID, dict]:
    """Per plan, the control group: customers now in the plan's tier who had no visit
    done in [start, end), with their counted orders in the same windows before and after
    one reference time (the period's midpoint) instead of a visit.

    Without it a before/after change says little: spend may rise for everyone (season,
    a campaign). Comparing with customers of the same tier who were not visited gives the
    difference-in-differences. One grouped query; the tier is the current one (tier
    history is not replayed), which is the same for both groups.
    """
    tenant = bound_tenant(session)
    before_from = reference - timedelta(days=window_days)
    after_to = reference + timedelta(days=window_days)
    is_before = Order.placed_at < reference
    is_after = Order.placed_at >= reference
    visited = aliased(VisitTask)
    rows = session.execute(
        select(VisitPlan.id.label("plan_id"),
               func.count(func.distinct(Customer.id)).label("customers"),
               func.count(case((is_before, Order.id))).label("orders_before"),
               func.count(case((is_after, Order.id))).label("orders_after"),
               func.coalesce(func.sum(case((is_before, Order.total), else_=0)), 0)
               .label("spend_before"),
               func.coalesce(func.sum(case((is_after, Order.total), else_=0)), 0)
               .label("spend_after"))
        .select_from(VisitPlan)
        .join(CustomerTier, and_(CustomerTier.tenant_id == VisitPlan.tenant_id,
                                 CustomerTier.tier_id == VisitPlan.tier_id))
        .join(Customer, and_(Customer.tenant_id == CustomerTier.tenant_id,
                             Customer.id == CustomerTier.id))
        .outerjoin(Order, and_(
            Order.tenant_id == Customer.tenant_id, Order.customer_id == Customer.id,
            Order.status.in_(COUNTED_STATUSES), Order.currency == tenant.currency,
            Order.placed_at >= before_from, Order.placed_at < after_to))
        .where(Customer.merged_into_id.is_(None), ~exists().where(
            visited.tenant_id == Customer.tenant_id, visited.customer_id == Customer.id,
            visited.status == "done", visited.done_at >= start, visited.done_at < end))
        .group_by(VisitPlan.id)).mappings()
    return {r["plan_id"]: dict(r) for r in rows}


def _add_control(row: dict, control: Mapping | None) -> None:
    """The control group's figures next to a plan's, and the differences-in-differences:
    the visited change per visit minus the control change per customer (None without a
    control group)."""
    n = int(control["customers"]) if control else 0
    row["control_customers"] = n
    for name in ("orders_before", "orders_after"):
        row[f"control_{name}"] = int(control[name] or 0) if control else 0
    for name in ("spend_before", "spend_after"):
        row[f"control_{name}"] = Decimal(str(control[name] or 0)).quantize(
            Decimal("0.01")) if control else Decimal("0.00")


def _effect_row(keys: dict) -> dict:
    return {**keys, "visits": 0, "orders_before": 0, "orders_after": 0,
            "spend_before": Decimal("0.00"), "spend_after": Decimal("0.00"),
            "bought_after": 0}


def _add_effect(target: dict, row: Mapping) -> None:
    for name in ("visits", "orders_before", "orders_after", "bought_after"):
        target[name] += int(row[name] or 0)
    for name in ("spend_before", "spend_after"):
        target[name] += Decimal(str(row[name] or 0)).quantize(Decimal("0.01"))


def _finish_effect(row: dict) -> dict:
    row["spend_change"] = row["spend_after"] - row["spend_before"]
    row["orders_change"] = row["orders_after"] - row["orders_before"]
    row["bought_after_rate"] = round(row["bought_after"] / row["visits"], 3) \
        if row["visits"] else None
    if "control_customers" in row:  # by plan: difference-in-differences
        cent = Decimal("0.01")
        visits, controls = row["visits"], row["control_customers"]
        row["spend_change_per_visit"] = (row["spend_change"] / visits).quantize(cent) \
            if visits else None
        row["orders_change_per_visit"] = round(row["orders_change"] / visits, 3) \
            if visits else None
        if controls:
            row["control_spend_change"] = row["control_spend_after"] \
                - row["control_spend_before"]
            row["control_orders_change"] = row["control_orders_after"] \
                - row["control_orders_before"]
            row["control_spend_change_per_customer"] = (
                row["control_spend_change"] / controls).quantize(cent)
            row["control_orders_change_per_customer"] = round(
                row["control_orders_change"] / controls, 3)
        else:
            row["control_spend_change"] = row["control_orders_change"] = None
            row["control_spend_change_per_customer"] = None
            row["control_orders_change_per_customer"] = None
        row["did_spend"] = None if not visits or not controls else \
            row["spend_change_per_visit"] - row["control_spend_change_per_customer"]
        row["did_orders"] = None if not visits or not controls else round(
            row["orders_change_per_visit"] - row["control_orders_change_per_customer"], 3)
    return row
