"""The timeline merges every registered source, newest first, and pages by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saas import timeline
from saas.extensions import db
from saas.services import customers, interactions, orders, products

START = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture
def customer(app, make_tenant, monkeypatch):
    timeline.sources()  # loyalty's sources (points, tier changes) are tested with loyalty
    for name in ("points", "tier_changes"):
        monkeypatch.delitem(timeline._SOURCES, name, raising=False)
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        c = customers.create_customer(db.session, actor, {"name": "T"})
        products.create_product(db.session, actor, {"sku": "S", "name": "S", "price": "2"})
        for day in (1, 5):
            orders.place_order(db.session, actor, c.id, {
                "lines": [{"sku": "S"}], "placed_at": (START + timedelta(days=day)).isoformat()})
        for day in (2, 3):
            interactions.log_interaction(db.session, actor, c.id, {
                "channel": "phone", "summary": f"day {day}",
                "occurred_at": (START + timedelta(days=day)).isoformat()})
        db.session.commit()
        yield c
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def extra_source():
    def tickets(session, customer_id, before, limit):
        items = [timeline.TimelineItem(at=START + timedelta(days=d), kind="ticket",
                                       title=f"Ticket {d}", entity_type="ticket",
                                       entity_id=str(d)) for d in (4, 0)]
        return [i for i in items if before is None or i.at < before][:limit]

    timeline.register_source("test_tickets", tickets)
    yield
    timeline.unregister_source("test_tickets")


def test_orders_and_interactions_merge_newest_first(customer):
    items = timeline.timeline(db.session, customer.id)
    assert [(i.kind, i.at.day) for i in items] == [
        ("order", 6), ("interaction", 4), ("interaction", 3), ("order", 2)]


def test_a_registered_source_appears_without_changing_the_page(customer, extra_source):
    items = timeline.timeline(db.session, customer.id)
    assert [i.kind for i in items] == ["order", "ticket", "interaction", "interaction",
                                       "order", "ticket"]
    assert "test_tickets" in timeline.sources()


def test_paging_with_before_continues_where_the_last_page_ended(customer, extra_source):
    first = timeline.timeline(db.session, customer.id, limit=4)
    rest = timeline.timeline(db.session, customer.id, before=first[-1].at, limit=4)
    assert len(first) == 4 and len(rest) == 2
    everything = timeline.timeline(db.session, customer.id, limit=50)
    assert first + rest == everything


def test_the_decorator_registers_by_name():
    @timeline.timeline_source("test_decorated")
    def nothing(session, customer_id, before, limit):
        return []

    try:
        assert timeline.sources()["test_decorated"] is nothing
    finally:
        timeline.unregister_source("test_decorated")
