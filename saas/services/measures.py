"""Per-customer measures, computed set-based by the database into `customer_measures`.

One SELECT aggregates orders (one scan, with a LEAD/LAG window for the gap before the
last order), interactions and points balances per customer, ranks R, F and M into
quintiles with NTILE(5) over the whole tenant, and derives the value, behaviour and
lifecycle segments with CASE. Only rows whose values changed (IS DISTINCT FROM) are
written: most customers' measures are the same from one night to the next, and rewriting
every row (the earlier delete-and-reinsert) cost more than computing the measures.
`computed_at` therefore says when a row's values last changed. An incremental refresh
(after an order is placed or refunded) recomputes only the given customers and keeps
their last R/F/M quintiles, which only make sense across the whole tenant and are
renewed by the nightly full refresh.

Money measures count orders in the tenant's currency only (amounts in different
currencies are not summed); counts and recency use every counted order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Select,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from saas.models.base import UTCDateTime, utcnow
from saas.models.customers import Customer
from saas.models.interactions import Interaction
from saas.models.loyalty import PointsBalance
from saas.models.orders import COUNTED_STATUSES, Order
from saas.models.tenant import Tenant
from saas.models.tiers import CustomerMeasure
from saas.tenancy import current_tenant_id

DEFAULT_RHYTHM_DAYS = 90
"""Purchase rhythm assumed for a customer with a single order."""
ACTIVE_FACTOR = 1.5
CHURN_FACTOR = 3.0
NEW_DAYS = 90

SEGMENT_RULES = {
    "value_segment": [
        ("high", "R/F/M monetary quintile 4-5 (top 40% by 12-month spend)"),
        ("medium", "monetary quintile 2-3"),
        ("low", "monetary quintile 1, or no spend in 12 months"),
    ],
    "behaviour": [
        ("active", f"last order within {ACTIVE_FACTOR}x the customer's own average gap "
                   f"between orders ({DEFAULT_RHYTHM_DAYS} days with a single order)"),
        ("at_risk", f"last order within {CHURN_FACTOR}x that gap"),
        ("churned", f"no order for longer than {CHURN_FACTOR}x that gap"),
        ("none", "no orders yet"),
    ],
    "lifecycle": [
        ("prospect", "no orders yet"),
        ("churned", "behaviour is churned"),
        ("at_risk", "behaviour is at-risk"),
        ("won_back", f"active again after a gap longer than {CHURN_FACTOR}x the rhythm of "
                     "the orders before it"),
        ("new", f"first order within the last {NEW_DAYS} days"),
        ("active", "everyone else with orders"),
    ],
}

COLUMNS = ("tenant_id", "id", "created_at", "spend_12m", "spend_total", "order_count",
           "first_order_at", "last_order_at", "days_since_last_order", "avg_order_value",
           "avg_interval_days", "last_gap_days", "interactions_90d", "points_balance",
           "r_score", "f_score", "m_score", "rfm_score", "value_segment", "behaviour",
           "lifecycle", "computed_at")


def _days(later, earlier, dialect: str):
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def _whole(expr, dialect: str):
    """Whole days, rounded down (a PostgreSQL cast to integer would round half up)."""
    if dialect == "postgresql":
        return func.floor(expr).cast(Integer)
    return expr.cast(Integer)


def measures_select(tenant_id: uuid.UUID, currency: str, now: datetime, dialect: str,
                    customer_ids: Iterable[uuid.UUID] | None = None) -> Select:
    """The measures of every live customer of a tenant (or of `customer_ids`).

    The tenant is named explicitly: the ORM tenant filter does not reach inside an
    INSERT ... SELECT, and the explicit predicate lets every scan use its index.
    """
    now_p = literal(now, UTCDateTime())
    year_ago = literal(now - timedelta(days=365), UTCDateTime())
    since_90 = literal(now - timedelta(days=90), UTCDateTime())
    ids = list(customer_ids) if customer_ids is not None else None

    ordered = select(
        Order.customer_id, Order.placed_at, Order.total, Order.currency,
        func.lag(Order.placed_at).over(partition_by=Order.customer_id,
                                       order_by=(Order.placed_at, Order.id)).label("prev_at"),
        func.lead(Order.placed_at).over(partition_by=Order.customer_id,
                                        order_by=(Order.placed_at, Order.id)).label("next_at"),
    ).where(Order.tenant_id == tenant_id, Order.status.in_(COUNTED_STATUSES))
    if ids is not None:
        ordered = ordered.where(Order.customer_id.in_(ids))
    ordered = ordered.subquery("ordered")
    in_cur = ordered.c.currency == currency
    orders = select(
        ordered.c.customer_id,
        func.count().label("n"),
        func.min(ordered.c.placed_at).label("first_at"),
        func.max(ordered.c.placed_at).label("last_at"),
        func.max(case((ordered.c.next_at.is_(None), ordered.c.prev_at))).label("prev_last"),
        func.sum(case((and_(in_cur, ordered.c.placed_at >= year_ago), ordered.c.total),
                      else_=0)).label("spend_12m"),
        func.sum(case((in_cur, ordered.c.total), else_=0)).label("spend_total"),
        func.sum(case((in_cur, 1), else_=0)).label("n_cur"),
    ).group_by(ordered.c.customer_id).subquery("o")

    talks = select(Interaction.customer_id, func.count().label("n")).where(
        Interaction.tenant_id == tenant_id, Interaction.occurred_at >= since_90)
    if ids is not None:
        talks = talks.where(Interaction.customer_id.in_(ids))
    talks = talks.group_by(Interaction.customer_id).subquery("i")

    n = func.coalesce(orders.c.n, 0)
    span = _days(orders.c.last_at, orders.c.first_at, dialect)
    gap = _days(orders.c.last_at, orders.c.prev_last, dialect)
    base = (
        select(
            Customer.id.label("id"),
            func.coalesce(orders.c.spend_12m, 0).label("spend_12m"),
            func.coalesce(orders.c.spend_total, 0).label("spend_total"),
            n.label("order_count"),
            orders.c.first_at.label("first_order_at"),
            orders.c.last_at.label("last_order_at"),
            _whole(_days(now_p, orders.c.last_at, dialect), dialect)
            .label("days_since_last_order"),
            _days(now_p, orders.c.first_at, dialect).label("days_since_first"),
            case((orders.c.n_cur > 0, orders.c.spend_total / orders.c.n_cur))
            .label("avg_order_value"),
            case((n > 1, span / (n - 1))).label("avg_interval_days"),
            gap.label("last_gap_days"),
            case((n > 2, (span - gap) / (n - 2))).label("earlier_interval"),
            func.coalesce(talks.c.n, 0).label("interactions_90d"),
            func.coalesce(PointsBalance.balance, 0).label("points_balance"),
        )
        .select_from(Customer)
        .outerjoin(orders, orders.c.customer_id == Customer.id)
        .outerjoin(talks, talks.c.customer_id == Customer.id)
        .outerjoin(PointsBalance, and_(PointsBalance.tenant_id == Customer.tenant_id,
                                       PointsBalance.id == Customer.id))
        .where(Customer.tenant_id == tenant_id, Customer.merged_into_id.is_(None))
    )
    if ids is not None:
        old = aliased(CustomerMeasure, name="old")
        base = base.add_columns(
            func.coalesce(old.r_score, 1).label("r_score"),
            func.coalesce(old.f_score, 1).label("f_score"),
            func.coalesce(old.m_score, 1).label("m_score"),
        ).outerjoin(old, and_(old.tenant_id == Customer.tenant_id, old.id == Customer.id)
                    ).where(Customer.id.in_(ids))
        scored = base.subquery("scored")
    else:
        b = base.subquery("b")
        scored = select(
            *b.c,
            func.ntile(5).over(order_by=(b.c.last_order_at.asc().nulls_first(), b.c.id))
            .label("r_score"),
            func.ntile(5).over(order_by=(b.c.order_count, b.c.id)).label("f_score"),
            func.ntile(5).over(order_by=(b.c.spend_12m, b.c.id)).label("m_score"),
        ).subquery("scored")
    s = scored.c
    rhythm = func.coalesce(s.avg_interval_days, DEFAULT_RHYTHM_DAYS)
    days = _days(now_p, s.last_order_at, dialect)
    behaviour = case(
        (s.order_count == 0, "none"),
        (days <= rhythm * ACTIVE_FACTOR, "active"),
        (days <= rhythm * CHURN_FACTOR, "at_risk"),
        else_="churned")
    earlier = func.coalesce(s.earlier_interval, DEFAULT_RHYTHM_DAYS)
    lifecycle = case(
        (s.order_count == 0, "prospect"),
        (days > rhythm * CHURN_FACTOR, "churned"),
        (days > rhythm * ACTIVE_FACTOR, "at_risk"),
        (s.last_gap_days > earlier * CHURN_FACTOR, "won_back"),
        (s.days_since_first <= NEW_DAYS, "new"),
        else_="active")
    value = case((s.spend_12m <= 0, "low"), (s.m_score >= 4, "high"),
                 (s.m_score >= 2, "medium"), else_="low")
    return select(
        literal(tenant_id).label("tenant_id"), s.id, now_p.label("created_at"),
        s.spend_12m, s.spend_total, s.order_count, s.first_order_at, s.last_order_at,
        s.days_since_last_order, s.avg_order_value, s.avg_interval_days, s.last_gap_days,
        s.interactions_90d, s.points_balance, s.r_score, s.f_score, s.m_score,
        (s.r_score + s.f_score + s.m_score).label("rfm_score"),
        value.label("value_segment"), behaviour.label("behaviour"),
        lifecycle.label("lifecycle"), now_p.label("computed_at"))


def _tenant(session: Session) -> Tenant:
    tenant = session.get(Tenant, current_tenant_id(session))
    if tenant is None:
        raise LookupError("no tenant bound")
    return tenant


VALUE_COLUMNS = tuple(c for c in COLUMNS if c not in ("tenant_id", "id", "created_at",
                                                       "computed_at"))


def _upsert(session: Session, stmt: Select) -> int:
    """Write `stmt`'s rows, updating only those whose values differ (for a few customers:
    the upsert locks each conflicting row, cheap for a handful); returns how many rows
    were inserted or changed (-1 where the driver does not say)."""
    maker = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # SQLite needs a WHERE on an INSERT ... SELECT with an upsert clause (parsing ambiguity).
    ins = maker(CustomerMeasure).from_select(list(COLUMNS), stmt.where(true()))
    table = CustomerMeasure.__table__
    changed = or_(*[table.c[name].is_distinct_from(ins.excluded[name])
                    for name in VALUE_COLUMNS])
    ins = ins.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.id],
        set_={name: ins.excluded[name] for name in (*VALUE_COLUMNS, "computed_at")},
        where=changed)
    written = session.execute(ins.execution_options(synchronize_session=False)).rowcount
    _expire_loaded(session)
    return written or 0


_FRESH = Table("measures_fresh", MetaData(),
               *[Column(c.name, c.type) for c in CustomerMeasure.__table__.columns],
               prefixes=["TEMPORARY"])
"""A full refresh computes into this per-connection temporary table first (no WAL, no
row locks), then writes only the differences to `customer_measures`."""


def _expire_loaded(session: Session) -> None:
    for obj in list(session.identity_map.values()):
        if isinstance(obj, CustomerMeasure):
            session.expire(obj)


def refresh_all(session: Session, now: datetime | None = None) -> int:
    """Recompute every customer's measures in the bound tenant; returns the row count.

    Not a plain upsert of every row: PostgreSQL's ON CONFLICT DO UPDATE locks (and so
    rewrites) each conflicting row even when its WHERE rejects the update, which cost as
    much as the delete-and-reinsert it replaced. The measures are computed into a
    temporary table, compared with the stored rows in one join, and only new or changed
    rows are upserted; unchanged rows are not touched.
    """
    tenant = _tenant(session)
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    session.flush()
    conn = session.connection()
    _FRESH.drop(conn, checkfirst=True)
    _FRESH.create(conn)  # a failure rolls the table back with everything else
    session.execute(insert(_FRESH).from_select(
        list(COLUMNS), measures_select(tenant.id, tenant.currency, now, dialect)))
    table, fresh = CustomerMeasure.__table__, _FRESH.c
    # One pass: new customers and changed rows only, so just those rows are locked.
    old = table.alias("old")
    differs = select(*[fresh[name] for name in COLUMNS]).select_from(_FRESH.outerjoin(
        old, and_(old.c.tenant_id == fresh.tenant_id, old.c.id == fresh.id))).where(or_(
            old.c.id.is_(None),
            *[old.c[name].is_distinct_from(fresh[name]) for name in VALUE_COLUMNS]))
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    ins = maker(CustomerMeasure).from_select(list(COLUMNS), differs)
    session.execute(ins.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.id],
        set_={name: ins.excluded[name] for name in (*VALUE_COLUMNS, "computed_at")})
        .execution_options(synchronize_session=False))
    # Customers merged away since the last run (deleted customers cascade).
    session.execute(delete(CustomerMeasure).where(CustomerMeasure.id.in_(
        select(Customer.id).where(Customer.merged_into_id.is_not(None))))
        .execution_options(synchronize_session=False))
    count = session.scalar(select(func.count()).select_from(_FRESH)) or 0
    _FRESH.drop(conn)
    _expire_loaded(session)
    return count


def refresh_customers(session: Session, customer_ids: Iterable[Any],
                      now: datetime | None = None) -> int:
    """Recompute the measures of a few customers (keeping their last R/F/M quintiles);
    returns how many of them are live customers."""
    ids = [c if isinstance(c, uuid.UUID) else uuid.UUID(str(c)) for c in customer_ids]
    if not ids:
        return 0
    tenant = _tenant(session)
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    session.flush()
    session.execute(delete(CustomerMeasure).where(CustomerMeasure.id.in_(
        select(Customer.id).where(Customer.id.in_(ids), Customer.merged_into_id.is_not(None))))
        .execution_options(synchronize_session=False))
    _upsert(session, measures_select(tenant.id, tenant.currency, now, dialect, ids))
    return session.scalar(select(func.count()).select_from(Customer).where(
        Customer.id.in_(ids), Customer.merged_into_id.is_(None))) or 0


def get_measures(session: Session, customer_id: uuid.UUID) -> CustomerMeasure | None:
    return session.scalars(select(CustomerMeasure).where(
        CustomerMeasure.id == customer_id)).first()
