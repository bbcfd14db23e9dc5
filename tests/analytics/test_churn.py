"""Churn scores and reasons on hand-made customers, and the back-test."""

from __future__ import annotations

from datetime import timedelta

import pytest

from saas.analytics import churn
from saas.extensions import db
from saas.models.base import utcnow
from saas.services import interactions as interaction_service
from saas.services import tickets as ticket_service
from tests.analytics import world


@pytest.fixture
def shop(ctx, make_tenant):
    tenant = make_tenant().bind()
    actor = tenant.owner_actor()
    world.products(actor, "A")
    return tenant, actor


def _words(score):
    return [churn.describe(r) for r in score.reasons]


def test_reasons_read_in_chinese_through_the_catalogue(app):
    from flask_babel import force_locale, gettext

    item = churn.reason("purchase_rhythm", rhythm=30, days=75)
    with app.test_request_context(), force_locale("zh_CN"):
        text = churn.describe(item, gettext)
    assert "30" in text and "75" in text and "bought" not in text
    assert churn.describe("an old stored sentence") == "an old stored sentence"


def _customer_with_orders(actor, name, days_ago):
    now = utcnow()
    c = world.customer(actor, name)
    for d in days_ago:
        world.order(actor, c.id, ["A"], at=now - timedelta(days=d))
    return c


def test_overdue_regular_buyer_is_at_risk_with_the_rhythm_in_words(shop):
    _tenant, actor = shop
    lapsed = _customer_with_orders(actor, "Lapsed", [165, 135, 105, 75])
    steady = _customer_with_orders(actor, "Steady", [70, 40, 10])
    db.session.commit()
    scores = churn.score_customers(db.session, utcnow())
    assert scores[lapsed.id].reasons == [
        {"code": "purchase_rhythm", "params": {"rhythm": 30, "days": 75}}]
    assert _words(scores[lapsed.id]) == ["bought every 30 days, nothing for 75 days"]
    assert scores[lapsed.id].score == pytest.approx(0.8 * 0.75, abs=1e-3)
    assert scores[lapsed.id].at_risk
    assert scores[lapsed.id].value_at_stake == pytest.approx(40)  # 4 orders of 10 in a year
    assert scores[steady.id].reasons == []
    assert scores[steady.id].score == 0
    assert not scores[steady.id].at_risk


def test_falling_interactions_and_complaints_are_reasons(shop):
    _tenant, actor = shop
    c = _customer_with_orders(actor, "Quiet", [40, 20, 5])
    now = utcnow()
    for d in (150, 140, 130, 120, 100, 30):
        interaction_service.log_interaction(db.session, actor, c.id, {
            "channel": "phone", "summary": "call", "occurred_at": now - timedelta(days=d)})
    for i in range(2):
        ticket_service.create_ticket(db.session, actor, {
            "customer_id": str(c.id), "subject": f"Broken {i}", "type": "complaint"})
    db.session.commit()
    s = churn.score_customers(db.session, utcnow() + timedelta(minutes=1))[c.id]
    assert "interactions down 80% vs previous quarter" in _words(s)
    assert "2 complaints in 30 days" in _words(s)
    # 1 - (1 - 0.4*0.8)(1 - 0.5*2/3)
    assert s.score == pytest.approx(1 - (1 - 0.32) * (1 - 0.5 * 2 / 3), abs=1e-3)


def test_customers_without_orders_get_no_score(shop):
    _tenant, actor = shop
    c = world.customer(actor, "Prospect")
    db.session.commit()
    assert c.id not in churn.score_customers(db.session, utcnow())


def test_back_test_counts_churned_customers_flagged_ahead_of_time(shop):
    _tenant, actor = shop
    flagged_churned = _customer_with_orders(actor, "A", [200, 190, 180, 170])
    _customer_with_orders(actor, "B", [120, 90, 60, 20])        # on rhythm, came back
    _customer_with_orders(actor, "C", [110, 100, 90, 30])       # flagged, came back
    _customer_with_orders(actor, "D", [80, 70, 60])             # churned unflagged
    db.session.commit()
    result = churn.back_test(db.session, utcnow() - timedelta(days=50), horizon_days=50)
    assert (result.customers, result.flagged, result.churned,
            result.flagged_and_churned) == (4, 2, 2, 1)
    assert result.recall == 0.5 and result.precision == 0.5
    assert flagged_churned.id in churn.score_customers(
        db.session, utcnow() - timedelta(days=50))


def test_nps_detractor_is_a_reason(shop):
    from saas.services import surveys

    _tenant, actor = shop
    c = _customer_with_orders(actor, "Unhappy", [40, 20, 5])
    survey = surveys.create_survey(db.session, actor, {"name": "NPS", "kind": "nps"})
    inv = surveys.invite(db.session, survey.id, c.id)
    surveys.answer(db.session, inv.token, {survey.questions[0]["id"]: 3})
    db.session.commit()
    s = churn.score_customers(db.session, utcnow() + timedelta(minutes=1))[c.id]
    assert _words(s) == ["NPS detractor (score 3)"]
    # The low score also opened one follow-up complaint ticket (risk 1/3, no reason yet).
    assert s.score == pytest.approx(1 - (1 - 0.4) * (1 - 0.5 / 3), abs=1e-3)


def test_valuable_customer_turning_at_risk_emits_one_event(shop):
    from sqlalchemy import select

    from saas.analytics import refresh
    from saas.models import OutboxEvent

    _tenant, actor = shop
    big = _customer_with_orders(actor, "Big", [165, 135, 105, 75])
    _customer_with_orders(actor, "Small", [20])
    db.session.commit()
    for _ in range(2):  # the second run finds the customer already at risk
        refresh.refresh_churn(db.session)
        db.session.commit()
    events = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "customer.at_risk")).all()
    assert [e.entity_id for e in events] == [str(big.id)]
    assert events[0].payload["reasons"] == [
        {"code": "purchase_rhythm", "params": {"rhythm": 30, "days": 75}}]
