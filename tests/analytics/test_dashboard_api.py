"""Dashboard API: every figure with its stamp, filters, CSV, errors and permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from saas.analytics import dashboard_figures as figs
from saas.extensions import db
from tests.analytics import dashboard_world


@pytest.fixture
def shop(app, api_client):
    api = api_client()
    shop = dashboard_world.build(app, api.tenant)
    r = api.post("/api/v1/analytics/dashboard/recompute")   # jobs run inline in tests
    assert r.status_code == 202 and r.json == {"queued": True}
    shop.api = api
    return shop


def _series(figure: dict) -> dict:
    return {s["key"]: s["values"] for s in figure["series"]}


def test_every_figure_with_the_stamp(shop):
    r = shop.api.get("/api/v1/analytics/dashboard")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["computed_at"] and body["last_day"] == shop.today.isoformat()
    assert [f["name"] for f in body["figures"]] == list(figs.FIGURES)
    by_name = {f["name"]: f for f in body["figures"]}
    assert by_name["customers_tier"]["period"] == "month"
    assert len(by_name["customers_tier"]["labels"]) == 12
    assert _series(by_name["customers_tier"])["A"][-1] == 2
    revenue = by_name["revenue_tier"]
    assert revenue["kind"] == "money" and revenue["currency"] == "CNY"
    assert sum(_series(revenue)["A"]) == 280.0


def test_one_figure_by_day_with_filters(shop):
    day = (shop.today - timedelta(days=1)).isoformat()
    r = shop.api.get(f"/api/v1/analytics/dashboard/satisfaction?start={day}&end={day}"
                     "&department=North")
    assert r.status_code == 200, r.json
    fig = r.json["figure"]
    assert fig["labels"] == [day] and fig["period"] == "day"
    assert _series(fig) == {"nps": [0.0], "csat": [50.0], "nps_responses": [2],
                            "csat_responses": [2]}
    assert r.json["computed_at"]
    r = shop.api.get(f"/api/v1/analytics/dashboard/customer_flow?owner_id={shop.ann_id}")
    assert sum(_series(r.json["figure"])["new"]) == 1


def test_csv_of_a_figure(shop):
    today = shop.today.isoformat()
    r = shop.api.get(f"/api/v1/analytics/dashboard/customers_tier.csv?start={today}"
                     f"&end={today}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.get_data(as_text=True).splitlines() == ["day,A,B,C", f"{today},2,1,1"]


@pytest.mark.parametrize(("query", "field"), [
    ("start=2025-02-30", "start"), ("end=tomorrow", "end"),
    ("start=2025-03-01&end=2025-02-01", "end"), ("period=year", "period"),
    ("owner_id=123", "owner_id"), ("colour=red", "colour")])
def test_bad_query_is_422_naming_the_field(shop, query, field):
    r = shop.api.get(f"/api/v1/analytics/dashboard?{query}")
    assert r.status_code == 422
    assert field in r.json["errors"]


def test_another_tenants_staff_is_not_an_owner_filter(shop, api_client):
    other = api_client()
    r = shop.api.get(f"/api/v1/analytics/dashboard?owner_id={other.staff_id}")
    assert r.status_code == 422 and "owner_id" in r.json["errors"]


def test_unknown_figure_is_404(shop):
    assert shop.api.get("/api/v1/analytics/dashboard/salaries").status_code == 404
    assert shop.api.get("/api/v1/analytics/dashboard/salaries.csv").status_code == 404


def test_tenants_see_only_their_own_figures(shop, api_client):
    other = api_client()
    assert other.post("/api/v1/analytics/dashboard/recompute").status_code == 202
    body = other.get("/api/v1/analytics/dashboard").json
    assert all(v in (0, None) for f in body["figures"] for s in f["series"]
               for v in s["values"])
    assert _series(body["figures"][0]) == {}


def test_agent_is_forbidden_and_read_token_cannot_recompute(shop, api_client):
    agent = api_client(role="agent", tenant=shop.api.tenant)
    assert agent.get("/api/v1/analytics/dashboard").status_code == 403
    assert agent.get("/api/v1/analytics/dashboard/revenue_tier").status_code == 403
    assert agent.get("/api/v1/analytics/dashboard/revenue_tier.csv").status_code == 403
    assert agent.post("/api/v1/analytics/dashboard/recompute").status_code == 403
    reader = api_client(role="manager", scope="read", tenant=shop.api.tenant)
    assert reader.get("/api/v1/analytics/dashboard").status_code == 200
    assert reader.post("/api/v1/analytics/dashboard/recompute").status_code == 403


def test_before_the_first_run_the_stamp_is_empty(app, api_client):
    api = api_client()
    body = api.get("/api/v1/analytics/dashboard").json
    assert body["computed_at"] is None and body["figures"][0]["series"] == []


def test_full_recompute_flag_is_accepted_and_unknown_body_field_is_422(shop):
    assert shop.api.post("/api/v1/analytics/dashboard/recompute",
                         json={"full": True}).status_code == 202
    assert shop.api.post("/api/v1/analytics/dashboard/recompute",
                         json={"everything": True}).status_code == 422


def test_recompute_stamps_this_tenant_only(app, shop, api_client):
    from sqlalchemy import func, select

    from saas.models.dashboard import DashboardStamp

    other = api_client()
    with app.app_context():
        other.tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(DashboardStamp)) == 0
        shop.api.tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(DashboardStamp)) == 1
        db.session.remove()
