"""Staff KPIs: per staff member and period, what they own and what they did.

Computed live, not precomputed: a manager picks any period, so a nightly table would
hold only some of them, and each figure is one GROUP BY over the staff's indexed column
(`customers.owner_id`, `visit_tasks.assignee_id`, `tickets.owner_id`,
`survey_answers.agent_id`, orders joined to owned customers), so a leaderboard is
six queries however many staff there are. `computed_at` says when it was computed.

Definitions (period = the tenant's local days `since`..`until`, both included):

- `customers_owned` — customers the person owns now (merged ones excluded);
- `visits_due` / `visits_done` / `visits_on_time` — visit tasks assigned to them and due
  in the period (cancelled ones excluded); on time = done on or before the due day in
  the tenant's time zone (as the visits report counts it);
- `tickets_handled` — tickets they own that were resolved in the period;
  `resolution_hours` — their mean time from opening to resolution;
  `first_response_hours` — mean time from opening to the first reply, over their tickets
  first answered in the period (wall-clock hours, not SLA business hours);
- `csat` (mean 1–5) and `nps` (% promoters 9–10 minus % detractors 0–6) — answers in the
  period to CSAT / NPS surveys sent about their ticket or visit (the answer's `agent_id`);
- `revenue` — counted orders (`COUNTED_STATUSES`) in the tenant's currency placed in the
  period by customers they own now.

Who sees what: `reports.read` (owner, admin, manager, read-only) sees everyone; anyone
else sees only their own row.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from saas.models.base import utcnow
from saas.models.customers import Customer
from saas.models.orders import COUNTED_STATUSES, Order
from saas.models.surveys import Survey, SurveyAnswer
from saas.models.tenant import Staff
from saas.models.tickets import Ticket
from saas.models.visits import VisitTask
from saas.permissions import role_can
from saas.services.context import Actor
from saas.services.customers import bound_tenant
from saas.services.errors import Forbidden, InvalidInput, NotFound

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30
SORTS = ("customers_owned", "visits_due", "visits_done", "visits_on_time",
         "visits_on_time_rate", "tickets_handled", "first_response_hours",
         "resolution_hours", "csat", "nps", "revenue", "name")
LOWER_IS_BETTER = {"first_response_hours", "resolution_hours"}
"""Sorting these "best first" means ascending."""


@dataclass
class StaffKpis:
    staff_id: uuid.UUID
    name: str
    email: str
    role: str
    department: str | None
    customers_owned: int = 0
    visits_due: int = 0
    visits_done: int = 0
    visits_on_time: int = 0
    tickets_handled: int = 0
    first_response_hours: float | None = None
    resolution_hours: float | None = None
    csat: float | None = None
    csat_answers: int = 0
    nps: float | None = None
    nps_answers: int = 0
    revenue: Decimal = Decimal("0.00")
    rank: int = 0

    @property
    def visits_on_time_rate(self) -> float | None:
        return round(self.visits_on_time / self.visits_due, 3) if self.visits_due else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "visits_on_time_rate": self.visits_on_time_rate}


@dataclass
class Leaderboard:
    since: date
    until: date
    currency: str
    sort: str
    computed_at: datetime
    items: list[StaffKpis] = field(default_factory=list)


def can_see_everyone(actor: Actor) -> bool:
    return role_can(actor.role, "reports.read")


def period(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """The period asked for, defaulting to the last 30 days; rejects an inverted or
    over-long one (a field error each)."""
    until = until or today
    since = since or until - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if until < since:
        raise InvalidInput.field("until", "The end is before the start.")
    if (until - since).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput.field("since", "Choose at most 366 days.")
    return since, until


def _seconds_between(session: Session, later, earlier):
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _local_day(session: Session, column, zone: ZoneInfo):
    """The calendar day of a UTC timestamp in the tenant's zone, in SQL. SQLite has no
    zone rules, so it shifts by the zone's current offset (exact for zones without DST)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(zone.key, column))
    offset = int((datetime.now(zone).utcoffset() or timedelta()).total_seconds())
    return func.date(column, f"{offset:+d} seconds")


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


def compute(session: Session, actor: Actor, since: date | None = None,
            until: date | None = None, *, department: str | None = None,
            staff_id: uuid.UUID | None = None, sort: str = "-revenue") -> Leaderboard:
    """Every visible staff member's KPIs for the period, ranked by `sort` (a KPI name,
    `-` for best first). An actor without `reports.read` gets only their own row."""
    tenant = bound_tenant(session)
    zone = ZoneInfo(tenant.timezone) if tenant.timezone else ZoneInfo("UTC")
    now = utcnow()
    since, until = period(since, until, now.astimezone(zone).date())
    if sort.lstrip("-") not in SORTS:
        raise InvalidInput.field("sort", f"Choose one of: {', '.join(SORTS)}.")
    start = datetime.combine(since, time(), zone).astimezone(UTC)
    end = datetime.combine(until + timedelta(days=1), time(), zone).astimezone(UTC)

    if not can_see_everyone(actor):
        staff_id = actor.staff_id
    people = (select(Staff).where(Staff.id == staff_id) if staff_id is not None
              else select(Staff).where(Staff.active.is_(True)))
    if department:
        people = people.where(Staff.department == department)
    rows = {s.id: StaffKpis(s.id, s.name, s.email, s.role, s.department)
            for s in session.scalars(people)}
    board = Leaderboard(since, until, tenant.currency, sort, now)
    if rows:
        ids = list(rows)
        _owned(session, ids, rows)
        _visits(session, ids, rows, since, until, zone)
        _tickets(session, ids, rows, start, end)
        _surveys(session, ids, rows, start, end)
        _revenue(session, ids, rows, start, end, tenant.currency)
    board.items = rank(list(rows.values()), sort)
    return board


