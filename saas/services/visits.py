"""Return visits: plans per tier, generated tasks, recording, and the plan report.

Each tier may have one plan (every N days, a method, who visits: the customer's owner
unless a staff member is named). The daily generator gives every customer of a planned
tier one open task at a time; the next one is due `every_days` after the last visit
(or today for a customer never visited). Tasks are unique per (customer, plan, due
date), so generating twice — or concurrently — makes one task. A customer who changed
tier has their open tasks of the old plan cancelled and gets one of the new plan.

Recording a visit logs an interaction (so it shows on the customer timeline) and closes
the task; the report compares done dates with due dates.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.models import Staff
from saas.models.base import new_id, utcnow
from saas.models.customers import Customer
from saas.models.tiers import CustomerTier, Tier
from saas.models.visits import VISIT_METHODS, VisitPlan, VisitTask
from saas.services import audit, interactions, outbox
from saas.services.context import Actor
from saas.services.customers import bound_tenant, parse_id
from saas.services.errors import Conflict, InvalidInput, NotFound
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
    """Make the due visit tasks (idempotent; see the module docstring)."""
    today = today or tenant_today(session)
    result = GenerationResult()
    plans = {p.tier_id: p for p in list_plans(session) if p.active}
    stmt = select(Customer.id, Customer.owner_id, CustomerTier.tier_id).join(
        CustomerTier, and_(CustomerTier.tenant_id == Customer.tenant_id,
                           CustomerTier.id == Customer.id), isouter=True).where(
        Customer.merged_into_id.is_(None))
    if customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(customer_ids))
    for customer_id, owner_id, tier_id in session.execute(stmt).all():
        plan = plans.get(tier_id)
        open_tasks = list(session.scalars(select(VisitTask).where(
            VisitTask.customer_id == customer_id, VisitTask.status == "planned")))
        keep = False
        for task in open_tasks:
            if plan is not None and task.plan_id == plan.id:
                keep = True
                continue
            task.status, task.cancel_reason = "cancelled", "tier changed"
            result.cancelled += 1
        if plan is None or keep:
            continue
        last_done = session.scalar(select(func.max(VisitTask.done_at)).where(
            VisitTask.customer_id == customer_id, VisitTask.status == "done"))
        due = today if last_done is None else max(
            last_done.date() + timedelta(days=plan.every_days), today)
        if due > today + timedelta(days=LOOKAHEAD_DAYS):
            continue
        if _insert_task(session, VisitTask(
                id=new_id(), customer_id=customer_id, plan_id=plan.id, due_on=due,
                assignee_id=plan.assignee_id or owner_id, method=plan.method,
                status="planned")):
            result.created += 1
    session.flush()
    return result


def _insert_task(session: Session, task: VisitTask) -> bool:
    """Insert unless the same (customer, plan, due date) exists — also when a concurrent
    run inserted it first (the unique constraint decides, inside a savepoint)."""
    exists = session.scalars(select(VisitTask.id).where(
        VisitTask.customer_id == task.customer_id, VisitTask.plan_id == task.plan_id,
        VisitTask.due_on == task.due_on)).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(task)
            session.flush()
    except IntegrityError:
        return False
    return True


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
