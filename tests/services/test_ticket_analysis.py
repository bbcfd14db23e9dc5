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



def test_trend_has_every_period_and_a_series_per_cause(world):
    rows = ticket_analysis.causes_over_time(db.session, date(2026, 11, 1),
                                            date(2026, 12, 13), "week")
    data = ticket_analysis.trend(rows, date(2026, 11, 1), date(2026, 12, 13), "week")
    # 1 Nov 2026 is a Sunday (ISO week 44); 13 Dec a Sunday (week 50).
    assert data["periods"] == [f"2026-W{w}" for w in range(44, 51)]
    assert [s["cause"] for s in data["series"]] == ["Delivery", "(none)", "Billing"]
    assert data["series"][0]["counts"] == [0, 0, 0, 0, 3, 0, 0]     # 24 Nov: week 48
    monthly = ticket_analysis.summary(db.session, date(2026, 10, 15), date(2027, 1, 2))
    assert monthly["trend"]["periods"] == ["2026-10", "2026-11", "2026-12", "2027-01"]
    assert monthly["trend"]["series"][0]["counts"] == [0, 3, 0, 0]
    with pytest.raises(InvalidInput) as exc:
        ticket_analysis.summary(db.session, date(2026, 11, 1), date(2026, 11, 30), "day")
    assert "bucket" in exc.value.errors


def test_csv_of_pareto_and_trend_neutralises_formulas(world):
    _tenant, actor = world
    tickets.set_causes(db.session, actor, ["=HYPERLINK(1)", "Delivery", "Billing"])
    c = customers.create_customer(db.session, actor, {"name": "Wang"})
    with time_machine.travel(TUESDAY_10, tick=False):
        tickets.create_ticket(db.session, actor, {"customer_id": c.id, "subject": "x",
                                                  "cause": "=HYPERLINK(1)"})
    since, until = date(2026, 11, 1), date(2026, 11, 30)
    text = ticket_analysis.pareto_csv(ticket_analysis.pareto(db.session, since, until))
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == "cause,tickets,share,cumulative"
    assert lines[1] == "Delivery,3,0.5,0.5"
    assert "'=HYPERLINK(1),1," in text and "\n=HYPERLINK" not in text
    data = ticket_analysis.summary(db.session, since, until)["trend"]
    assert ticket_analysis.trend_csv(data).lstrip("\ufeff").splitlines() == [
        "period,Delivery,(none),'=HYPERLINK(1),Billing", "2026-11,3,1,1,1"]
