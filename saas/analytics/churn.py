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

Each signal is one GROUP BY query over the tenant; Python only merges them per customer.
Reasons are stored as codes with parameters (`{"code": "purchase_rhythm", "params":
{"rhythm": 30, "days": 75}}`) and put into words by `describe` at display time, so the
same stored score reads in English or Chinese.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import and_, case, func, select
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


def score_customers(session: Session, as_of: datetime) -> dict[uuid.UUID, Score]:
    """Churn scores of every customer of the bound tenant with an order before `as_of`
    (a customer who never bought cannot churn)."""
    scores: dict[uuid.UUID, Score] = {}
    year_ago = as_of - timedelta(days=365)
    stmt = (select(Order.customer_id, func.count().label("n"),
                   func.min(Order.placed_at).label("first"),
                   func.max(Order.placed_at).label("last"),
                   func.sum(case((Order.placed_at >= year_ago, Order.total),
                                 else_=0)).label("spend_12m"))
            .where(Order.status.in_(COUNTED_STATUSES), Order.placed_at < as_of)
            .group_by(Order.customer_id))
    for row in session.execute(stmt):
        first, last = _aware(row.first), _aware(row.last)
        days_since = (as_of - last).total_seconds() / 86400
        rhythm = ((last - first).total_seconds() / 86400 / (row.n - 1)
                  if row.n > 1 else DEFAULT_RHYTHM_DAYS)
        rhythm = max(rhythm, 1.0)
        overdue = days_since / rhythm
        s = Score(row.customer_id, value_at_stake=Decimal(row.spend_12m or 0).quantize(
            Decimal("0.01")))
        s.risks["purchase"] = min(max((overdue - 1) / 2, 0.0), 1.0)
        if overdue >= 2:
            if row.n > 1:
                s.reasons.append(reason("purchase_rhythm", rhythm=round(rhythm),
                                        days=int(days_since)))
            else:
                s.reasons.append(reason("single_order", days=int(days_since)))
        scores[row.customer_id] = s
    if not scores:
        return scores
    _interactions(session, as_of, scores)
    _complaints(session, as_of, scores)
    _nps(session, as_of, scores)
    for s in scores.values():
        keep = 1.0
        for name, risk in s.risks.items():
            keep *= 1.0 - WEIGHTS[name] * risk
        s.score = round(1.0 - keep, 4)
    return scores


def _interactions(session: Session, as_of: datetime, scores: dict[uuid.UUID, Score]) -> None:
    recent_from = as_of - timedelta(days=QUARTER_DAYS)
    before_from = recent_from - timedelta(days=QUARTER_DAYS)
    recent = func.sum(case((Interaction.occurred_at >= recent_from, 1), else_=0))
    before = func.sum(case((Interaction.occurred_at < recent_from, 1), else_=0))
    stmt = (select(Interaction.customer_id, recent.label("recent"), before.label("before"))
            .where(Interaction.occurred_at >= before_from, Interaction.occurred_at < as_of)
            .group_by(Interaction.customer_id))
    for row in session.execute(stmt):
        s = scores.get(row.customer_id)
        if s is None or (row.before or 0) < MIN_INTERACTIONS:
            continue
        drop = 1.0 - (row.recent or 0) / row.before
        if drop >= 0.5:
            s.risks["interactions"] = drop
            s.reasons.append(reason("interactions_drop", percent=round(drop * 100)))


def _complaints(session: Session, as_of: datetime, scores: dict[uuid.UUID, Score]) -> None:
    ticket = _model("tickets")
    if ticket is None:
        return
    stmt = (select(ticket.customer_id, func.count().label("n"))
            .where(ticket.type == "complaint",
                   ticket.opened_at >= as_of - timedelta(days=COMPLAINT_DAYS),
                   ticket.opened_at < as_of)
            .group_by(ticket.customer_id))
    for row in session.execute(stmt):
        s = scores.get(row.customer_id)
        if s is None:
            continue
        s.risks["complaints"] = min(row.n / 3, 1.0)
        if row.n >= 2:
            s.reasons.append(reason("complaints", count=int(row.n), days=COMPLAINT_DAYS))


def _nps(session: Session, as_of: datetime, scores: dict[uuid.UUID, Score]) -> None:
    answer, survey = _model("survey_answers"), _model("surveys")
    if answer is None or survey is None:
        return
    ranked = (select(answer.customer_id, answer.score,
                     func.row_number().over(partition_by=answer.customer_id,
                                            order_by=answer.answered_at.desc()).label("rn"))
              .join(survey, and_(survey.tenant_id == answer.tenant_id,
                                 survey.id == answer.survey_id))
              .where(survey.kind == "nps", answer.score.is_not(None),
                     answer.answered_at >= as_of - timedelta(days=365),
                     answer.answered_at < as_of)
              .subquery())
    stmt = select(ranked.c.customer_id, ranked.c.score).where(ranked.c.rn == 1)
    for row in session.execute(stmt):
        s = scores.get(row.customer_id)
        if s is not None and row.score <= 6:
            s.risks["nps"] = 1.0
            s.reasons.append(reason("nps_detractor", score=int(row.score)))


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
