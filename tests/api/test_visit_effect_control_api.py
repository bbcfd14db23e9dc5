"""GET /api/v1/visits/report/purchases: the control group and difference-in-differences
per plan (hand-computed world in tests/services/test_visit_effect_control.py)."""

from __future__ import annotations

from tests.services.test_visit_effect_control import build_in_app

URL = "/api/v1/visits/report/purchases?since=2026-11-10&until=2026-12-09&window_days=30"


def test_purchases_report_has_the_control_group_and_did_per_plan(app, api_client):
    owner = api_client()
    build_in_app(app, owner.tenant)
    resp = owner.get(URL)
    assert resp.status_code == 200
    assert resp.json["control_reference_at"].startswith("2026-11-24T16:00:00")
    by_tier = {r["tier"]: r for r in resp.json["by_plan"]}
    a = by_tier["A"]
    assert (a["control_customers"], a["control_spend_before"], a["control_spend_after"],
            a["spend_change_per_visit"], a["control_spend_change_per_customer"],
            a["did_spend"], a["did_orders"]) == (
        2, "50.00", "80.00", "35.00", "15.00", "20.00", -1.0)
    assert (by_tier["B"]["did_spend"], by_tier["B"]["control_customers"]) == ("40.00", 1)
    assert "did_spend" not in resp.json["total"]


def test_purchases_report_control_is_per_tenant_and_needs_reports_read(app, api_client):
    owner = api_client()
    build_in_app(app, owner.tenant)
    other = api_client()
    assert other.get(URL).json["by_plan"] == []
    agent = api_client(role="agent", tenant=owner.tenant)
    assert agent.get(URL).status_code == 403
    bad = owner.get(URL.replace("window_days=30", "window_days=400"))
    assert bad.status_code == 422 and "window_days" in bad.json["errors"]
