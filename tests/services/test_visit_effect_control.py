"""The visit report's control group: customers of the plan's tier not visited in the
period, measured around the period's midpoint, and the difference-in-differences."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine
from sqlalchemy import select

from saas.extensions import db
from saas.models.visits import VisitTask
from saas.services import products, visits
from tests.services.test_visits import SH, TODAY, _customer, _order, world  # noqa: F401

SINCE, UNTIL = date(2026, 11, 10), date(2026, 12, 9)
"""Nov 10 00:00 to Dec 10 00:00 Shanghai time: the midpoint is Nov 25 00:00 (+08:00)."""
D = Decimal


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=SH)


def build(world):  # noqa: F811
    """Tier A: v1, v2 visited on Nov 24; n1, n2 not. Tier B: b1 visited, nb not."""
    _t, actor, by_name = world
    return build_with(actor, by_name)


def build_in_app(app, tenant) -> None:
    """The same world for web and API tests (committed, session removed)."""
    from saas.services import tiers

    with app.app_context():
        tenant.bind()
        build_with(tenant.owner_actor(), {t.name: t for t in tiers.list_tiers(db.session)})
        db.session.remove()


def build_with(actor, by_name) -> dict:
    people = {name: _customer(actor, by_name, tier, name=name)
              for name, tier in (("v1", "A"), ("v2", "A"), ("n1", "A"), ("n2", "A"),
                                 ("b1", "B"), ("nb", "B"))}
    visits.generate(db.session, today=TODAY)
    tasks = {t.customer_id: t for t in db.session.scalars(select(VisitTask))}
    with time_machine.travel(datetime(2026, 11, 24, 12, 0, tzinfo=SH), tick=False):
        for name in ("v1", "v2", "b1"):
            visits.record_visit(db.session, actor, tasks[people[name].id].id,
                                {"outcome": "Renewed", "rating": 4})
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=SH), tick=False):
        tea = products.create_product(db.session, actor, {"sku": "T", "name": "Tea",
                                                          "price": "1"})
        for name, when, price in (
                ("v1", at(11, 10), "100"), ("v1", at(11, 30), "200"),   # +100
                ("v2", at(11, 20), "30"),                               # -30
                ("n1", at(10, 20), "999"),   # before Oct 26 00:00: outside the window
                ("n1", at(11, 1), "50"), ("n1", at(12, 1), "70"),       # +20
                ("n2", at(12, 20), "10"),                               # +10
                ("n2", at(12, 28), "500"),   # after Dec 25 00:00: outside the window
                ("b1", at(12, 1), "40")):                               # +40
            _order(actor, people[name], tea, when, price)
    db.session.commit()
    return people


def _plan(report, tier):
    [row] = [r for r in report["by_plan"] if r["tier"] == tier]
    return row


def test_difference_in_differences_against_the_unvisited_customers_of_the_tier(world):  # noqa: F811
    build(world)
    report = visits.purchase_effect(db.session, SINCE, UNTIL, 30)
    assert report["control_reference_at"] == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    a = _plan(report, "A")
    # Visited: 2 visits, spend 130 → 200 (+70, +35.00 a visit), orders 2 → 1 (-0.5).
    assert (a["visits"], a["spend_before"], a["spend_after"], a["spend_change_per_visit"],
            a["orders_change_per_visit"]) == (2, D("130.00"), D("200.00"), D("35.00"), -0.5)
    # Control: n1 and n2, spend 50 → 80 (+15.00 a customer), orders 1 → 2 (+0.5).
    assert (a["control_customers"], a["control_orders_before"], a["control_orders_after"],
            a["control_spend_before"], a["control_spend_after"],
            a["control_spend_change_per_customer"],
            a["control_orders_change_per_customer"]) == (
        2, 1, 2, D("50.00"), D("80.00"), D("15.00"), 0.5)
    assert (a["did_spend"], a["did_orders"]) == (D("20.00"), -1.0)
    b = _plan(report, "B")
    assert (b["control_customers"], b["control_spend_change_per_customer"],
            b["did_spend"], b["did_orders"]) == (1, D("0.00"), D("40.00"), 1.0)


def test_a_shorter_window_changes_both_groups_alike(world):  # noqa: F811
    build(world)
    a = _plan(visits.purchase_effect(db.session, SINCE, UNTIL, 7), "A")
    # Visited, 7 days either side of Nov 24 noon: v2's 30 before, v1's 200 after
    # (+170, 85.00 a visit). Control, 7 days either side of Nov 25 00:00: n1's 70 on
    # Dec 1 after (+70, 35.00 a customer).
    assert (a["spend_change_per_visit"], a["control_customers"],
            a["control_spend_change_per_customer"], a["did_spend"]) == (
        D("85.00"), 2, D("35.00"), D("50.00"))


def test_without_unvisited_customers_there_is_no_difference_in_differences(world):  # noqa: F811
    _t, actor, by_name = world
    only = _customer(actor, by_name, "A", name="only")
    visits.generate(db.session, today=TODAY)
    [task] = db.session.scalars(select(VisitTask)).all()
    with time_machine.travel(datetime(2026, 11, 24, 12, 0, tzinfo=SH), tick=False):
        visits.record_visit(db.session, actor, task.id, {"outcome": "Renewed", "rating": 5})
    a = _plan(visits.purchase_effect(db.session, SINCE, UNTIL, 30), "A")
    assert only.id == task.customer_id
    assert (a["visits"], a["control_customers"], a["did_spend"], a["did_orders"]) == (
        1, 0, None, None)
