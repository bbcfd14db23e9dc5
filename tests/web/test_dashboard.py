"""The managers' dashboard page: charts with tables and CSV, filters, the agents' home."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from saas.analytics import dashboard
from saas.extensions import db
from tests.analytics import dashboard_world
from tests.web.helpers import field_errors, login, login_as


@pytest.fixture
def shop(app, make_tenant):
    tenant = make_tenant()
    shop = dashboard_world.build(app, tenant)
    with app.app_context():
        tenant.bind()
        dashboard.refresh(db.session)
        db.session.commit()
        db.session.remove()
    return shop


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_manager_home_is_the_dashboard_with_every_chart_table_and_csv(app, client, shop):
    login_as(app, client, shop.tenant, "manager")
    html = client.get(f"/t/{shop.tenant.slug}/").get_data(as_text=True)
    names = ["customers_tier", "customers_lifecycle", "customers_category", "customer_flow",
             "revenue_tier", "purchase_cycle", "complaints_cause", "satisfaction", "campaigns"]
    for name in names:
        assert f'id="chart-{name}"' in html
        assert f"/t/{shop.tenant.slug}/dashboard/{name}.csv?" in html
    assert html.count('<table class="table">') == 8   # campaigns: none in this world
    assert "Last computed" in html and "vendor/chart.umd.js" in html
    assert "Customers by tier" in html and "No data for these filters." in html
    if {"team.index", "analytics.team"} & set(app.view_functions):  # staff-KPI pages
        assert f'href="/t/{shop.tenant.slug}/analytics/team' in html


def test_owner_sees_the_dashboard_under_its_own_url_too(client, shop):
    login(client, shop.tenant)
    html = client.get(f"/t/{shop.tenant.slug}/dashboard/").get_data(as_text=True)
    assert 'id="chart-revenue_tier"' in html and "Welcome, Olivia Owner" in html


def test_agent_keeps_the_limited_home_and_may_not_open_the_dashboard(app, client, shop):
    login_as(app, client, shop.tenant, "agent")
    home = client.get(f"/t/{shop.tenant.slug}/").get_data(as_text=True)
    assert "dashboard-chart" not in home and "Welcome," in home
    slug = shop.tenant.slug
    assert client.get(f"/t/{slug}/dashboard/").status_code == 403
    assert client.get(f"/t/{slug}/dashboard/revenue_tier.csv").status_code == 403
    assert client.post(f"/t/{slug}/dashboard/recompute").status_code == 403


def test_readonly_role_sees_the_dashboard(app, client, shop):
    login_as(app, client, shop.tenant, "readonly")
    assert "dashboard-chart" in client.get(f"/t/{shop.tenant.slug}/").get_data(as_text=True)


def test_csv_of_a_figure_follows_the_filters(client, shop):
    login(client, shop.tenant)
    day = (shop.today - timedelta(days=3)).isoformat()
    rows = _csv(client.get(f"/t/{shop.tenant.slug}/dashboard/revenue_tier.csv",
                           query_string={"start": day, "end": day, "period": "day"}))
    assert rows == [["Day", "A"], [day, "20.0"]]
    rows = _csv(client.get(f"/t/{shop.tenant.slug}/dashboard/customer_flow.csv",
                           query_string={"owner_id": str(shop.ann_id)}))
    assert rows[0] == ["Month", "New customers"]
    assert sum(int(r[1]) for r in rows[1:]) == 1 and len(rows) == 13


def test_csv_of_the_stock_figures_and_satisfaction(client, shop):
    login(client, shop.tenant)
    today = shop.today.isoformat()
    args = {"start": today, "end": today, "department": "North"}
    rows = _csv(client.get(f"/t/{shop.tenant.slug}/dashboard/customers_lifecycle.csv",
                           query_string=args))
    assert rows == [["Day", "Customer"], [today, "2"]]
    rows = _csv(client.get(f"/t/{shop.tenant.slug}/dashboard/purchase_cycle.csv"))
    assert rows[0] == ["Days between orders", "As of", "Customers"]
    assert rows[1] == ["0-7", today, "1"] and rows[3] == ["15-30", today, "1"]
    day = (shop.today - timedelta(days=1)).isoformat()
    rows = _csv(client.get(f"/t/{shop.tenant.slug}/dashboard/satisfaction.csv",
                           query_string={"start": day, "end": day}))
    assert rows == [["Day", "NPS", "CSAT %", "NPS responses", "CSAT responses"],
                    [day, "0.0", "66.7", "3", "3"]]


def test_filters_narrow_the_tables(client, shop):
    login(client, shop.tenant)
    today = shop.today.isoformat()
    html = client.get(f"/t/{shop.tenant.slug}/", query_string={
        "start": today, "end": today, "owner_id": str(shop.ann_id)}).get_data(as_text=True)
    tier = re.search(r'id="figure-customers_tier".*?</section>', html, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', tier) == ["1"]
    assert f'value="{shop.ann_id}" selected' in html or \
        f'selected value="{shop.ann_id}"' in html


@pytest.mark.parametrize(("args", "field", "message"), [
    ({"start": "2025-02-30"}, "start", "YYYY-MM-DD"),
    ({"start": "2025-03-01", "end": "2025-02-01"}, "end", "must not be before"),
    ({"owner_id": "nobody"}, "owner_id", "No such staff member"),
])
def test_bad_filters_are_form_messages(client, shop, args, field, message):
    login(client, shop.tenant)
    response = client.get(f"/t/{shop.tenant.slug}/", query_string=args)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in field_errors(html, field)
    assert "dashboard-chart" not in html


def test_another_tenants_owner_is_not_a_filter(client, shop, make_tenant):
    other = make_tenant()
    login(client, shop.tenant)
    response = client.get(f"/t/{shop.tenant.slug}/dashboard/",
                          query_string={"owner_id": str(other.owner_id)})
    assert response.status_code == 422
    assert "No such staff member" in field_errors(response.get_data(as_text=True), "owner_id")


def test_unknown_figure_csv_is_404(client, shop):
    login(client, shop.tenant)
    assert client.get(f"/t/{shop.tenant.slug}/dashboard/salaries.csv").status_code == 404


def test_recompute_button_refreshes_the_stamp(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    assert "has not been computed yet" in html
    response = client.post(f"/t/{tenant.slug}/dashboard/recompute")
    assert response.status_code == 302 and response.location == f"/t/{tenant.slug}/"
    html = client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    assert "Last computed" in html and "being recomputed" in html


def test_the_dashboard_in_chinese(app, client, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    login(client, tenant)
    client.post(f"/t/{tenant.slug}/dashboard/recompute")
    html = client.get(f"/t/{tenant.slug}/").get_data(as_text=True)
    assert "按等级的客户" in html
