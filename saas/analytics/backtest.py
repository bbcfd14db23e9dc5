"""Back-test of the churn early warning: would it have warned us in time?

Score the tenant as it was at a past moment `as_of` (the signals only read data before
it), then look at the `horizon_days` after it: a customer *churned* if they placed no
counted order in that window. Recall is the share of churned customers that were flagged
ahead of time, precision the share of flagged customers that did churn. `caught_by`
counts, per reason code, the churned customers it flagged (a customer can have several),
and the value figures weigh the hits and the misses by 12-month spend before `as_of`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.analytics.churn import BackTest, score_customers
from saas.models.base import utcnow
from saas.models.orders import COUNTED_STATUSES, Order
from saas.services.errors import InvalidInput

MIN_HORIZON_DAYS, MAX_HORIZON_DAYS = 7, 730


@dataclass(frozen=True)
class BackTestReport:
    summary: BackTest
    caught_by: dict[str, int]
    value_flagged_and_churned: Decimal
    value_missed: Decimal
    """12-month spend of churned customers that were not flagged."""

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary.as_dict(), "caught_by": self.caught_by,
                "value_flagged_and_churned": self.value_flagged_and_churned,
                "value_missed": self.value_missed}


def run(session: Session, as_of: datetime | None = None, horizon_days: int = 180,
        now: datetime | None = None) -> BackTestReport:
    """Back-test the bound tenant; `as_of` defaults to `horizon_days` before now, and
    the whole horizon must lie in the past (otherwise "churned" is not known yet)."""
    now = now or utcnow()
    if not MIN_HORIZON_DAYS <= horizon_days <= MAX_HORIZON_DAYS:
        raise InvalidInput.field("horizon_days", "Choose 7 to 730 days.")
    as_of = as_of or now - timedelta(days=horizon_days)
    if as_of + timedelta(days=horizon_days) > now + timedelta(minutes=1):
        raise InvalidInput.field("as_of", "The date plus the horizon must be in the past.")
    return outcome(session, as_of, horizon_days)


def outcome(session: Session, as_of: datetime, horizon_days: int) -> BackTestReport:
    """The back-test itself, without the checks of `run` (the nightly job calls it)."""
    scores = score_customers(session, as_of)
    came_back = set(session.scalars(
        select(Order.customer_id).where(
            Order.status.in_(COUNTED_STATUSES), Order.placed_at >= as_of,
            Order.placed_at < as_of + timedelta(days=horizon_days)).distinct()))
    churned = {cid for cid in scores if cid not in came_back}
    flagged = {cid for cid, s in scores.items() if s.at_risk}
    hits = flagged & churned
    caught_by = Counter(r["code"] for cid in hits for r in scores[cid].reasons
                        if isinstance(r, dict))
    zero = Decimal("0.00")
    return BackTestReport(
        BackTest(as_of, horizon_days, len(scores), len(flagged), len(churned), len(hits)),
        dict(sorted(caught_by.items())),
        sum((scores[c].value_at_stake for c in hits), zero),
        sum((scores[c].value_at_stake for c in churned - flagged), zero))
