"""Churn early warning: a score per customer with its reasons in words, and a back-test.

Why rule signals rather than a trained classifier: every tenant starts without labelled
churn, and a manager acting on a warning needs to read *why* ("bought every 30 days,
nothing for 75 days"). Each signal is a risk r ∈ [0, 1] with a weight w; the score is
the chance that at least one signal "fires" if they were independent:

    score = 1 − Π (1 − w·r)

Signals, all computed as of a moment `as_of` from data before it (so the same code
back-tests on history):

- purchase rhythm — overdue ratio g = days since the last order / the customer's average
  gap between orders (a default rhythm with a single order); r = clip((g − 1) / 2, 0, 1),
  a reason once g ≥ 2 (the measures' "at risk" line is 1.5×, "churned" 3×);
- interactions — count in the last 91 days vs the 91 before; r = the relative drop when
  the earlier quarter had at least `MIN_INTERACTIONS` and the drop is ≥ 50%;
- complaints — tickets of type "complaint" opened in the last 30 days (only if the
  service desk's `tickets` table is part of the metadata); r = n/3, a reason from 2;
- NPS — the latest NPS answer in the last year is 0-6, a detractor (only if the
  surveys' tables are part of the metadata).

Each signal is one GROUP BY over the tenant, all joined on the customer in one statement
that the database streams in customer order (`score_chunks`); Python turns each row into
a score.
Reasons are stored as codes with parameters (`{"code": "purchase_rhythm", "params":
{"rhythm": 30, "days": 75}}`) and put into words by `describe` at display time, so the
same stored score reads in English or Chinese.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Select, Subquery, and_, case, func, null, select, text
from sqlalchemy.orm import Session

from saas.models.base import Base
from saas.models.interactions import Interaction
from saas.models.orders import COUNTED_STATUSES, Order

DEFAULT_RHYTHM_DAYS = 90.0
QUARTER_DAYS = 91
MIN_INTERACTIONS = 3
COMPLAINT_DAYS = 30
AT_RISK_SCORE = 0.5
WEIGHTS = {"purchase": 0.8, "interactions": 0.4, "complaints": 0.5, "nps": 0.4}


def N_(text: str) -> str:
    """Mark a message for extraction; it is translated when shown."""
    return text


REASON_TEXTS = {
    "purchase_rhythm": N_("bought every %(rhythm)s days, nothing for %(days)s days"),
    "single_order": N_("one order only, nothing for %(days)s days"),
    "interactions_drop": N_("interactions down %(percent)s%% vs previous quarter"),
    "complaints": N_("%(count)s complaints in %(days)s days"),
    "nps_detractor": N_("NPS detractor (score %(score)s)"),
}


class Translate(Protocol):
    def __call__(self, message: str, **params: Any) -> str: ...


def reason(code: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "params": params}


def describe(item: dict[str, Any] | str, translate: Translate | None = None) -> str:
    """One reason in words: through `translate` (Flask-Babel's `gettext`) for people,
    plain English without it (logs, CLI). A reason stored as a sentence by an older
    version is returned as it is."""
    if isinstance(item, str):
        return item
    template = REASON_TEXTS.get(item.get("code", ""))
    params = item.get("params") or {}
    if template is None:
        return str(item.get("code", ""))
    if translate is not None:
        return translate(template, **params)
    return template % params


@dataclass
class Score:
    customer_id: uuid.UUID
    score: float = 0.0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    value_at_stake: Decimal = Decimal("0.00")
    risks: dict[str, float] = field(default_factory=dict)
    came_back: bool | None = None
    """Back-test only: whether the customer placed a counted order between `as_of` and
    the end of the horizon (None when not asked)."""

    @property
    def at_risk(self) -> bool:
        return self.score >= AT_RISK_SCORE


def _model(table: str) -> Any | None:
    """The mapped class of an optional table owned by another area, or None if that
    area is not installed (its module defines no such table)."""
    if table not in Base.metadata.tables:
        return None
    for mapper in Base.registry.mappers:
        if mapper.local_table is Base.metadata.tables[table]:
            return mapper.class_
    return None


def _aware(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


CHUNK_SIZE = 20_000
"""Customers scored (and, by the job, stored) at a time: the features come from one
statement streamed from the database, so memory holds one chunk whatever the tenant's
size (a dict of a million scores was 1.4 GB)."""


def score_customers(session: Session, as_of: datetime) -> dict[uuid.UUID, Score]:
    """Churn scores of every customer of the bound tenant with an order before `as_of`
    (a customer who never bought cannot churn). For one customer, a small tenant or a
    test; the jobs use `score_chunks`, which never holds the whole tenant."""
    return {s.customer_id: s for chunk in score_chunks(session, as_of) for s in chunk}


def score_chunks(session: Session, as_of: datetime, chunk_size: int = CHUNK_SIZE,
                 came_back_until: datetime | None = None) -> Iterator[list[Score]]:
    """The same scores as `score_customers`, in customer-id order, at most `chunk_size`
    at a time (the ids of a chunk all sort after the previous chunk's). One streamed
    statement, so the tables are read once and aggregated by the database rather than
    once per chunk (orders are stored in time order: a range of customers is spread over
    the whole table). With `came_back_until` each score also says whether the customer
    ordered again from `as_of` to then (`Score.came_back`, for the back-test)."""
    if session.get_bind().dialect.name == "postgresql":
        # A cursor is planned for its first 10% of rows by default, favouring plans
        # that start fast over plans that finish fast; every row is wanted here.
        session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    result = session.execute(_features(as_of, came_back_until),
                             execution_options={"yield_per": chunk_size})
    for rows in result.partitions():
        yield [_score(row, as_of) for row in rows]


def _features(as_of: datetime, came_back_until: datetime | None = None) -> Select:
    """One row per customer with a counted order before `as_of`: the order figures and,
    joined on the customer, the counts each other signal needs (None where it has none)."""
    year_ago = as_of - timedelta(days=365)
    orders = (select(Order.customer_id.label("customer_id"), func.count().label("n"),
                     func.min(Order.placed_at).label("first"),
                     func.max(Order.placed_at).label("last"),
                     func.sum(case((Order.placed_at >= year_ago, Order.total),
                                   else_=0)).label("spend_12m"))
              .where(Order.status.in_(COUNTED_STATUSES), Order.placed_at < as_of)
              .group_by(Order.customer_id).subquery("o"))
    columns: list[Any] = [orders.c.customer_id, orders.c.n, orders.c.first, orders.c.last,
                          orders.c.spend_12m]
    joins = [_interactions(as_of), _complaints(as_of), _nps(as_of),
             _came_back(as_of, came_back_until)]
    stmt_from: Any = orders
    for sub in joins:
        if sub is None:
            continue
        stmt_from = stmt_from.outerjoin(sub, sub.c.customer_id == orders.c.customer_id)
        columns += [c for c in sub.c if c.name != "customer_id"]
    names = {c.name for c in columns}
    columns += [null().label(n) for n in ("recent", "before", "complaints", "nps",
                                          "came_back") if n not in names]
    return select(*columns).select_from(stmt_from).order_by(orders.c.customer_id)


def _score(row: Any, as_of: datetime) -> Score:
    first, last = _aware(row.first), _aware(row.last)
    days_since = (as_of - last).total_seconds() / 86400
    rhythm = ((last - first).total_seconds() / 86400 / (row.n - 1)
              if row.n > 1 else DEFAULT_RHYTHM_DAYS)
    rhythm = max(rhythm, 1.0)
    overdue = days_since / rhythm
    s = Score(row.customer_id, value_at_stake=Decimal(row.spend_12m or 0).quantize(
        Decimal("0.01")))
    if row.came_back is not None:
        s.came_back = bool(row.came_back)
    s.risks["purchase"] = min(max((overdue - 1) / 2, 0.0), 1.0)
    if overdue >= 2:
        if row.n > 1:
            s.reasons.append(reason("purchase_rhythm", rhythm=round(rhythm),
                                    days=int(days_since)))
        else:
            s.reasons.append(reason("single_order", days=int(days_since)))
    if (row.before or 0) >= MIN_INTERACTIONS:
        drop = 1.0 - (row.recent or 0) / row.before
        if drop >= 0.5:
            s.risks["interactions"] = drop
            s.reasons.append(reason("interactions_drop", percent=round(drop * 100)))
    if row.complaints:
        s.risks["complaints"] = min(row.complaints / 3, 1.0)
        if row.complaints >= 2:
            s.reasons.append(reason("complaints", count=int(row.complaints),
                                    days=COMPLAINT_DAYS))
    if row.nps is not None and row.nps <= 6:
        s.risks["nps"] = 1.0
        s.reasons.append(reason("nps_detractor", score=int(row.nps)))
    keep = 1.0
    for name, risk in s.risks.items():
        keep *= 1.0 - WEIGHTS[name] * risk
    s.score = round(1.0 - keep, 4)
    return s


def _interactions(as_of: datetime) -> Subquery:
    """Interactions in the last quarter (`recent`) and the one before (`before`)."""
    recent_from = as_of - timedelta(days=QUARTER_DAYS)
    before_from = recent_from - timedelta(days=QUARTER_DAYS)
    recent = func.sum(case((Interaction.occurred_at >= recent_from, 1), else_=0))
    before = func.sum(case((Interaction.occurred_at < recent_from, 1), else_=0))
    return (select(Interaction.customer_id.label("customer_id"), recent.label("recent"),
                   before.label("before"))
            .where(Interaction.occurred_at >= before_from, Interaction.occurred_at < as_of)
            .group_by(Interaction.customer_id).subquery("i"))


def _came_back(as_of: datetime, until: datetime | None) -> Subquery | None:
    if until is None:
        return None
    return (select(Order.customer_id.label("customer_id"),
                   func.count().label("came_back"))
            .where(Order.status.in_(COUNTED_STATUSES), Order.placed_at >= as_of,
                   Order.placed_at < until)
            .group_by(Order.customer_id).subquery("b"))


def _complaints(as_of: datetime) -> Subquery | None:
    """Complaint tickets opened in the last `COMPLAINT_DAYS` (if the service desk is
    installed)."""
    ticket = _model("tickets")
    if ticket is None:
        return None
    return (select(ticket.customer_id.label("customer_id"),
                   func.count().label("complaints"))
            .where(ticket.type == "complaint",
                   ticket.opened_at >= as_of - timedelta(days=COMPLAINT_DAYS),
                   ticket.opened_at < as_of)
            .group_by(ticket.customer_id).subquery("t"))


def _nps(as_of: datetime) -> Subquery | None:
    """The latest NPS answer in the last year (if surveys are installed)."""
    answer, survey = _model("survey_answers"), _model("surveys")
    if answer is None or survey is None:
        return None
    ranked = (select(answer.customer_id, answer.score,
                     func.row_number().over(partition_by=answer.customer_id,
                                            order_by=answer.answered_at.desc()).label("rn"))
              .join(survey, and_(survey.tenant_id == answer.tenant_id,
                                 survey.id == answer.survey_id))
              .where(survey.kind == "nps", answer.score.is_not(None),
                     answer.answered_at >= as_of - timedelta(days=365),
                     answer.answered_at < as_of)
              .subquery("ranked"))
    return (select(ranked.c.customer_id.label("customer_id"), ranked.c.score.label("nps"))
            .where(ranked.c.rn == 1).subquery("n"))


@dataclass(frozen=True)
class BackTest:
    as_of: datetime
    horizon_days: int
    customers: int
    """Customers with an order before `as_of`."""
    flagged: int
    churned: int
    """Of those, customers with no counted order in [as_of, as_of + horizon)."""
    flagged_and_churned: int

    @property
    def recall(self) -> float | None:
        """Share of the customers who churned that were flagged ahead of time."""
        return self.flagged_and_churned / self.churned if self.churned else None

    @property
    def precision(self) -> float | None:
        return self.flagged_and_churned / self.flagged if self.flagged else None

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "horizon_days": self.horizon_days,
                "customers": self.customers, "flagged": self.flagged,
                "churned": self.churned, "flagged_and_churned": self.flagged_and_churned,
                "recall": self.recall, "precision": self.precision}


def back_test(session: Session, as_of: datetime, horizon_days: int = 180) -> BackTest:
    """Score the tenant as it was at `as_of`, then look at what happened next: a customer
    churned if they placed no counted order in the `horizon_days` after `as_of`
    (`saas.analytics.backtest` has the details)."""
    from saas.analytics import backtest

    return backtest.outcome(session, as_of, horizon_days).summary
