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

from sqlalchemy.orm import Session

from saas.analytics.churn import CHUNK_SIZE, BackTest, score_chunks
from saas.models.base import utcnow
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


def outcome(session: Session, as_of: datetime, horizon_days: int,
            chunk_size: int = CHUNK_SIZE) -> BackTestReport:
    """The back-test itself, without the checks of `run` (the nightly job calls it).
    Chunk by chunk of scores (who came back is one more column of the same statement),
    so a million customers are never in memory at once."""
    end = as_of + timedelta(days=horizon_days)
    zero = Decimal("0.00")
    customers = flagged = churned = hits = 0
    caught_by: Counter[str] = Counter()
    value_hit = value_missed = zero
    for chunk in score_chunks(session, as_of, chunk_size, came_back_until=end):
        for s in chunk:
            customers += 1
            flagged += s.at_risk
            if s.came_back:
                continue
            churned += 1
            if s.at_risk:
                hits += 1
                value_hit += s.value_at_stake
                caught_by.update(r["code"] for r in s.reasons if isinstance(r, dict))
            else:
                value_missed += s.value_at_stake
    return BackTestReport(
        BackTest(as_of, horizon_days, customers, flagged, churned, hits),
        dict(sorted(caught_by.items())), value_hit, value_missed)
