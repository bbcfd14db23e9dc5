"""Fill the dashboard's precomputed tables (`saas.models.dashboard`) for the bound tenant.

Every figure is an aggregate computed in SQL (GROUP BY over customers, their measures,
orders of the recomputed window, tickets, survey answers, campaign recipients) and stored
per tenant-local day, per key, per (customer owner, customer department), plus
tenant-total rollup rows. The dashboard then reads only these small tables, never the
orders. New, lost and purchase-cycle figures read the customer measures (first and last
counted order, count, mean gap), which order events and the nightly refresh keep
current, instead of aggregating every order of the tenant again.

Two kinds of figure:
- *flows* (new/lost customers, revenue by tier, complaints by cause, satisfaction,
  campaigns) are exact for any past day, so each run recomputes a trailing window
  (`OVERLAP_DAYS`, or `HISTORY_DAYS` on the first run) to catch late or back-dated
  records;
- *stocks* (customers by tier / lifecycle stage / category, purchase-cycle histogram)
  are a state: each run stores today's snapshot. The CRM keeps no history of a
  customer's stage or category, so the first run estimates the previous month ends from
  the customers who existed then (created or with an order by then), with their
  current tier, stage and category; from then on every day's snapshot is real and
  never rewritten.

Attribution: facts carry the customer's *current* owner, department and tier, so the
owner/department filters answer "the customers this owner has now".
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from saas.models.base import new_id, utcnow
from saas.models.campaigns import Campaign, CampaignRecipient
from saas.models.customers import Customer
from saas.models.dashboard import DashboardFact, DashboardStamp
from saas.models.orders import COUNTED_STATUSES, Order
from saas.models.surveys import SurveyAnswer, SurveyAnswerItem
from saas.models.tickets import Ticket
from saas.models.tiers import CustomerMeasure, CustomerTier, Tier
from saas.services.customers import bound_tenant
from saas.tenancy import current_tenant_id

STOCK_FIGURES = ("customers_tier", "customers_lifecycle", "customers_category",
                 "purchase_cycle", "snapshots")
SNAPSHOT_MARKER = "snapshots"
"""One rollup row per stock snapshot (key `customers` or `purchase_cycle`), so a day
whose counts were all zero still reads as 0, not as "no snapshot"."""
FLOW_FIGURES = ("customer_flow", "revenue_tier", "complaints_cause", "satisfaction",
                "campaigns")
HISTORY_DAYS = 400
"""First run: flows are computed this far back (a year plus a month of context)."""
BACKFILL_MONTHS = 12
OVERLAP_DAYS = 35
"""Later runs recompute flows from this many days before the last computed day: orders
placed late or back-dated, refunds, and campaign conversions (default window 7 days)."""
LOST_AFTER_DAYS = 180
"""A customer is lost on the day their last counted order becomes this many days old."""
CYCLE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("0-7", 7), ("8-14", 14), ("15-30", 30), ("31-60", 60), ("61-90", 90),
    ("91-180", 180), ("181-365", 365), ("366+", float("inf")))
"""Purchase-cycle histogram: mean days between a customer's orders (customers with two
or more orders), bucket upper bounds inclusive, in whole days."""
INSERT_BATCH = 5_000

Row = tuple[str, date, str, uuid.UUID | None, str, int, Decimal]
"""(figure, day, key, owner_id, department, count, amount)"""


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_today(tz: str, now: datetime) -> date:
    return now.astimezone(_zone(tz)).date()


def day_start(day: date, tz: str) -> datetime:
    """The UTC instant a tenant-local day begins."""
    return datetime.combine(day, datetime.min.time(), _zone(tz)).astimezone(ZoneInfo("UTC"))


def _local_day(session: Session, column: Any, tz: str, now: datetime) -> Any:
    """SQL for the tenant-local date of a UTC timestamp. PostgreSQL converts exactly;
    SQLite (the embedded trial setup) uses the zone's current UTC offset."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(_sql(tz), column), Date)
    minutes = int(now.astimezone(_zone(tz)).utcoffset().total_seconds() // 60)
    return func.date(column, _sql(f"{minutes:+d} minutes"))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _sql(value: str | float) -> Any:
    """A constant written into the SQL text: PostgreSQL matches GROUP BY expressions
    only if they are identical, and two bound parameters never are."""
    if isinstance(value, str):
        return literal_column("'" + value.replace("'", "''") + "'")
    return literal_column(repr(float(value)))


def _live_customers() -> Any:
    return Customer.merged_into_id.is_(None)


def _owner_cols() -> tuple[Any, Any]:
    return Customer.owner_id, func.coalesce(Customer.department, _sql(""))


def _tier_name() -> Any:
    return func.coalesce(Tier.name, _sql(""))


def _with_tier(stmt: Any) -> Any:
    return stmt.outerjoin(CustomerTier, and_(CustomerTier.tenant_id == Customer.tenant_id,
                                             CustomerTier.id == Customer.id)).outerjoin(
        Tier, and_(Tier.tenant_id == CustomerTier.tenant_id, Tier.id == CustomerTier.tier_id))


def _customer_join(stmt: Any, model: Any) -> Any:
    return stmt.join(Customer, and_(Customer.tenant_id == model.tenant_id,
                                    Customer.id == model.customer_id))


# --- stocks ------------------------------------------------------------------------------

def _with_measures(stmt: Any) -> Any:
    """Join the customer measures: first and last counted order, how many, and the mean
    days between them, kept current by the order events and the nightly refresh (so
    the dashboard job never aggregates the whole order table)."""
    return stmt.join(CustomerMeasure, and_(CustomerMeasure.tenant_id == Customer.tenant_id,
                                           CustomerMeasure.id == Customer.id))


def stock_rows(session: Session, day: date, tz: str, cycle: bool = True) -> list[Row]:
    """Customers by tier, lifecycle stage and category, and (with `cycle`) the
    purchase-cycle histogram, as of the end of tenant-local `day`."""
    cutoff = day_start(day + timedelta(days=1), tz)
    owner, dept = _owner_cols()
    # Existed then: created before, or bought before (imported customers keep their
    # order history but are created on the import day).
    bought = select(CustomerMeasure.id).where(
        CustomerMeasure.tenant_id == Customer.tenant_id, CustomerMeasure.id == Customer.id,
        CustomerMeasure.first_order_at < cutoff).exists()
    alive = [_live_customers(), or_(Customer.created_at < cutoff, bought)]
    out: list[Row] = []
    for figure, key, with_tier in (("customers_tier", _tier_name(), True),
                                   ("customers_lifecycle", Customer.lifecycle_stage, False),
                                   ("customers_category",
                                    func.coalesce(Customer.category, _sql("")), False)):
        stmt = select(key, owner, dept, func.count()).select_from(Customer)
        if with_tier:
            stmt = _with_tier(stmt)
        for k, o, d, n in session.execute(stmt.where(*alive).group_by(key, owner, dept)):
            out.append((figure, day, k, o, d, n, Decimal("0")))
    if not cycle:
        return out
    mean = CustomerMeasure.avg_interval_days
    bucket = case(*[(mean < _sql(bound + 1), _sql(label))
                    for label, bound in CYCLE_BUCKETS[:-1]], else_=_sql(CYCLE_BUCKETS[-1][0]))
    stmt = _with_measures(select(bucket, owner, dept, func.count()).select_from(Customer)).where(
        CustomerMeasure.order_count >= 2, mean.is_not(None), _live_customers()).group_by(
        bucket, owner, dept)
    for k, o, d, n in session.execute(stmt):
        out.append(("purchase_cycle", day, k, o, d, n, Decimal("0")))
    return out


def cycle_bucket(mean_days: float) -> str:
    """The histogram bucket of a mean interval (what the SQL CASE above computes)."""
    for label, bound in CYCLE_BUCKETS:
        if mean_days < bound + 1:
            return label
    return CYCLE_BUCKETS[-1][0]


def backfill_days(today: date, months: int = BACKFILL_MONTHS) -> list[date]:
    """The last day of each of the `months` months before today's month."""
    days, first = [], today.replace(day=1)
    for _ in range(months):
        last = first - timedelta(days=1)
        days.append(last)
        first = last.replace(day=1)
    return sorted(days)


# --- flows -------------------------------------------------------------------------------

def flow_rows(session: Session, since: date, today: date, tz: str,
              now: datetime, currency: str) -> list[Row]:
    """Every flow figure for tenant-local days `since`..`today`."""
    lo, hi = day_start(since, tz), day_start(today + timedelta(days=1), tz)
    owner, dept = _owner_cols()
    out: list[Row] = []

    def add(figure: str, rows: Iterable, lost: bool = False) -> None:
        for day, k, o, d, n, amount in rows:
            day = _as_date(day)
            if lost:
                day += timedelta(days=LOST_AFTER_DAYS)
                if not since <= day <= today:
                    continue
            out.append((figure, day, k, o, d, int(n), Decimal(amount or 0)))

    m = CustomerMeasure
    joined = _with_measures(select().select_from(Customer))
    first_day = _local_day(session, m.first_order_at, tz, now)
    add("customer_flow", session.execute(joined.add_columns(
        first_day, literal("new"), owner, dept, func.count(), literal(0)).where(
        _live_customers(), m.first_order_at >= lo, m.first_order_at < hi).group_by(
        first_day, owner, dept)))
    last_day = _local_day(session, m.last_order_at, tz, now)
    lost_lo = day_start(since - timedelta(days=LOST_AFTER_DAYS), tz)
    lost_hi = day_start(today + timedelta(days=1 - LOST_AFTER_DAYS), tz)
    add("customer_flow", session.execute(joined.add_columns(
        last_day, literal("lost"), owner, dept, func.count(), literal(0)).where(
        _live_customers(), m.last_order_at >= lost_lo, m.last_order_at < lost_hi)
        .group_by(last_day, owner, dept)), lost=True)

    placed = _local_day(session, Order.placed_at, tz, now)
    stmt = _with_tier(_customer_join(select(
        placed, _tier_name(), owner, dept, func.count(), func.sum(Order.total)),
        Order)).where(
        _live_customers(), Order.status.in_(COUNTED_STATUSES), Order.currency == currency,
        Order.placed_at >= lo, Order.placed_at < hi).group_by(placed, _tier_name(), owner, dept)
    add("revenue_tier", session.execute(stmt))

    opened = _local_day(session, Ticket.opened_at, tz, now)
    cause = func.coalesce(Ticket.cause, _sql(""))
    add("complaints_cause", session.execute(_customer_join(select(
        opened, cause, owner, dept, func.count(), literal(0)), Ticket).where(
        _live_customers(), Ticket.type == "complaint", Ticket.opened_at >= lo,
        Ticket.opened_at < hi).group_by(opened, cause, owner, dept)))

    item = SurveyAnswerItem
    answered = _local_day(session, SurveyAnswer.answered_at, tz, now)
    nps = item.kind == _sql("nps")
    verdict = case((and_(nps, item.score >= _sql(9)), _sql("promoter")),
                   (and_(nps, item.score <= _sql(6)), _sql("detractor")),
                   (nps, _sql("passive")),
                   (item.score >= _sql(4), _sql("satisfied")), else_=_sql("unsatisfied"))
    add("satisfaction", session.execute(_customer_join(select(
        answered, verdict, owner, dept, func.count(), literal(0)).select_from(item).join(
        SurveyAnswer, and_(SurveyAnswer.tenant_id == item.tenant_id,
                           SurveyAnswer.id == item.answer_id)), SurveyAnswer)
        .where(_live_customers(), item.score.is_not(None),
               item.kind.in_(("nps", "csat", "rating")),
               SurveyAnswer.answered_at >= lo, SurveyAnswer.answered_at < hi)
        .group_by(answered, verdict, owner, dept)))

    out.extend(campaign_rows(session, lo, hi, tz))
    return out


def campaign_rows(session: Session, lo: datetime, hi: datetime, tz: str) -> list[Row]:
    """Per campaign launched in [lo, hi): audience, sent, clicked and converted
    recipients (conversions by the campaign-results rule: the last campaign before an
    order within its conversion window gets the credit), keyed `<campaign id>|<metric>`
    on the launch day."""
    from saas.services.campaign_results import _converted

    owner, dept = _owner_cols()
    r = CampaignRecipient
    out: list[Row] = []
    zone = _zone(tz)
    for campaign in session.scalars(select(Campaign).where(
            Campaign.launched_at >= lo, Campaign.launched_at < hi)):
        day = campaign.launched_at.astimezone(zone).date()
        stmt = _customer_join(select(
            owner, dept, func.count(),
            func.sum(case((r.status == "sent", 1), else_=0)),
            func.sum(case((r.click_count > 0, 1), else_=0))).select_from(r), r).where(
            r.campaign_id == campaign.id).group_by(owner, dept)
        for o, d, audience, sent, clicked in session.execute(stmt):
            for metric, n in (("audience", audience), ("sent", sent), ("clicked", clicked)):
                out.append(("campaigns", day, f"{campaign.id}|{metric}", o, d, int(n or 0),
                            Decimal("0")))
        converted = sorted(_converted(session, campaign))
        counts: dict[tuple, int] = defaultdict(int)
        for start in range(0, len(converted), 1000):
            for o, d, n in session.execute(_customer_join(select(
                    owner, dept, func.count()).select_from(r), r).where(
                    r.id.in_(converted[start:start + 1000])).group_by(owner, dept)):
                counts[(o, d)] += n
        for (o, d), n in counts.items():
            out.append(("campaigns", day, f"{campaign.id}|converted", o, d, n, Decimal("0")))
    return out


# --- storing -----------------------------------------------------------------------------

def with_rollup(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows at (owner, department) grain plus one tenant-total row per
    (figure, day, key)."""
    totals: dict[tuple, list] = {}
    out = []
    for figure, day, key, owner, dept, n, amount in rows:
        out.append({"figure": figure, "day": day, "key": key or "", "rollup": False,
                    "owner_id": owner, "department": dept or "", "count": n,
                    "amount": amount})
        t = totals.setdefault((figure, day, key or ""), [0, Decimal("0")])
        t[0] += n
        t[1] += amount
    for (figure, day, key), (n, amount) in totals.items():
        out.append({"figure": figure, "day": day, "key": key, "rollup": True,
                    "owner_id": None, "department": "", "count": n, "amount": amount})
    return out


def _insert(session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    tenant_id = current_tenant_id(session)
    full = [{**row, "tenant_id": tenant_id, "id": new_id(), "created_at": now}
            for row in rows]
    for start in range(0, len(full), INSERT_BATCH):
        session.execute(insert(DashboardFact), full[start:start + INSERT_BATCH])


def _delete(session: Session, *where: Any) -> None:
    session.execute(delete(DashboardFact).where(*where)
                    .execution_options(synchronize_session=False))


def refresh(session: Session, now: datetime | None = None, full: bool = False
            ) -> dict[str, Any]:
    """Recompute the bound tenant's dashboard facts and stamp them (no commit).

    `full` rebuilds everything (as a first run does): flows over `HISTORY_DAYS`, stock
    estimates for the previous month ends, and today's snapshot."""
    started = time.monotonic()
    now = now or utcnow()
    tenant = bound_tenant(session)
    tz = tenant.timezone
    today = local_today(tz, now)
    stamp = session.scalar(select(DashboardStamp))
    has_stock = session.scalar(select(DashboardFact.id).where(
        DashboardFact.figure.in_(STOCK_FIGURES)).limit(1)) is not None
    first_run = full or stamp is None
    since = today - timedelta(days=HISTORY_DAYS) if first_run else \
        min(stamp.last_day, today) - timedelta(days=OVERLAP_DAYS)
    stock_days = [today]
    if full or not has_stock:
        stock_days = [*backfill_days(today), today]
    if full:
        _delete(session)
    rows = flow_rows(session, since, today, tz, now, tenant.currency)
    for day in stock_days:
        # The histogram shows the latest snapshot only: no need to estimate its past.
        rows.extend(stock_rows(session, day, tz, cycle=day == today))
    _delete(session, DashboardFact.figure.in_(FLOW_FIGURES), DashboardFact.day >= since)
    _delete(session, DashboardFact.figure.in_(STOCK_FIGURES), DashboardFact.day.in_(stock_days))
    stored = with_rollup(rows) + [
        {"figure": SNAPSHOT_MARKER, "day": day, "key": key, "rollup": True, "owner_id": None,
         "department": "", "count": 0, "amount": Decimal("0")}
        for day in stock_days for key in ("customers", "purchase_cycle")
        if key == "customers" or day == today]
    _insert(session, stored, now)
    departments = sorted(d for d in session.scalars(select(Customer.department).distinct()
                                                    .where(_live_customers())) if d)
    owners = sorted(str(o) for o in session.scalars(select(Customer.owner_id).distinct()
                                                    .where(_live_customers())) if o)
    if stamp is None:
        stamp = DashboardStamp(first_day=since)
        session.add(stamp)
    stamp.computed_at = now
    stamp.first_day = min(stamp.first_day, since, stock_days[0])
    stamp.last_day = today
    stamp.facts = session.scalar(select(func.count()).select_from(DashboardFact)) or 0
    stamp.duration_ms = int((time.monotonic() - started) * 1000)
    stamp.owners, stamp.departments = owners, departments
    session.flush()
    return {"facts": len(stored), "since": since.isoformat(), "today": today.isoformat(),
            "stock_days": len(stock_days), "duration_ms": stamp.duration_ms}
