"""(x, t_x, T, m̄) per customer extracted from the orders table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from saas.analytics import clv
from saas.extensions import db
from saas.models.base import utcnow
from saas.services import orders as order_service
from tests.analytics import world


def test_summary_counts_repeat_orders_in_weeks_and_repeat_spend(ctx, make_tenant):
    tenant = make_tenant().bind()
    actor = tenant.owner_actor()
    world.products(actor, "A")
    now = utcnow()
    c = world.customer(actor, "Regular")
    world.order(actor, c.id, ["A"], at=now - timedelta(days=70), price="100.00")
    world.order(actor, c.id, ["A"], at=now - timedelta(days=42), price="30.00")
    world.order(actor, c.id, ["A"], at=now - timedelta(days=14), price="50.00")
    refunded = world.order(actor, c.id, ["A"], at=now - timedelta(days=7), price="999.00")
    order_service.set_status(db.session, actor, refunded.id, "cancelled")
    once = world.customer(actor, "Once")
    world.order(actor, once.id, ["A"], at=now - timedelta(days=21))
    world.customer(actor, "Never")
    db.session.commit()

    s = clv.customer_summary(db.session, now, currency=None)
    rows = dict(zip(s.customer_ids, zip(s.x, s.t_x, s.T, s.monetary, strict=True),
                    strict=True))
    assert set(rows) == {c.id, once.id}  # a customer without orders has no history
    x, t_x, T, m = rows[c.id]  # noqa: N806
    assert (x, t_x, T, m) == (2, pytest.approx(8.0), pytest.approx(10.0), pytest.approx(40.0))
    assert rows[once.id] == (0, 0, pytest.approx(3.0), 0)


def test_summary_ignores_orders_after_the_cut_off(ctx, make_tenant):
    tenant = make_tenant().bind()
    actor = tenant.owner_actor()
    world.products(actor, "A")
    now = utcnow()
    c = world.customer(actor, "Regular")
    for d in (70, 42, 14):
        world.order(actor, c.id, ["A"], at=now - timedelta(days=d))
    db.session.commit()
    s = clv.customer_summary(db.session, now - timedelta(days=28))
    assert (s.x[0], s.t_x[0], s.T[0]) == (1, pytest.approx(4.0), pytest.approx(6.0))
