"""Chunked churn scoring gives exactly what scoring the whole tenant at once gives: the
scores, the stored rows, the at-risk events and the back-test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from saas.analytics import backtest, churn, refresh
from saas.extensions import db
from saas.models import OutboxEvent
from saas.models.analytics import ChurnScore
from saas.models.base import utcnow
from saas.services import interactions as interaction_service
from saas.services import orders as order_service
from saas.services import tickets as ticket_service
from tests.analytics import world

CHUNK = 4
HISTORIES = [  # days ago of each customer's orders (10.00 each, or the price given)
    [165, 135, 105, 75], [70, 40, 10], [300], [20], [200, 190, 180, 170],
    [120, 90, 60, 20], [110, 100, 90, 30], [80, 70, 60], [400, 380, 360, 100],
    [45, 44, 43], [365, 200], [15, 14, 13, 12, 11],
]


@pytest.fixture
def shop(ctx, make_tenant):
    """Twelve buyers (three chunks of four), one prospect, one buyer whose interactions
    fell, one with two complaints; and another tenant's lapsed buyer, never scored here."""
    other = make_tenant().bind()
    world.products(other.owner_actor(), "A")
    stranger = world.customer(other.owner_actor(), "Stranger")
    for d in (165, 135, 105, 75):
        world.order(other.owner_actor(), stranger.id, ["A"], at=utcnow() - timedelta(days=d))
    stranger_id = stranger.id
    db.session.commit()
    tenant = make_tenant().bind()
    actor = tenant.owner_actor()
    world.products(actor, "A")
    now = utcnow()
    buyers = []
    for i, days in enumerate(HISTORIES):
        c = world.customer(actor, f"Buyer {i}")
        for d in days:
            world.order(actor, c.id, ["A"], at=now - timedelta(days=d),
                        price="250.00" if i % 3 == 0 else None)
        buyers.append(c)
    world.customer(actor, "Prospect")
    for d in (150, 140, 130, 120, 100, 30):
        interaction_service.log_interaction(db.session, actor, buyers[1].id, {
            "channel": "phone", "summary": "call", "occurred_at": now - timedelta(days=d)})
    for i in range(2):
        ticket_service.create_ticket(db.session, actor, {
            "customer_id": str(buyers[9].id), "subject": f"Broken {i}", "type": "complaint"})
    db.session.commit()
    return tenant, actor, buyers, stranger_id


def _plain(scores):
    return {s.customer_id: (s.score, s.reasons, s.value_at_stake, s.risks) for s in scores}


def test_chunks_hold_the_same_scores_as_the_whole_tenant(shop):
    _tenant, _actor, buyers, stranger = shop
    as_of = utcnow() + timedelta(minutes=1)
    whole = churn.score_customers(db.session, as_of)
    chunks = list(churn.score_chunks(db.session, as_of, chunk_size=CHUNK))
    assert [len(c) for c in chunks] == [4, 4, 4]
    ids = [s.customer_id for c in chunks for s in c]
    assert ids == sorted(ids)  # each chunk's ids sort after the previous chunk's
    assert _plain(s for c in chunks for s in c) == _plain(whole.values())
    assert set(whole) == {b.id for b in buyers} and stranger not in whole
    assert any(s.at_risk for s in whole.values()) and any(
        not s.at_risk for s in whole.values())
    reasons = {r["code"] for s in whole.values() for r in s.reasons}
    assert {"purchase_rhythm", "single_order", "interactions_drop", "complaints"} <= reasons


def _stored():
    scores = {r.id: (r.score, r.at_risk, r.reasons, r.value_at_stake, r.computed_at)
              for r in db.session.scalars(select(ChurnScore))}
    events = sorted((e.entity_id, e.payload["score"], e.payload["reasons"],
                     e.payload["value_at_stake"], e.status)
                    for e in db.session.scalars(select(OutboxEvent).where(
                        OutboxEvent.name == "customer.at_risk")))
    return scores, events


def test_chunked_refresh_stores_and_emits_what_one_chunk_does(shop):
    _tenant, _actor, buyers, _stranger = shop
    now = utcnow()
    whole = refresh.refresh_churn(db.session, now)
    expected = _stored()
    db.session.rollback()
    assert _stored() == ({}, [])
    chunked = refresh.refresh_churn(db.session, now, chunk_size=CHUNK)
    assert chunked == whole
    assert _stored() == expected
    db.session.commit()  # jobs run inline: each event is delivered after the commit
    assert {e[4] for e in _stored()[1]} == {"delivered"}
    assert whole["customers"] == len(buyers) and whole["events"] >= 2
    # Events go to valuable customers only: the top quarter by 12-month spend.
    big = {str(b.id) for i, b in enumerate(buyers) if i % 3 == 0}
    assert {e[0] for e in expected[1]} <= big


def _at_risk_events() -> list[str]:
    return [e.entity_id for e in db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "customer.at_risk"))]


def test_chunked_rerun_replaces_every_range_and_emits_only_for_newly_at_risk(shop):
    _tenant, actor, buyers, _stranger = shop
    refresh.refresh_churn(db.session, chunk_size=CHUNK)
    db.session.commit()
    first = set(_at_risk_events())
    assert {str(buyers[0].id), str(buyers[9].id)} <= first
    # Buyer 5, in the middle of the second chunk, has every order refunded: no score.
    for order in db.session.scalars(order_service.list_orders(db.session, buyers[5].id)):
        order_service.refund_order(db.session, actor, order.id)
    db.session.commit()
    # Forty days on, buyer 6 (every 27 days, last 30 days ago; valuable) is overdue.
    later = utcnow() + timedelta(days=40)
    result = refresh.refresh_churn(db.session, later, chunk_size=CHUNK)
    db.session.commit()
    scores, _events = _stored()
    assert buyers[5].id not in scores and len(scores) == len(buyers) - 1
    assert {v[4] for v in scores.values()} == {later}
    assert scores[buyers[6].id][1] is True
    events = _at_risk_events()
    assert len(events) == len(first) + result["events"]
    assert len(events) == len(set(events))  # buyers 0 and 9, still at risk: not again
    assert str(buyers[6].id) in set(events) - first


def test_chunked_back_test_matches_the_whole_tenant(shop):
    as_of = utcnow() - timedelta(days=50)
    whole = backtest.outcome(db.session, as_of, 50, chunk_size=churn.CHUNK_SIZE)
    chunked = backtest.outcome(db.session, as_of, 50, chunk_size=3)
    assert chunked.as_dict() == whole.as_dict()
    assert whole.summary.customers > 3 and whole.summary.churned > 0
    assert whole.summary.flagged_and_churned > 0
