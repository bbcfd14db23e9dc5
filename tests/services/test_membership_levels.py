"""Stored membership levels: reaching and losing a level writes one history row and one
`customer.level_changed` event per change, and a refresh with nothing new writes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from saas.extensions import db
from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.models.loyalty import CustomerLevel, LevelChange
from saas.services import loyalty, membership_levels
from saas.timeline import timeline
from tests.services.tiers_world import World, world_fixture

world = world_fixture()


def _changes(customer_id=None) -> list[LevelChange]:
    stmt = select(LevelChange).order_by(LevelChange.created_at, LevelChange.id)
    if customer_id is not None:
        stmt = stmt.where(LevelChange.customer_id == customer_id)
    return list(db.session.scalars(stmt))


def _events() -> list[dict]:
    return [e.payload for e in db.session.scalars(
        select(OutboxEvent).where(OutboxEvent.name == "customer.level_changed")
        .order_by(OutboxEvent.created_at, OutboxEvent.id))]


def _level(world, name, basis, threshold, window_months=12):
    return loyalty.create_level(db.session, world.actor, {
        "name": name, "basis": basis, "threshold": threshold,
        "window_months": window_months})


def test_reaching_a_level_by_points_is_stored_recorded_and_emitted_once(world):
    _level(world, "Silver", "points", 300)
    _level(world, "Gold", "points", 5000)
    c = world.customer()
    world.order(c, "250")  # 250 earned, then the retail first-order bonus of 100
    db.session.commit()
    stored = membership_levels.current_level(db.session, c.id)
    assert stored is not None and stored.level_name == "Silver"
    [change] = _changes(c.id)
    assert (change.from_level, change.to_level, change.reason, change.basis,
            change.value, change.threshold, change.window_months) == \
        (None, "Silver", "reached", "points", Decimal("350.00"), 300, 12)
    assert _events() == [{"customer_id": str(c.id), "from": None, "to": "Silver",
                          "why": {"reason": "reached", "basis": "points", "value": "350.00",
                                  "threshold": 300, "window_months": 12}}]
    assert loyalty.membership(db.session, c.id).level.name == "Silver"


def test_reaching_a_level_by_spend_and_dropping_out_when_the_window_moves(world):
    _level(world, "Loyal", "spend", 1000, window_months=12)  # 360 days
    c = world.customer()
    world.order(c, "600", days_ago=100)
    world.order(c, "500", days_ago=300)
    db.session.commit()
    assert membership_levels.current_level(db.session, c.id).level_name == "Loyal"
    assert [(ch.from_level, ch.to_level, ch.reason, ch.value) for ch in _changes(c.id)] == \
        [(None, "Loyal", "reached", Decimal("1100.00"))]

    later = utcnow() + timedelta(days=70)  # the 300-day-old order leaves the window
    assert membership_levels.refresh(db.session, now=later) == 1
    db.session.commit()
    assert membership_levels.current_level(db.session, c.id) is None
    dropped = _changes(c.id)[-1]
    assert (dropped.from_level, dropped.to_level, dropped.reason, dropped.basis,
            dropped.value, dropped.threshold) == \
        ("Loyal", None, "dropped", "spend", Decimal("600.00"), 1000)
    assert [(e["from"], e["to"], e["why"]["reason"]) for e in _events()] == \
        [(None, "Loyal", "reached"), ("Loyal", None, "dropped")]


def test_running_the_refresh_again_changes_nothing(world):
    _level(world, "Silver", "points", 300)
    a, b = world.customer("A"), world.customer("B")
    world.order(a, "400")
    world.order(b, "10")
    db.session.commit()
    assert membership_levels.refresh(db.session) == 0
    assert membership_levels.refresh(db.session, [a.id, b.id]) == 0
    db.session.commit()
    assert len(_changes()) == 1 and len(_events()) == 1
    assert db.session.scalar(select(func.count()).select_from(CustomerLevel)) == 1


def test_only_the_change_is_written_when_a_customer_moves_up(world):
    _level(world, "Silver", "points", 300)
    c = world.customer()
    world.order(c, "250")
    db.session.commit()
    _level(world, "Gold", "points", 1000)  # nobody qualifies yet: nothing written
    assert len(_changes(c.id)) == 1
    world.order(c, "700")
    db.session.commit()
    assert [(ch.from_level, ch.to_level, ch.reason) for ch in _changes(c.id)] == \
        [(None, "Silver", "reached"), ("Silver", "Gold", "reached")]
    assert len(_events()) == 2


def test_creating_and_deleting_a_level_moves_its_members_at_once(world):
    c = world.customer()
    world.order(c, "250")
    db.session.commit()
    assert _changes(c.id) == []
    silver = _level(world, "Silver", "points", 300)
    assert membership_levels.current_level(db.session, c.id).level_name == "Silver"
    loyalty.delete_level(db.session, world.actor, silver.id)
    db.session.commit()
    assert membership_levels.current_level(db.session, c.id) is None
    assert [(ch.from_level, ch.to_level, ch.reason) for ch in _changes(c.id)] == \
        [(None, "Silver", "reached"), ("Silver", None, "level_removed")]
    assert len(_events()) == 2


def test_a_refresh_for_some_customers_leaves_the_others_alone(world):
    c, other = world.customer("A"), world.customer("B")
    world.order(c, "250")
    world.order(other, "250")
    db.session.commit()
    db.session.add(loyalty.MembershipLevel(name="Silver", basis="points", threshold=300,
                                           window_months=12, benefits=""))
    db.session.flush()
    assert membership_levels.refresh(db.session, [c.id]) == 1
    assert membership_levels.current_level(db.session, other.id) is None


def test_level_changes_are_on_the_timeline(world):
    _level(world, "Silver", "points", 300)
    c = world.customer()
    world.order(c, "250")
    db.session.commit()
    [item] = [i for i in timeline(db.session, c.id) if i.kind == "level"]
    assert item.title == "Level - → Silver"
    assert item.data["reason"] == "reached" and item.data["value"] == "350.00"
    assert all(i.kind != "level" for i in timeline(db.session, c.id, before=item.at))


def test_a_refresh_only_touches_the_bound_tenant(app, make_tenant):
    other = make_tenant(template="retail")
    with app.app_context():
        other.bind()
        w = World(other)
        theirs = w.customer("Other tenant's customer")
        w.order(theirs, "250")  # 350 points there, but that tenant has no levels
        db.session.commit()
        their_id = theirs.id
        db.session.remove()
    mine = make_tenant(template="retail")
    with app.app_context():
        mine.bind()
        _level(World(mine), "Silver", "points", 300)  # refreshes this tenant only
        assert membership_levels.refresh(db.session) == 0
        db.session.commit()
        db.session.remove()
    with app.app_context():
        other.bind()
        assert membership_levels.current_level(db.session, their_id) is None
        assert _changes() == [] and _events() == []
        db.session.remove()
