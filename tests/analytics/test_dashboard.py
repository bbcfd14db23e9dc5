"""Dashboard figures against the hand-computed world of `dashboard_world` (see its table)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas.analytics import dashboard
from saas.analytics import dashboard_figures as figs
from saas.extensions import db
from saas.models.dashboard import DashboardFact, DashboardStamp
from saas.services.errors import InvalidInput, NotFound
from tests.analytics import dashboard_world


@pytest.fixture
def shop(app, make_tenant):
    tenant = make_tenant()
    shop = dashboard_world.build(app, tenant)
    with app.app_context():
        tenant.bind()
        dashboard.refresh(db.session)
        db.session.commit()
        yield shop
        db.session.rollback()


def _filters(shop, days_back=400, end_back=0, period="month", **kw):
    return figs.Filters(start=shop.today - timedelta(days=days_back),
                        end=shop.today - timedelta(days=end_back), period=period, **kw)


def _day(shop, name, days_ago, **kw):
    """One day's figure: {series key: value}."""
    f = figs.figure(db.session, name, _filters(shop, days_ago, days_ago, "day", **kw))
    return {s["key"]: s["values"][0] for s in f.series}


def _totals(shop, name, **kw):
    f = figs.figure(db.session, name, _filters(shop, **kw))
    return {s["key"]: sum(v or 0 for v in s["values"]) for s in f.series}


def _today(shop, name, **kw):
    f = figs.figure(db.session, name, _filters(shop, 0, 0, "day", **kw))
    return {s["key"]: s["values"][0] for s in f.series}


def test_customers_by_tier_lifecycle_and_category_today(shop):
    assert _today(shop, "customers_tier") == {"A": 2, "B": 1, "C": 1}
    assert _today(shop, "customers_lifecycle") == {"lead": 1, "prospect": 1, "customer": 2}
    assert _today(shop, "customers_category") == {"Regular": 1, "VIP": 2, "": 1}


def test_stock_figures_are_ordered_tiers_then_stages(shop):
    f = figs.figure(db.session, "customers_tier", _filters(shop, 0, 0, "day"))
    assert [s["key"] for s in f.series] == ["A", "B", "C"]
    f = figs.figure(db.session, "customers_lifecycle", _filters(shop, 0, 0, "day"))
    assert [s["key"] for s in f.series] == ["lead", "prospect", "customer"]


def test_new_and_lost_customers_by_day(shop):
    assert _day(shop, "customer_flow", 100) == {"new": 1}
    assert _day(shop, "customer_flow", 200) == {"new": 1}
    assert _day(shop, "customer_flow", 5) == {"new": 1}
    assert _day(shop, "customer_flow", 20) == {"lost": 1}   # c2: T-200 + 180
    assert _totals(shop, "customer_flow") == {"new": 3, "lost": 1}


def test_revenue_by_tier_counts_only_counted_orders_on_local_days(shop):
    assert _totals(shop, "revenue_tier") == {"A": 280.0, "B": 200.0}
    assert _day(shop, "revenue_tier", 3) == {"A": 20.0}   # 00:30 local is the previous UTC day
    assert _day(shop, "revenue_tier", 190) == {}          # cancelled


def test_purchase_cycle_histogram(shop):
    f = figs.figure(db.session, "purchase_cycle", _filters(shop))
    assert f.labels[:3] == ["0-7", "8-14", "15-30"]
    assert dict(zip(f.labels, f.series[0]["values"], strict=True)) == {
        "0-7": 1, "8-14": 0, "15-30": 1, "31-60": 0, "61-90": 0, "91-180": 0,
        "181-365": 0, "366+": 0}


@pytest.mark.parametrize(("mean", "bucket"), [(0, "0-7"), (7.9, "0-7"), (8, "8-14"),
                                               (30.0, "15-30"), (30.5, "15-30"),
                                               (31, "31-60"), (400, "366+")])
def test_cycle_buckets_are_whole_days(mean, bucket):
    assert dashboard.cycle_bucket(mean) == bucket


def test_complaints_by_cause(shop):
    # c2's low survey score (NPS 6) opened a complaint without a cause on T-1
    assert _totals(shop, "complaints_cause") == {"Delivery": 1, "Billing": 1, "": 1}
    assert _day(shop, "complaints_cause", 10) == {"Delivery": 1}
    assert _day(shop, "complaints_cause", 1) == {"": 1}
    assert _day(shop, "complaints_cause", 4) == {}   # a request is not a complaint


def test_nps_and_csat(shop):
    day = _day(shop, "satisfaction", 1)
    # NPS: 1 promoter (10), 1 passive (8), 1 detractor (6) -> 0; CSAT: 5 and 4 of 3 -> 66.7
    assert day == {"nps": 0.0, "csat": 66.7, "nps_responses": 3, "csat_responses": 3}
    assert _day(shop, "satisfaction", 2) == {"nps": None, "csat": None, "nps_responses": 0,
                                             "csat_responses": 0}


