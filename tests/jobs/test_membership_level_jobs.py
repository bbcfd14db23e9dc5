"""The nightly loyalty job refreshes stored membership levels: a level is lost when its
window moves past the points, with no new activity; a second run changes nothing."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.queue import enqueue
from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.models.loyalty import LevelChange
from saas.services import loyalty, membership_levels
from tests.services.tiers_world import World


def _state(app, tenant, customer_id):
    with app.app_context():
        tenant.bind()
        stored = membership_levels.current_level(db.session, customer_id)
        changes = [(c.from_level, c.to_level, c.reason) for c in db.session.scalars(
            select(LevelChange).order_by(LevelChange.created_at))]
        events = len(db.session.scalars(select(OutboxEvent.id).where(
            OutboxEvent.name == "customer.level_changed")).all())
        db.session.remove()
    return (stored.level_name if stored else None), changes, events


def test_nightly_loyalty_job_drops_a_level_when_the_window_moves(app, make_tenant):
    tenant = make_tenant(template="retail")
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        loyalty.create_level(db.session, w.actor, {"name": "Silver", "basis": "points",
                                                   "threshold": 300, "window_months": 12})
        c = w.customer("Saver")
        w.order(c, "250")  # 250 earned + 100 first-order bonus
        db.session.commit()
        cid = c.id
        db.session.remove()
    assert _state(app, tenant, cid) == ("Silver", [(None, "Silver", "reached")], 1)
    with app.app_context():
        enqueue("saas.jobs.loyalty:nightly", tenant.id)  # nothing moved yet
    assert _state(app, tenant, cid)[2] == 1
    with time_machine.travel(utcnow() + timedelta(days=370), tick=False), app.app_context():
        enqueue("saas.jobs.loyalty:nightly", tenant.id)
        enqueue("saas.jobs.loyalty:nightly", tenant.id)  # again: no second change
    assert _state(app, tenant, cid) == (
        None, [(None, "Silver", "reached"), ("Silver", None, "dropped")], 2)
