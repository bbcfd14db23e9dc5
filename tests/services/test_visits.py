"""Return visits: plans per tier, idempotent generation, tier changes, recording, report."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.interactions import Interaction
from saas.models.visits import VisitPlan, VisitTask
from saas.services import customers, tiers, visits
from saas.services.errors import Conflict, InvalidInput
from saas.timeline import timeline

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 24)


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()   # retail: A every 90 days by phone, B every 180 by message
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        by_name = {t.name: t for t in tiers.list_tiers(db.session)}
        db.session.commit()
        yield tenant, actor, by_name
        db.session.rollback()
        db.session.remove()


def _customer(actor, by_name, tier="A", name="Li Lei", owner=True):
    c = customers.create_customer(db.session, actor, {
        "name": name, **({"owner_id": str(actor.staff_id)} if owner else {})})
    tiers.override(db.session, actor, c.id, by_name[tier].id, None)
    return c


def test_template_plans_are_seeded_per_tier(world):
    _t, _actor, by_name = world
    plans = {p.tier_id: p for p in visits.list_plans(db.session)}
    assert (plans[by_name["A"].id].every_days, plans[by_name["A"].id].method) == (90, "phone")
    assert plans[by_name["B"].id].method == "message"
    assert by_name["C"].id not in plans


def test_generation_makes_one_task_per_due_date_for_the_owner(world):
    _t, actor, by_name = world
    a = _customer(actor, by_name, "A")
    _customer(actor, by_name, "C", name="No plan")
    first = visits.generate(db.session, today=TODAY)
    again = visits.generate(db.session, today=TODAY)
    assert (first.created, again.created) == (1, 0)
    [task] = db.session.scalars(select(VisitTask)).all()
    assert (task.customer_id, task.assignee_id, task.due_on, task.method) == (
        a.id, actor.staff_id, TODAY, "phone")


def test_zero_frequency_plan_is_refused_with_a_clear_error(world):
    _t, actor, by_name = world
    with pytest.raises(InvalidInput) as exc:
        visits.create_plan(db.session, actor, {"tier_id": by_name["C"].id, "every_days": 0,
                                               "method": "video"})
    assert "at least every 1 day" in exc.value.errors["every_days"][0]
    assert db.session.scalar(select(func.count()).select_from(VisitPlan).where(
        VisitPlan.tier_id == by_name["C"].id)) == 0
    with pytest.raises(InvalidInput) as exc:
        visits.create_plan(db.session, actor, {"tier_id": by_name["C"].id, "every_days": 30,
                                               "method": "carrier pigeon"})
    assert "method" in exc.value.errors
    with pytest.raises(Conflict):
        visits.create_plan(db.session, actor, {"tier_id": by_name["A"].id, "every_days": 30,
                                               "method": "video"})


def test_tier_change_reshuffles_open_tasks(world):
    _t, actor, by_name = world
    c = _customer(actor, by_name, "A")
    visits.generate(db.session, today=TODAY)
    tiers.override(db.session, actor, c.id, by_name["B"].id, None)
    result = visits.generate(db.session, today=TODAY)
    assert (result.created, result.cancelled) == (1, 1)
    tasks = {t.status: t for t in db.session.scalars(select(VisitTask))}
    assert tasks["cancelled"].cancel_reason == "tier changed"
    assert tasks["planned"].method == "message"


def test_recording_a_visit_logs_an_interaction_and_plans_the_next(world):
    _t, actor, by_name = world
    c = _customer(actor, by_name, "A")
    with time_machine.travel(datetime(2026, 11, 24, 15, 0, tzinfo=SH), tick=False):
        visits.generate(db.session)
        [task] = visits.my_visits(db.session, actor.staff_id)["today"]
        visits.record_visit(db.session, actor, task.id, {
            "outcome": "Happy with the tea", "rating": 4, "needs": "Wants a gift box",
            "next_step": "Send catalogue"})
    assert task.status == "done" and task.rating == 4
    interaction = db.session.get(Interaction, (task.tenant_id, task.interaction_id))
    assert interaction.channel == "phone" and "gift box" in interaction.summary
    assert any(i.kind == "interaction" or i.entity_id == str(interaction.id)
               for i in timeline(db.session, c.id))
    [following] = db.session.scalars(select(VisitTask).where(
        VisitTask.status == "planned")).all() or [None]
    # next due in 90 days: beyond the 7-day look-ahead, made by a later daily run
    assert following is None
    later = visits.generate(db.session, today=TODAY + timedelta(days=88))
    assert later.created == 1
    with pytest.raises(Conflict):
        visits.record_visit(db.session, actor, task.id, {"outcome": "x", "rating": 3})


def test_bad_visit_record_names_the_fields(world):
    _t, actor, by_name = world
    _customer(actor, by_name, "A")
    visits.generate(db.session, today=TODAY)
    task = db.session.scalars(select(VisitTask)).one()
    with pytest.raises(InvalidInput) as exc:
        visits.record_visit(db.session, actor, task.id, {"outcome": "", "rating": 9,
                                                         "mood": "good"})
    assert set(exc.value.errors) == {"outcome", "rating", "mood"}
    assert task.status == "planned"
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_my_visits_sorts_overdue_today_upcoming(world):
    _t, actor, by_name = world
    for i, day in enumerate([TODAY - timedelta(days=3), TODAY, TODAY + timedelta(days=2)]):
        c = _customer(actor, by_name, "A", name=f"C{i}")
        visits.generate(db.session, today=day, customer_ids=[c.id])
    mine = visits.my_visits(db.session, actor.staff_id, today=TODAY)
    assert [len(mine[k]) for k in ("overdue", "today", "upcoming")] == [1, 1, 1]


def test_report_counts_on_time_visits_and_outcomes(world):
    _t, actor, by_name = world
    c1 = _customer(actor, by_name, "A", name="On time")
    c2 = _customer(actor, by_name, "A", name="Late")
    visits.generate(db.session, today=TODAY)
    tasks = {t.customer_id: t for t in db.session.scalars(select(VisitTask))}
    with time_machine.travel(datetime(2026, 11, 24, 12, 0, tzinfo=SH), tick=False):
        visits.record_visit(db.session, actor, tasks[c1.id].id, {"outcome": "Renewed",
                                                                 "rating": 5})
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, tzinfo=SH), tick=False):
        visits.record_visit(db.session, actor, tasks[c2.id].id, {"outcome": "Renewed",
                                                                 "rating": 3})
    [row] = [r for r in visits.report(db.session, TODAY, TODAY + timedelta(days=30))
             if r["tier"] == "A"]
    assert (row["due"], row["done"], row["done_on_time"], row["on_time_rate"]) == (
        2, 2, 1, 0.5)
    assert row["average_rating"] == 4 and row["outcomes"] == [{"outcome": "Renewed",
                                                               "count": 2}]


@pytest.mark.postgres
def test_concurrent_generation_makes_one_task_per_customer(app, world):
    tenant, actor, by_name = world
    for i in range(5):
        _customer(actor, by_name, "A", name=f"C{i}")
    db.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run():
        try:
            with app.app_context():
                tenant.bind()
                barrier.wait()
                visits.generate(db.session, today=TODAY)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(VisitTask)) == 5


def test_generation_only_touches_the_bound_tenant(app, world, make_tenant):
    _t, actor, by_name = world
    mine = _customer(actor, by_name, "A", name="Mine").id
    db.session.commit()
    other = make_tenant(slug="other-visits")
    with app.app_context():
        other.bind()
        other_tiers = {t.name: t for t in tiers.list_tiers(db.session)}
        theirs = customers.create_customer(db.session, other.owner_actor(),
                                           {"name": "Theirs"}).id
        tiers.override(db.session, other.owner_actor(), theirs, other_tiers["A"].id, None)
        db.session.commit()
        db.session.remove()
    _t.bind()
    visits.generate(db.session, today=TODAY + timedelta(days=1))
    db.session.commit()
    assert set(db.session.scalars(select(VisitTask.customer_id))) == {mine}
    with app.app_context():
        other.bind()
        visits.generate(db.session, today=TODAY + timedelta(days=1))
        db.session.commit()
        assert set(db.session.scalars(select(VisitTask.customer_id))) == {theirs}
        db.session.remove()


def test_moving_back_to_the_old_tier_revives_its_visit(world):
    _t, actor, by_name = world
    c = _customer(actor, by_name, "A")
    visits.generate(db.session, today=TODAY)
    tiers.override(db.session, actor, c.id, by_name["B"].id, None)
    visits.generate(db.session, today=TODAY)
    tiers.override(db.session, actor, c.id, by_name["A"].id, None)
    result = visits.generate(db.session, today=TODAY)
    assert (result.created, result.cancelled) == (1, 1)
    rows = sorted((t.method, t.status) for t in db.session.scalars(select(VisitTask)))
    assert rows == [("message", "cancelled"), ("phone", "planned")]
    assert visits.generate(db.session, today=TODAY).created == 0


def test_next_visit_is_due_every_days_after_the_local_date_of_the_last(world):
    _t, actor, by_name = world
    c = _customer(actor, by_name, "A")      # every 90 days
    visits.generate(db.session, today=TODAY)
    task = db.session.scalars(select(VisitTask)).one()
    # 23:30 in Shanghai on 24 Nov is still 24 Nov locally (15:30 UTC).
    with time_machine.travel(datetime(2026, 11, 24, 23, 30, tzinfo=SH), tick=False):
        visits.record_visit(db.session, actor, task.id, {"outcome": "ok", "rating": 3})
    due = TODAY + timedelta(days=90)
    assert visits.generate(db.session, today=due - timedelta(days=8)).created == 0
    assert visits.generate(db.session, today=due - timedelta(days=7)).created == 1
    planned = db.session.scalars(select(VisitTask).where(
        VisitTask.status == "planned", VisitTask.customer_id == c.id)).one()
    assert planned.due_on == due
    # A run long after the due date makes it due today, not in the past.
    db.session.delete(planned)
    db.session.flush()
    late = due + timedelta(days=20)
    visits.generate(db.session, today=late)
    assert db.session.scalars(select(VisitTask.due_on).where(
        VisitTask.status == "planned")).one() == late


def _order(actor, customer, product, at, price, status="placed"):
    from saas.services import orders

    order = orders.place_order(db.session, actor, customer.id, {
        "lines": [{"product_id": str(product.id), "quantity": 1, "unit_price": price}],
        "placed_at": at.isoformat()})
    if status == "refunded":
        orders.refund_order(db.session, actor, order.id)
    return order


def test_purchase_effect_compares_spend_before_and_after_each_visit(world):
    from decimal import Decimal

    from saas.services import products

    _t, actor, by_name = world
    c1 = _customer(actor, by_name, "A", name="Renewer")
    c2 = _customer(actor, by_name, "A", name="Declined")
    c3 = _customer(actor, by_name, "A", name="Never visited")
    c4 = _customer(actor, by_name, "B", name="B customer")
    visits.generate(db.session, today=TODAY)
    tasks = {t.customer_id: t for t in db.session.scalars(select(VisitTask))}
    with time_machine.travel(datetime(2026, 11, 24, 12, 0, tzinfo=SH), tick=False):
        for customer, outcome in ((c1, "Renewed"), (c2, "No interest"), (c4, "Renewed")):
            visits.record_visit(db.session, actor, tasks[customer.id].id,
                                {"outcome": outcome, "rating": 4})
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=SH), tick=False):
        tea = products.create_product(db.session, actor, {"sku": "T", "name": "Tea",
                                                          "price": "1"})

        def at(month, day, year=2026):
            return datetime(year, month, day, 12, 0, tzinfo=SH)

        _order(actor, c1, tea, at(10, 1), "500")          # > 30 days before: not counted
        _order(actor, c1, tea, at(11, 10), "100")         # 14 days before
        _order(actor, c1, tea, at(11, 30), "200")         # 6 days after
        _order(actor, c1, tea, at(12, 10), "50")          # 16 days after
        _order(actor, c1, tea, at(1, 20, 2027), "999")    # > 30 days after
        _order(actor, c2, tea, at(11, 20), "30")          # 4 days before
        _order(actor, c2, tea, at(12, 1), "80", status="refunded")
        _order(actor, c3, tea, at(12, 1), "1000")         # no visit: not in the report
        _order(actor, c4, tea, at(12, 1), "40")           # 7 days after
    report = visits.purchase_effect(db.session, TODAY, TODAY + timedelta(days=30), 30)

    def pick(view, **keys):
        [row] = [r for r in report[view] if all(r[k] == v for k, v in keys.items())]
        return (row["visits"], row["orders_before"], row["orders_after"],
                row["spend_before"], row["spend_after"], row["bought_after"])

    D = Decimal
    assert pick("by_plan", tier="A") == (2, 2, 2, D("130.00"), D("250.00"), 1)
    assert pick("by_plan", tier="B") == (1, 0, 1, D("0.00"), D("40.00"), 1)
    assert pick("by_method", method="phone") == (2, 2, 2, D("130.00"), D("250.00"), 1)
    assert pick("by_outcome", outcome="Renewed") == (2, 1, 3, D("100.00"), D("290.00"), 2)
    assert pick("by_outcome", outcome="No interest") == (1, 1, 0, D("30.00"), D("0.00"), 0)
    total = report["total"]
    assert (total["visits"], total["spend_change"], total["bought_after_rate"]) == (
        3, D("160.00"), 0.667)
    week = visits.purchase_effect(db.session, TODAY, TODAY + timedelta(days=30), 7)
    [a] = [r for r in week["by_plan"] if r["tier"] == "A"]
    assert (a["orders_before"], a["spend_before"], a["orders_after"], a["spend_after"]) == (
        1, D("30.00"), 1, D("200.00"))
    # Visits outside the period are not counted.
    assert visits.purchase_effect(db.session, TODAY + timedelta(days=1),
                                  TODAY + timedelta(days=30))["total"]["visits"] == 0


def test_purchase_effect_refuses_a_bad_period_or_window(world):
    with pytest.raises(InvalidInput) as exc:
        visits.purchase_effect(db.session, TODAY, TODAY - timedelta(days=1), 0)
    assert set(exc.value.errors) == {"until", "window_days"}
