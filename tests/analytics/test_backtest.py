"""The churn back-test on a hand-built history: counts, reasons, values, bad input, CLI."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from saas.analytics import backtest
from saas.extensions import db
from saas.models.base import utcnow
from saas.services.errors import InvalidInput
from tests.analytics import world


@pytest.fixture
def history(app, make_tenant):
    """As of 50 days ago, with orders of 10.00 (days ago):
    A 200,190,180,170 — overdue then, never came back: flagged + churned
    B 120,90,60,20    — on rhythm, came back:          neither
    C 110,100,90,30   — overdue then, came back:        flagged only
    D 80,70,60        — on rhythm then, never came back: churned, missed."""
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        world.products(actor, "A")
        now = utcnow()
        for name, days in (("A", [200, 190, 180, 170]), ("B", [120, 90, 60, 20]),
                           ("C", [110, 100, 90, 30]), ("D", [80, 70, 60])):
            c = world.customer(actor, name)
            for d in days:
                world.order(actor, c.id, ["A"], at=now - timedelta(days=d))
        db.session.commit()
        yield tenant, now
        db.session.rollback()
        db.session.remove()


def test_back_test_counts_hits_misses_and_their_value(history):
    _tenant, now = history
    report = backtest.run(db.session, now - timedelta(days=50), 50)
    s = report.summary
    assert (s.customers, s.flagged, s.churned, s.flagged_and_churned) == (4, 2, 2, 1)
    assert (s.recall, s.precision) == (0.5, 0.5)
    assert report.caught_by == {"purchase_rhythm": 1}
    # A's 12-month spend before then: 4 orders of 10; D's (missed): 3 of 10.
    assert report.value_flagged_and_churned == Decimal("40.00")
    assert report.value_missed == Decimal("30.00")
    assert report.as_dict()["recall"] == 0.5


def test_back_test_defaults_to_the_horizon_before_now(history):
    _tenant, now = history
    report = backtest.run(db.session, None, 50, now=now)
    assert report.summary.as_of == now - timedelta(days=50)
    assert report.summary.flagged_and_churned == 1


@pytest.mark.parametrize(("as_of_days", "horizon", "field"), [
    (10, 30, "as_of"), (50, 3, "horizon_days"), (900, 800, "horizon_days")])
def test_back_test_refuses_a_horizon_not_yet_over_or_out_of_range(
        history, as_of_days, horizon, field):
    _tenant, now = history
    with pytest.raises(InvalidInput) as exc:
        backtest.run(db.session, now - timedelta(days=as_of_days), horizon, now=now)
    assert field in exc.value.errors


def test_back_test_command_prints_recall(app, history):
    tenant, now = history
    as_of = (now - timedelta(days=50)).date().isoformat()
    result = app.test_cli_runner().invoke(args=[
        "analytics", "back-test", tenant.slug, "--as-of", as_of, "--days", "49"])
    assert result.exit_code == 0, result.output
    assert "churned and flagged:" in result.output and "recall:" in result.output
    bad = app.test_cli_runner().invoke(args=["analytics", "back-test", tenant.slug,
                                             "--days", "3"])
    assert bad.exit_code == 2 and "horizon_days" in bad.output
    missing = app.test_cli_runner().invoke(args=["analytics", "back-test", "nope"])
    assert missing.exit_code == 1
