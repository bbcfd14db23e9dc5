"""Compute the demo tenant's dashboard, so the managers' home shows every chart at once.

Runs last (ORDER 900): it only summarises what the other generators made (customers with
two years of orders, tickets, surveys, campaigns), as the scheduled job would, with a
full rebuild so the history is there from the start.
"""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from saas.analytics import dashboard
from saas.models import Staff, Tenant

ORDER = 900


def generate(session: Session, tenant: Tenant, staff: list[Staff], rng: random.Random,
             size: int) -> None:
    dashboard.refresh(session, full=True)
