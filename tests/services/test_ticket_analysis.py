"""Cause analysis: Pareto, causes per month, times by agent and cause, reopen rate."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from saas.extensions import db
from saas.services import customers, ticket_analysis, tickets
from saas.services.errors import InvalidInput

SH = ZoneInfo("Asia/Shanghai")
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=SH)


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        c = customers.create_customer(db.session, actor, {"name": "Li"})
        made = []
        with time_machine.travel(TUESDAY_10, tick=False):
            for cause in ("Delivery", "Delivery", "Delivery", "Billing", None):
                made.append(tickets.create_ticket(db.session, actor, {
                    "customer_id": c.id, "subject": "x", "cause": cause,
                    "owner_id": tenant.owner_id}))
        with time_machine.travel(TUESDAY_10 + timedelta(hours=2), tick=False):
            tickets.add_message(db.session, actor, made[0].id, "reply", "hi")
            tickets.change_status(db.session, actor, made[0].id, "resolved")
            tickets.change_status(db.session, actor, made[1].id, "resolved")
            tickets.change_status(db.session, actor, made[1].id, "reopened")
        db.session.commit()
        yield tenant, actor
        db.session.rollback()
        db.session.remove()


def test_pareto_orders_causes_with_cumulative_share(world):
    rows = ticket_analysis.pareto(db.session, date(2026, 11, 1), date(2026, 11, 30))
    assert [(r["cause"], r["count"], r["cumulative"]) for r in rows] == [
        ("Delivery", 3, 0.6), ("(none)", 1, 0.8), ("Billing", 1, 1.0)]


def test_causes_per_month_and_empty_periods(world):
    rows = ticket_analysis.causes_over_time(db.session, date(2026, 11, 1), date(2026, 12, 31))
    assert {"period": "2026-11", "cause": "Delivery", "count": 3} in rows
    assert ticket_analysis.pareto(db.session, date(2026, 12, 1), date(2026, 12, 31)) == []
    with pytest.raises(InvalidInput):
        ticket_analysis.causes_over_time(db.session, date(2026, 12, 1), date(2026, 11, 1))


def test_times_in_business_hours_and_reopen_rate(world):
    [agent] = ticket_analysis.times(db.session, date(2026, 11, 1), date(2026, 11, 30))
    assert agent["tickets"] == 5
    assert agent["avg_first_response_hours"] == 2.0
    assert agent["avg_resolution_hours"] == 2.0
    by_cause = {r["key"]: r for r in ticket_analysis.times(
        db.session, date(2026, 11, 1), date(2026, 11, 30), by="cause")}
    assert by_cause["Delivery"]["tickets"] == 3
    assert ticket_analysis.reopen_rate(db.session, date(2026, 11, 1), date(2026, 11, 30)) == {
        "resolved": 2, "reopened": 1, "rate": 0.5}