def test_owner_filter_reads_that_owners_customers(shop):
    ann = {"owner_id": shop.ann_id}
    assert _today(shop, "customers_tier", **ann) == {"A": 1}
    assert _totals(shop, "revenue_tier", **ann) == {"A": 100.0}
    assert _totals(shop, "customer_flow", **ann) == {"new": 1}
    assert _totals(shop, "complaints_cause", **ann) == {"Billing": 1}
    assert _totals(shop, "complaints_cause", department="North") == {"Delivery": 1, "": 1}
    assert _day(shop, "satisfaction", 1, **ann)["nps"] == 0.0   # c3's 8: a passive


def test_department_filter_and_both_filters(shop):
    north = {"department": "North"}
    assert _today(shop, "customers_tier", **north) == {"A": 1, "B": 1}
    assert _totals(shop, "customer_flow", **north) == {"new": 2, "lost": 1}
    assert _day(shop, "satisfaction", 1, **north) == {
        "nps": 0.0, "csat": 50.0, "nps_responses": 2, "csat_responses": 2}
    both = {"department": "North", "owner_id": shop.ann_id}
    assert _today(shop, "customers_tier", **both) == {}


def test_monthly_stock_takes_the_last_snapshot_of_each_month(shop):
    f = figs.figure(db.session, "customers_tier", _filters(shop, 200))
    assert f.period == "month"
    # The first run estimated the previous month ends: a customer existed once created
    # or once they had bought (all were created today; c1 bought on T-100, c3 on T-5).
    ends = dashboard.backfill_days(shop.today)
    expected = {end.strftime("%Y-%m"): (end >= shop.today - timedelta(days=100))
                + (end >= shop.today - timedelta(days=5)) for end in ends}
    expected[shop.today.strftime("%Y-%m")] = 2
    got = dict(zip(f.labels, f.series[0]["values"], strict=True))
    assert got == {label: expected[label] for label in f.labels}
    assert dict(zip(f.labels, figs.figure(db.session, "customers_tier", _filters(
        shop, 200)).series[1]["values"], strict=True))[f.labels[-1]] == 1   # B today


def test_a_second_run_keeps_history_and_replaces_todays_rows(shop, app):
    before = db.session.scalar(select(func.count()).select_from(DashboardFact))
    dashboard.refresh(db.session)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(DashboardFact)) == before
    assert _totals(shop, "revenue_tier") == {"A": 280.0, "B": 200.0}
    stamp = db.session.scalar(select(DashboardStamp))
    assert stamp.last_day == shop.today and stamp.departments == ["North", "South"]
    assert sorted(stamp.owners) == sorted([str(shop.tenant.owner_id), str(shop.ann_id)])


def test_rollup_rows_equal_the_sum_of_the_grain(shop):
    def total(rollup):
        return db.session.scalar(select(func.sum(DashboardFact.count)).where(
            DashboardFact.rollup.is_(rollup)))
    assert total(True) == total(False) > 0


def test_csv_is_the_table_beside_the_chart(shop):
    f = figs.figure(db.session, "complaints_cause", _filters(shop, 10, 0, "day"))
    lines = figs.to_csv(f).splitlines()
    assert lines[0] == "day,Billing,Delivery,(none)"
    assert lines[1] == f"{(shop.today - timedelta(days=10)).isoformat()},0,1,0"
    assert lines[9] == f"{(shop.today - timedelta(days=2)).isoformat()},1,0,0"
    assert lines[10] == f"{(shop.today - timedelta(days=1)).isoformat()},0,0,1"
    assert len(lines) == 12


@pytest.mark.parametrize(("data", "field"), [
    ({"start": "2024-13-01"}, "start"), ({"end": "yesterday"}, "end"),
    ({"start": "2025-02-01", "end": "2025-01-01"}, "end"),
    ({"start": "2015-01-01", "end": "2025-01-01"}, "start"),
    ({"period": "year"}, "period"), ({"owner_id": "not-a-uuid"}, "owner_id"),
    ({"owner_id": "0190a0c0-0000-7000-8000-000000000000"}, "owner_id"),
    ({"department": "x" * 101}, "department")])
def test_bad_filters_are_field_errors(shop, data, field):
    with pytest.raises(InvalidInput) as exc:
        figs.parse_filters(db.session, "Asia/Shanghai", data)
    assert field in exc.value.errors


def test_default_filters_are_twelve_months_by_month(shop):
    f = figs.parse_filters(db.session, "Asia/Shanghai", {})
    assert f.end == shop.today and f.start.day == 1
    assert len(figs.periods(f, figs.resolve_period(f))) == 12


def test_unknown_figure_is_not_found(shop):
    with pytest.raises(NotFound):
        figs.figure(db.session, "secrets", _filters(shop))


def test_an_empty_snapshot_reads_as_zero_and_is_not_estimated_again(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        dashboard_world.world.customer(tenant.owner_actor(), "New lead")
        dashboard.refresh(db.session)
        db.session.commit()
        today = dashboard_world.local_today()
        f = figs.figure(db.session, "customers_lifecycle",
                        figs.Filters(figs.default_start(today), today, "month"))
        # month ends before today: a snapshot in which nobody existed yet
        assert {s["key"]: s["values"] for s in f.series} == {"lead": [0] * 11 + [1]}
        rows = db.session.scalar(select(func.count()).select_from(DashboardFact))
        dashboard.refresh(db.session)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(DashboardFact)) == rows
        db.session.rollback()