def for_staff(session: Session, actor: Actor, staff_id: uuid.UUID, since: date | None = None,
              until: date | None = None) -> tuple[Leaderboard, StaffKpis]:
    """One person's KPIs: their own always, anyone's with `reports.read`; another
    tenant's or an unknown staff id is not found."""
    person = session.scalars(select(Staff).where(Staff.id == staff_id)).first()
    if person is None:
        raise NotFound("No such staff member.")
    if person.id != actor.staff_id and not can_see_everyone(actor):
        raise Forbidden("You can only see your own figures.")
    board = compute(session, actor, since, until, staff_id=person.id)
    return board, board.items[0]


def rank(items: list[StaffKpis], sort: str) -> list[StaffKpis]:
    """Best first for `-kpi` (ascending for times, where lower is better), plain order
    for `kpi`; people without a figure come last either way, then by name."""
    name = sort.lstrip("-")
    best_first = sort.startswith("-")
    descending = best_first != (name in LOWER_IS_BETTER)

    def value(r: StaffKpis) -> Any:
        return r.name.lower() if name == "name" else getattr(r, name)

    known = [r for r in items if value(r) is not None]
    missing = sorted((r for r in items if value(r) is None), key=lambda r: r.name.lower())
    known.sort(key=lambda r: r.name.lower())
    known.sort(key=value, reverse=descending)
    ordered = known + missing
    for i, r in enumerate(ordered, 1):
        r.rank = i
    return ordered


def _owned(session: Session, ids: list, rows: dict) -> None:
    stmt = (select(Customer.owner_id, func.count())
            .where(Customer.owner_id.in_(ids), Customer.merged_into_id.is_(None))
            .group_by(Customer.owner_id))
    for owner_id, n in session.execute(stmt):
        rows[owner_id].customers_owned = int(n)


def _visits(session: Session, ids: list, rows: dict, since: date, until: date,
            zone: ZoneInfo) -> None:
    done = VisitTask.status == "done"
    on_time = and_(done, _local_day(session, VisitTask.done_at, zone) <= VisitTask.due_on)
    stmt = (select(VisitTask.assignee_id, func.count(),
                   func.sum(case((done, 1), else_=0)),
                   func.sum(case((on_time, 1), else_=0)))
            .where(VisitTask.assignee_id.in_(ids), VisitTask.due_on >= since,
                   VisitTask.due_on <= until, VisitTask.status != "cancelled")
            .group_by(VisitTask.assignee_id))
    for staff_id, due, n_done, n_on_time in session.execute(stmt):
        r = rows[staff_id]
        r.visits_due, r.visits_done, r.visits_on_time = int(due), int(n_done or 0), \
            int(n_on_time or 0)


def _tickets(session: Session, ids: list, rows: dict, start: datetime, end: datetime) -> None:
    resolved = and_(Ticket.resolved_at >= start, Ticket.resolved_at < end)
    responded = and_(Ticket.first_responded_at >= start, Ticket.first_responded_at < end)
    stmt = (select(Ticket.owner_id,
                   func.sum(case((resolved, 1), else_=0)),
                   func.avg(case((resolved, _seconds_between(
                       session, Ticket.resolved_at, Ticket.opened_at)))),
                   func.avg(case((responded, _seconds_between(
                       session, Ticket.first_responded_at, Ticket.opened_at)))))
            .where(Ticket.owner_id.in_(ids), (resolved | responded))
            .group_by(Ticket.owner_id))
    for owner_id, handled, resolution, response in session.execute(stmt):
        r = rows[owner_id]
        r.tickets_handled = int(handled or 0)
        r.resolution_hours, r.first_response_hours = _hours(resolution), _hours(response)


def _surveys(session: Session, ids: list, rows: dict, start: datetime, end: datetime) -> None:
    promoter = case((SurveyAnswer.score >= 9, 1), else_=0)
    detractor = case((SurveyAnswer.score <= 6, 1), else_=0)
    stmt = (select(SurveyAnswer.agent_id, Survey.kind, func.count(),
                   func.avg(SurveyAnswer.score), func.sum(promoter), func.sum(detractor))
            .join(Survey, and_(Survey.tenant_id == SurveyAnswer.tenant_id,
                               Survey.id == SurveyAnswer.survey_id))
            .where(SurveyAnswer.agent_id.in_(ids), SurveyAnswer.score.is_not(None),
                   Survey.kind.in_(("csat", "nps")),
                   SurveyAnswer.answered_at >= start, SurveyAnswer.answered_at < end)
            .group_by(SurveyAnswer.agent_id, Survey.kind))
    for agent_id, kind, n, mean, promoters, detractors in session.execute(stmt):
        r = rows[agent_id]
        if kind == "csat":
            r.csat, r.csat_answers = round(float(mean), 2), int(n)
        else:
            r.nps = round(100.0 * (int(promoters or 0) - int(detractors or 0)) / n, 1)
            r.nps_answers = int(n)


def _revenue(session: Session, ids: list, rows: dict, start: datetime, end: datetime,
             currency: str) -> None:
    stmt = (select(Customer.owner_id, func.sum(Order.total))
            .join(Customer, and_(Customer.tenant_id == Order.tenant_id,
                                 Customer.id == Order.customer_id))
            .where(Customer.owner_id.in_(ids), Order.status.in_(COUNTED_STATUSES),
                   Order.currency == currency,
                   Order.placed_at >= start, Order.placed_at < end)
            .group_by(Customer.owner_id))
    for owner_id, total in session.execute(stmt):
        rows[owner_id].revenue = Decimal(total or 0).quantize(Decimal("0.01"))
