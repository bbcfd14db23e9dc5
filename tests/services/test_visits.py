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
