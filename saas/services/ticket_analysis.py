"""Cause analysis of tickets: causes over time (trend), Pareto, response and resolution times by
agent and by cause, and the reopen rate.

Computed in Python over the tickets opened in the period (a tenant's tickets for a few
months are thousands of rows, not millions); times are in business hours of the
tenant's SLA calendar, so a ticket opened on Friday evening is not blamed for the
weekend.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import Staff
from saas.models.tickets import Ticket
from saas.services import sla
from saas.services.customers import bound_tenant
from saas.services.errors import InvalidInput
from saas.services.exports import neutralise

NO_CAUSE = "(none)"
BUCKETS = ("month", "week")


def _tickets(session: Session, since: date, until: date) -> tuple[list[Ticket], ZoneInfo]:
    if until < since:
        raise InvalidInput.field("until", "The end is before the start.")
    tenant = bound_tenant(session)
    zone = ZoneInfo(tenant.timezone or "UTC")
    start = datetime.combine(since, time(0), tzinfo=zone)
    end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone)
    rows = session.scalars(select(Ticket).where(Ticket.opened_at >= start,
                                                Ticket.opened_at < end)).all()
    return list(rows), zone


def _period(day: date, bucket: str) -> str:
    if bucket == "month":
        return f"{day.year:04d}-{day.month:02d}"
    iso = day.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def periods(since: date, until: date, bucket: str = "month") -> list[str]:
    """Every period label from `since` to `until`, so a trend shows its empty weeks."""
    step = timedelta(days=7 if bucket == "week" else 1)
    labels: list[str] = []
    day = since
    while day <= until:
        label = _period(day, bucket)
        if not labels or labels[-1] != label:
            labels.append(label)
        day += step
    last = _period(until, bucket)
    if labels[-1] != last:
        labels.append(last)
    return labels


def causes_over_time(session: Session, since: date, until: date,
                     bucket: str = "month") -> list[dict[str, Any]]:
    """Tickets per cause per period (`month` or `week`, in the tenant's time zone)."""
    if bucket not in BUCKETS:
        raise InvalidInput.field("bucket", "Choose month or week.")
    tickets, zone = _tickets(session, since, until)
    counts: Counter[tuple[str, str]] = Counter()
    for t in tickets:
        counts[(_period(t.opened_at.astimezone(zone).date(), bucket), t.cause or NO_CAUSE)] += 1
    return [{"period": p, "cause": c, "count": n} for (p, c), n in sorted(counts.items())]


def trend(rows: list[dict[str, Any]], since: date, until: date,
          bucket: str = "month") -> dict[str, Any]:
    """`causes_over_time` rows as a chart wants them: every period, one series per cause
    (biggest first) with a count per period, zeros included."""
    labels = periods(since, until, bucket)
    index = {label: i for i, label in enumerate(labels)}
    series: dict[str, list[int]] = {}
    for r in rows:
        counts = series.setdefault(r["cause"], [0] * len(labels))
        if r["period"] in index:
            counts[index[r["period"]]] += r["count"]
    ordered = sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    return {"periods": labels,
            "series": [{"cause": cause, "counts": counts} for cause, counts in ordered]}


def pareto_csv(rows: list[dict[str, Any]]) -> str:
    return _csv(["cause", "tickets", "share", "cumulative"],
                [[r["cause"], r["count"], r["share"], r["cumulative"]] for r in rows])


def trend_csv(data: dict[str, Any]) -> str:
    """One row per period, one column per cause."""
    causes = [s["cause"] for s in data["series"]]
    return _csv(["period", *causes],
                [[period, *(s["counts"][i] for s in data["series"])]
                 for i, period in enumerate(data["periods"])])


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    """CSV with a BOM for Excel; tenant-written cause names cannot run as formulas."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(v) if isinstance(v, str) else v for v in row])
    return buffer.getvalue()


def pareto(session: Session, since: date, until: date) -> list[dict[str, Any]]:
    """Causes by count, largest first, with share and cumulative share (0-1)."""
    tickets, _zone = _tickets(session, since, until)
    counts = Counter(t.cause or NO_CAUSE for t in tickets)
    total = sum(counts.values())
    out, running = [], 0
    for cause, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        running += n
        out.append({"cause": cause, "count": n, "share": round(n / total, 4),
                    "cumulative": round(running / total, 4)})
    return out


def times(session: Session, since: date, until: date, by: str = "agent"
          ) -> list[dict[str, Any]]:
    """Average first-response and resolution time (business hours) per agent or cause."""
    if by not in ("agent", "cause"):
        raise InvalidInput.field("by", "Choose agent or cause.")
    tickets, _zone = _tickets(session, since, until)
    calendar = sla.policy_for(bound_tenant(session)).calendar
    names = {s.id: s.name for s in session.scalars(select(Staff))}
    groups: dict[str, dict[str, list[float]]] = defaultdict(
        lambda: {"first": [], "resolution": [], "n": []})
    for t in tickets:
        if by == "agent":
            key = names.get(t.owner_id, "(unassigned)") if t.owner_id else "(unassigned)"
        else:
            key = t.cause or NO_CAUSE
        g = groups[key]
        g["n"].append(1)
        if t.first_responded_at:
            g["first"].append(sla.business_time_between(
                t.opened_at, t.first_responded_at, calendar).total_seconds() / 3600)
        if t.resolved_at:
            g["resolution"].append(sla.business_time_between(
                t.opened_at, t.resolved_at, calendar).total_seconds() / 3600)

    def avg(values: list[float]) -> float | None:
        return round(sum(values) / len(values), 2) if values else None

    return [{"key": k, "tickets": len(g["n"]), "avg_first_response_hours": avg(g["first"]),
             "avg_resolution_hours": avg(g["resolution"])}
            for k, g in sorted(groups.items())]


def reopen_rate(session: Session, since: date, until: date) -> dict[str, Any]:
    """Share of tickets resolved at least once that were reopened."""
    tickets, _zone = _tickets(session, since, until)
    resolved = [t for t in tickets if t.resolved_at or t.reopen_count]
    reopened = [t for t in resolved if t.reopen_count]
    return {"resolved": len(resolved), "reopened": len(reopened),
            "rate": round(len(reopened) / len(resolved), 4) if resolved else None}


def summary(session: Session, since: date, until: date,
            bucket: str = "month") -> dict[str, Any]:
    by_period = causes_over_time(session, since, until, bucket)
    return {"since": since, "until": until, "bucket": bucket,
            "pareto": pareto(session, since, until), "by_period": by_period,
            "trend": trend(by_period, since, until, bucket),
            "by_agent": times(session, since, until, "agent"),
            "by_cause": times(session, since, until, "cause"),
            "reopen": reopen_rate(session, since, until)}
