"""Read the dashboard figures from the precomputed tables (never from orders).

Every figure has the same shape, so one chart script, one table macro, one CSV writer
and one API schema serve them all: `labels` along the x axis (periods, histogram
buckets or campaigns) and `series`, each a `key` with one value per label. Unfiltered
reads use the tenant-total rollup rows; an owner or department filter reads that
owner's or department's rows of the (owner, department) grain.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.analytics.dashboard import CYCLE_BUCKETS, SNAPSHOT_MARKER, local_today
from saas.models.base import utcnow
from saas.models.campaigns import Campaign
from saas.models.customers import LIFECYCLE_STAGES
from saas.models.dashboard import DashboardFact, DashboardStamp
from saas.models.tenant import Staff
from saas.models.tiers import Tier
from saas.services.errors import InvalidInput

FIGURES = ("customers_tier", "customers_lifecycle", "customers_category", "customer_flow",
           "revenue_tier", "purchase_cycle", "complaints_cause", "satisfaction",
           "campaigns")
PERIODS = ("auto", "day", "week", "month")
MAX_RANGE_DAYS = 366 * 5
CAMPAIGN_METRICS = ("audience", "sent", "clicked", "converted")


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    period: str
    owner_id: uuid.UUID | None = None
    department: str | None = None

    def as_args(self) -> dict[str, str]:
        """The query-string form, for CSV links that keep the current filters."""
        args = {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "period": self.period}
        if self.owner_id:
            args["owner_id"] = str(self.owner_id)
        if self.department:
            args["department"] = self.department
        return args


@dataclass
class Figure:
    name: str
    kind: str
    """`count`, `money` or `percent`: what the values are."""
    labels: list[str]
    series: list[dict[str, Any]]
    """[{"key": str, "values": [number | None], "chart": bool}]"""
    period: str | None = None
    currency: str | None = None
    extra: dict[str, list[str]] = field(default_factory=dict)
    """Per-label columns that are not numbers (a campaign's launch day)."""


def _parse_day(raw: Any, name: str, errors: dict[str, list[str]]) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[name] = ["Enter a date as YYYY-MM-DD."]
        return None


def default_start(today: date) -> date:
    """The first day of the month eleven months back: twelve monthly points."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1)


def parse_filters(session: Session, tz: str, data: dict[str, Any],
                  now: datetime | None = None) -> Filters:
    """Validate the dashboard filters (web form and API alike); errors name the field."""
    errors: dict[str, list[str]] = {}
    today = local_today(tz, now or utcnow())
    start = _parse_day(data.get("start"), "start", errors)
    end = _parse_day(data.get("end"), "end", errors)
    period = str(data.get("period") or "auto").strip()
    if period not in PERIODS:
        errors["period"] = [f"Choose one of: {', '.join(PERIODS)}."]
    owner_id = None
    raw_owner = data.get("owner_id")
    if raw_owner not in (None, ""):
        try:
            owner_id = raw_owner if isinstance(raw_owner, uuid.UUID) else uuid.UUID(
                str(raw_owner))
        except ValueError:
            errors["owner_id"] = ["No such staff member."]
        else:
            if session.get(Staff, (_tenant_id(session), owner_id)) is None:
                errors["owner_id"] = ["No such staff member."]
    department = (data.get("department") or "").strip() or None
    if department and len(department) > 100:
        errors["department"] = ["Use at most 100 characters."]
    if not errors:
        end = end or today
        start = start or min(default_start(today), end)
        if start > end:
            errors["end"] = ["The end date must not be before the start date."]
        elif (end - start).days > MAX_RANGE_DAYS:
            errors["start"] = ["Choose a range of at most five years."]
    if errors:
        raise InvalidInput("Check the dashboard filters.", errors)
    assert start is not None and end is not None
    return Filters(start=start, end=end, period=period, owner_id=owner_id,
                   department=department)


def _tenant_id(session: Session) -> uuid.UUID | None:
    from saas.tenancy import current_tenant_id

    return current_tenant_id(session)


def resolve_period(filters: Filters) -> str:
    if filters.period != "auto":
        return filters.period
    days = (filters.end - filters.start).days + 1
    return "day" if days <= 31 else "week" if days <= 180 else "month"


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def period_label(start: date, period: str) -> str:
    return start.strftime("%Y-%m") if period == "month" else start.isoformat()


def periods(filters: Filters, period: str) -> list[date]:
    out, day = [], period_start(filters.start, period)
    while day <= filters.end:
        out.append(day)
        if period == "month":
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            day += timedelta(days=7 if period == "week" else 1)
    return out


def _scope(filters: Filters) -> list[Any]:
    if filters.owner_id is None and filters.department is None:
        return [DashboardFact.rollup.is_(True)]
    where = [DashboardFact.rollup.is_(False)]
    if filters.owner_id is not None:
        where.append(DashboardFact.owner_id == filters.owner_id)
    if filters.department is not None:
        where.append(DashboardFact.department == filters.department)
    return where


def _facts(session: Session, figure: str, filters: Filters, *where: Any
           ) -> list[tuple[date, str, int, Decimal]]:
    stmt = select(DashboardFact.day, DashboardFact.key, func.sum(DashboardFact.count),
                  func.sum(DashboardFact.amount)).where(
        DashboardFact.figure == figure, *_scope(filters), *where).group_by(
        DashboardFact.day, DashboardFact.key)
    return [(d if isinstance(d, date) else date.fromisoformat(str(d)), k, int(n or 0),
             Decimal(a or 0)) for d, k, n, a in session.execute(stmt)]


def _snapshot_days(session: Session, figure: str, filters: Filters) -> list[date]:
    """The days a stock snapshot was taken (its counts may all be zero)."""
    key = "purchase_cycle" if figure == "purchase_cycle" else "customers"
    days = session.scalars(select(DashboardFact.day).where(
        DashboardFact.figure == SNAPSHOT_MARKER, DashboardFact.rollup.is_(True),
        DashboardFact.key == key, DashboardFact.day >= filters.start,
        DashboardFact.day <= filters.end))
    return sorted(d if isinstance(d, date) else date.fromisoformat(str(d)) for d in days)


def _order_keys(keys: set[str], preferred: list[str]) -> list[str]:
    known = [k for k in preferred if k in keys]
    rest = sorted(k for k in keys if k not in preferred and k)
    return known + rest + ([""] if "" in keys and "" not in known else [])


def _tier_names(session: Session) -> list[str]:
    return list(session.scalars(select(Tier.name).order_by(Tier.position)))


def _stock(session: Session, name: str, filters: Filters, preferred: list[str]) -> Figure:
    """The latest snapshot within each period: a state is not summed over days."""
    period = resolve_period(filters)
    starts = periods(filters, period)
    last_in: dict[date, date] = {}
    for day in _snapshot_days(session, name, filters):
        last_in[period_start(day, period)] = day
    rows = _facts(session, name, filters, DashboardFact.day.in_(list(last_in.values()))) \
        if last_in else []
    by_key: dict[str, dict[date, int]] = defaultdict(dict)
    for day, key, n, _amount in rows:
        by_key[key][period_start(day, period)] = n
    keys = _order_keys(set(by_key), preferred)
    series = [{"key": k, "chart": True,
               "values": [by_key[k].get(p, 0) if p in last_in else None for p in starts]}
              for k in keys]
    return Figure(name, "count", [period_label(p, period) for p in starts], series, period)


def _flow(session: Session, name: str, filters: Filters, preferred: list[str],
          money: bool = False) -> tuple[Figure, dict[str, dict[date, tuple[int, Decimal]]]]:
    period = resolve_period(filters)
    starts = periods(filters, period)
    sums: dict[str, dict[date, list]] = defaultdict(lambda: defaultdict(lambda: [0, Decimal(0)]))
    for day, key, n, amount in _facts(session, name, filters, DashboardFact.day >= filters.start,
                                      DashboardFact.day <= filters.end):
        cell = sums[key][period_start(day, period)]
        cell[0] += n
        cell[1] += amount
    keys = _order_keys(set(sums), preferred)
    series = [{"key": k, "chart": True, "values": [
        (float(sums[k][p][1]) if money else sums[k][p][0]) if p in sums[k] else 0
        for p in starts]} for k in keys]
    raw = {k: {p: tuple(v) for p, v in sums[k].items()} for k in sums}
    return (Figure(name, "money" if money else "count",
                   [period_label(p, period) for p in starts], series, period), raw)


def _satisfaction(session: Session, filters: Filters) -> Figure:
    """NPS = % promoters − % detractors; CSAT = % satisfied (4-5) — as the survey results."""
    base, raw = _flow(session, "satisfaction", filters, [])
    starts = periods(filters, base.period or "day")

    def count(key: str, p: date) -> int:
        return raw.get(key, {}).get(p, (0, 0))[0]

    nps, csat, nps_n, csat_n = [], [], [], []
    for p in starts:
        pro, pas, det = count("promoter", p), count("passive", p), count("detractor", p)
        sat, uns = count("satisfied", p), count("unsatisfied", p)
        n, m = pro + pas + det, sat + uns
        nps.append(round((pro - det) * 100 / n, 1) if n else None)
        csat.append(round(sat * 100 / m, 1) if m else None)
        nps_n.append(n)
        csat_n.append(m)
    return Figure("satisfaction", "percent", base.labels, [
        {"key": "nps", "values": nps, "chart": True},
        {"key": "csat", "values": csat, "chart": True},
        {"key": "nps_responses", "values": nps_n, "chart": False},
        {"key": "csat_responses", "values": csat_n, "chart": False}], base.period)


def _purchase_cycle(session: Session, filters: Filters) -> Figure:
    days = _snapshot_days(session, "purchase_cycle", filters)
    if not days:  # nothing in range: the latest snapshot before it, if any
        before = session.scalar(select(func.max(DashboardFact.day)).where(
            DashboardFact.figure == SNAPSHOT_MARKER, DashboardFact.rollup.is_(True),
            DashboardFact.key == "purchase_cycle", DashboardFact.day <= filters.end))
        days = [before] if before else []
    counts: dict[str, int] = {}
    if days:
        counts = {k: n for _d, k, n, _a in _facts(session, "purchase_cycle", filters,
                                                   DashboardFact.day == days[-1])}
    labels = [label for label, _bound in CYCLE_BUCKETS]
    return Figure("purchase_cycle", "count", labels,
                  [{"key": "customers", "chart": True,
                    "values": [counts.get(label, 0) for label in labels]}],
                  extra={"as_of": [days[-1].isoformat() if days else ""] * len(labels)}
                  if days else {})


def _campaigns(session: Session, filters: Filters) -> Figure:
    values: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CAMPAIGN_METRICS, 0))
    launched: dict[str, date] = {}
    for day, key, n, _a in _facts(session, "campaigns", filters,
                                  DashboardFact.day >= filters.start,
                                  DashboardFact.day <= filters.end):
        campaign_id, _, metric = key.partition("|")
        if metric in CAMPAIGN_METRICS:
            values[campaign_id][metric] += n
            launched[campaign_id] = day
    ids = sorted(values, key=lambda c: (launched[c], c))
    names: dict[str, str] = {}
    uuids = []
    for c in ids:
        try:
            uuids.append(uuid.UUID(c))
        except ValueError:
            continue
    if uuids:
        names = {str(i): n for i, n in session.execute(
            select(Campaign.id, Campaign.name).where(Campaign.id.in_(uuids)))}
    return Figure("campaigns", "count", [names.get(c, c) for c in ids],
                  [{"key": m, "chart": True, "values": [values[c][m] for c in ids]}
                   for m in CAMPAIGN_METRICS],
                  extra={"campaign_id": ids, "launched": [launched[c].isoformat() for c in ids]})


def figure(session: Session, name: str, filters: Filters, currency: str | None = None
           ) -> Figure:
    """One figure for the bound tenant under `filters` (an unknown name is a 404)."""
    from saas.services.errors import NotFound

    if name == "customers_tier":
        return _stock(session, name, filters, _tier_names(session))
    if name == "customers_lifecycle":
        return _stock(session, name, filters, list(LIFECYCLE_STAGES))
    if name == "customers_category":
        return _stock(session, name, filters, [])
    if name == "customer_flow":
        return _flow(session, name, filters, ["new", "lost"])[0]
    if name == "revenue_tier":
        fig = _flow(session, name, filters, _tier_names(session), money=True)[0]
        fig.currency = currency
        return fig
    if name == "complaints_cause":
        fig = _flow(session, name, filters, [])[0]
        fig.series.sort(key=lambda s: (-sum(s["values"]), s["key"] == "", s["key"]))
        return fig
    if name == "satisfaction":
        return _satisfaction(session, filters)
    if name == "purchase_cycle":
        return _purchase_cycle(session, filters)
    if name == "campaigns":
        return _campaigns(session, filters)
    raise NotFound("No such dashboard figure.")


def stamp(session: Session) -> DashboardStamp | None:
    return session.scalar(select(DashboardStamp))


def owner_choices(session: Session) -> list[tuple[str, str]]:
    """Staff who own customers (as of the last computation), then other active staff."""
    st = stamp(session)
    owning = set(st.owners) if st else set()
    rows = session.execute(select(Staff.id, Staff.name, Staff.active).order_by(Staff.name))
    return [(str(i), n) for i, n, active in rows if active or str(i) in owning]


def department_choices(session: Session) -> list[str]:
    st = stamp(session)
    return list(st.departments) if st else []


def label_column(fig: Figure) -> str:
    return {"purchase_cycle": "days_between_orders", "campaigns": "campaign"}.get(
        fig.name, fig.period or "period")


def to_csv(fig: Figure, key_labels: dict[str, str] | None = None,
           first_column: str | None = None, extra_labels: dict[str, str] | None = None
           ) -> str:
    """The table beside the chart: one row per label, one column per series."""
    key_labels, extra_labels = key_labels or {}, extra_labels or {}
    buf = io.StringIO()
    writer = csv.writer(buf)
    extra = list(fig.extra)
    writer.writerow([first_column or label_column(fig),
                     *(extra_labels.get(e, e) for e in extra),
                     *(key_labels.get(s["key"]) or s["key"] or "(none)" for s in fig.series)])
    for i, label in enumerate(fig.labels):
        writer.writerow([label, *(fig.extra[e][i] for e in extra),
                         *("" if s["values"][i] is None else s["values"][i]
                           for s in fig.series)])
    return buf.getvalue()
