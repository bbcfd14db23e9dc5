"""Staff KPIs against the hand-counted team of `kpi_world`, and who may see what."""

from __future__ import annotations

from decimal import Decimal

import pytest

from saas.extensions import db
from saas.models.tenant import Staff
from saas.services import staff_kpis
from saas.services.context import Actor
from saas.services.errors import Forbidden, InvalidInput, NotFound
from tests.analytics import kpi_world
from tests.api.conftest import add_staff


@pytest.fixture
def team(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        built = kpi_world.build(tenant, add_staff)
        tenant.bind()
        yield tenant, built
        db.session.rollback()
        db.session.remove()


def _actor(tenant, staff_id):
    return Actor.of_staff(db.session.get(Staff, (tenant.id, staff_id)))


def test_every_kpi_matches_the_hand_count(team):
    tenant, built = team
    board = staff_kpis.compute(db.session, tenant.owner_actor(), kpi_world.SINCE,
                               kpi_world.UNTIL)
    rows = {r.staff_id: r for r in board.items}
    alice, bob = rows[built.alice], rows[built.bob]
    assert (alice.customers_owned, alice.visits_due, alice.visits_done,
            alice.visits_on_time, alice.visits_on_time_rate) == (2, 2, 2, 1, 0.5)
    assert (alice.tickets_handled, alice.first_response_hours,
            alice.resolution_hours) == (1, 3.0, 24.0)
    assert (alice.csat, alice.csat_answers, alice.nps, alice.nps_answers) == (4.5, 2, 33.3, 3)
    assert alice.revenue == Decimal("120.00")
    assert (bob.customers_owned, bob.visits_due, bob.visits_done, bob.visits_on_time) == (
        1, 1, 0, 0)
    assert (bob.tickets_handled, bob.first_response_hours, bob.resolution_hours) == (
        1, 48.0, 72.0)
    assert (bob.csat, bob.csat_answers, bob.nps, bob.nps_answers) == (None, 0, -100.0, 1)
    assert bob.revenue == Decimal("40.00")
    owner = rows[tenant.owner_id]
    assert (owner.customers_owned, owner.revenue, owner.csat) == (0, Decimal("0.00"), None)
    assert board.currency == "CNY" or board.currency


def test_leaderboard_ranks_by_any_kpi_with_missing_figures_last(team):
    tenant, built = team
    def order(sort):
        board = staff_kpis.compute(db.session, tenant.owner_actor(), kpi_world.SINCE,
                                   kpi_world.UNTIL, sort=sort)
        return [r.staff_id for r in board.items]
    assert order("-revenue") == [built.alice, built.bob, tenant.owner_id]
    assert order("revenue") == [tenant.owner_id, built.bob, built.alice]
    # Lower times are better: "-" (best first) puts the fastest first.
    assert order("-first_response_hours") == [built.alice, built.bob, tenant.owner_id]
    assert order("-csat")[:1] == [built.alice]
    board = staff_kpis.compute(db.session, tenant.owner_actor(), kpi_world.SINCE,
                               kpi_world.UNTIL, sort="-nps")
    assert [r.rank for r in board.items] == [1, 2, 3]


def test_department_filter_keeps_only_that_department(team):
    tenant, built = team
    board = staff_kpis.compute(db.session, tenant.owner_actor(), kpi_world.SINCE,
                               kpi_world.UNTIL, department="North")
    assert [r.staff_id for r in board.items] == [built.alice]


def test_agent_gets_only_their_own_row(team):
    tenant, built = team
    board = staff_kpis.compute(db.session, _actor(tenant, built.bob), kpi_world.SINCE,
                               kpi_world.UNTIL)
    assert [r.staff_id for r in board.items] == [built.bob]
    _board, mine = staff_kpis.for_staff(db.session, _actor(tenant, built.bob), built.bob,
                                        kpi_world.SINCE, kpi_world.UNTIL)
    assert mine.resolution_hours == 72.0


def test_agent_asking_for_a_colleague_is_forbidden(team):
    tenant, built = team
    with pytest.raises(Forbidden):
        staff_kpis.for_staff(db.session, _actor(tenant, built.bob), built.alice)


def test_manager_may_see_a_colleague(team):
    tenant, built = team
    _board, row = staff_kpis.for_staff(db.session, tenant.owner_actor(), built.alice,
                                       kpi_world.SINCE, kpi_world.UNTIL)
    assert row.revenue == Decimal("120.00")


def test_another_tenants_staff_is_not_found(team, make_tenant):
    tenant, built = team
    other = make_tenant()
    tenant.bind()
    with pytest.raises(NotFound):
        staff_kpis.for_staff(db.session, tenant.owner_actor(), other.owner_id)


@pytest.mark.parametrize(("since", "until", "sort", "field"), [
    ("2026-11-30", "2026-11-01", "-revenue", "until"),
    ("2025-01-01", "2026-11-30", "-revenue", "since"),
    ("2026-11-01", "2026-11-30", "-salary", "sort"),
])
def test_bad_period_or_sort_names_the_field(team, since, until, sort, field):
    from datetime import date

    tenant, _built = team
    with pytest.raises(InvalidInput) as exc:
        staff_kpis.compute(db.session, tenant.owner_actor(), date.fromisoformat(since),
                           date.fromisoformat(until), sort=sort)
    assert field in exc.value.errors
