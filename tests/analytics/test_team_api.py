"""Team API: the staff leaderboard, one person's KPIs, the at-risk list; who sees what."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.models.base import utcnow
from tests.analytics import kpi_world
from tests.api.conftest import ApiClient, add_staff, issue_token

NOV = "since=2026-11-01&until=2026-11-30"


def _client_for(app, client, tenant, staff_id, role="agent"):
    with app.app_context():
        token_id, raw = issue_token(tenant, staff_id)
        db.session.remove()
    return ApiClient(client, raw, tenant, staff_id, token_id, role, "write")


@pytest.fixture
def team(app, client, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        built = kpi_world.build(tenant, add_staff)
        db.session.remove()
    owner = _client_for(app, client, tenant, tenant.owner_id, "owner")
    alice = _client_for(app, client, tenant, built.alice)
    return owner, alice, built


def test_manager_sees_the_whole_leaderboard_with_the_hand_counted_figures(team):
    owner, _alice, built = team
    r = owner.get(f"/api/v1/analytics/staff-kpis?{NOV}")
    assert r.status_code == 200, r.json
    items = r.json["items"]
    assert [i["staff_id"] for i in items][:2] == [str(built.alice), str(built.bob)]
    first = items[0]
    assert (first["rank"], first["revenue"], first["tickets_handled"], first["csat"],
            first["nps"], first["visits_on_time_rate"]) == (1, "120.00", 1, 4.5, 33.3, 0.5)
    assert r.json["since"] == "2026-11-01" and r.json["computed_at"]
    by_speed = owner.get(f"/api/v1/analytics/staff-kpis?{NOV}&sort=-resolution_hours").json
    assert [i["resolution_hours"] for i in by_speed["items"]] == [24.0, 72.0, None]
    north = owner.get(f"/api/v1/analytics/staff-kpis?{NOV}&department=North").json
    assert [i["name"] for i in north["items"]] == ["Alice"]


def test_agent_gets_only_their_own_row(team):
    _owner, alice, built = team
    r = alice.get(f"/api/v1/analytics/staff-kpis?{NOV}")
    assert r.status_code == 200
    assert [i["staff_id"] for i in r.json["items"]] == [str(built.alice)]
    mine = alice.get(f"/api/v1/analytics/staff-kpis/{built.alice}?{NOV}")
    assert mine.status_code == 200 and mine.json["staff"]["revenue"] == "120.00"


def test_agent_asking_for_a_colleague_is_403(team):
    _owner, alice, built = team
    r = alice.get(f"/api/v1/analytics/staff-kpis/{built.bob}")
    assert r.status_code == 403


def test_other_tenants_staff_is_404(team, api_client):
    owner, _alice, _built = team
    stranger = api_client()
    assert owner.get(f"/api/v1/analytics/staff-kpis/{stranger.staff_id}").status_code == 404
    assert owner.get("/api/v1/analytics/staff-kpis/not-a-uuid").status_code == 404


@pytest.mark.parametrize(("query", "field"), [
    ("since=2026-11-30&until=2026-11-01", "until"),
    ("since=2024-01-01&until=2026-11-30", "since"),
    ("sort=-salary", "sort"),
    ("since=yesterday", "since"),
])
def test_bad_query_is_422_naming_the_field(api_client, query, field):
    r = api_client().get(f"/api/v1/analytics/staff-kpis?{query}")
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]


@pytest.fixture
def risky(app, client, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        alice_id, bob_id, ids = kpi_world.at_risk_shop(tenant, add_staff)
        db.session.remove()
    return (_client_for(app, client, tenant, tenant.owner_id, "owner"),
            _client_for(app, client, tenant, alice_id), ids, bob_id)


def test_at_risk_lists_my_customers_with_reasons_in_words(risky):
    _owner, alice, ids, _bob = risky
    r = alice.get("/api/v1/analytics/at-risk")
    assert r.status_code == 200, r.json
    [row] = r.json["items"]
    assert row["customer_id"] == str(ids["Lapsed A"])
    assert row["reasons"] == ["bought every 30 days, nothing for 75 days"]
    assert row["reason_codes"] == [{"code": "purchase_rhythm",
                                    "params": {"rhythm": 30, "days": 75}}]
    assert row["value_at_stake"] == "40.00"


def test_manager_picks_an_owner_a_department_or_everyone(risky):
    owner, _alice, ids, bob = risky
    everyone = owner.get("/api/v1/analytics/at-risk?everyone=true").json["items"]
    assert [i["customer_id"] for i in everyone] == [str(ids["Lapsed B"]), str(ids["Lapsed A"])]
    bobs = owner.get(f"/api/v1/analytics/at-risk?owner_id={bob}").json["items"]
    assert [i["customer_id"] for i in bobs] == [str(ids["Lapsed B"])]
    north = owner.get("/api/v1/analytics/at-risk?department=North").json["items"]
    assert [i["customer_id"] for i in north] == [str(ids["Lapsed A"])]
    assert owner.get("/api/v1/analytics/at-risk").json["items"] == []  # owns none
    churn = owner.get("/api/v1/analytics/churn?department=North&at_risk=true").json
    assert [i["customer_id"] for i in churn["items"]] == [str(ids["Lapsed A"])]


def test_agent_cannot_see_other_owners_at_risk_customers(risky):
    _owner, alice, _ids, bob = risky
    assert alice.get(f"/api/v1/analytics/at-risk?owner_id={bob}").status_code == 403
    assert alice.get("/api/v1/analytics/at-risk?everyone=true").status_code == 403
    assert alice.get("/api/v1/analytics/at-risk?department=North").status_code == 403


def test_at_risk_owner_of_another_tenant_is_404(risky, api_client):
    owner, _alice, _ids, _bob = risky
    stranger = api_client()
    r = owner.get(f"/api/v1/analytics/at-risk?owner_id={stranger.staff_id}")
    assert r.status_code == 404


def test_at_risk_bad_limit_is_422(risky):
    owner, _alice, _ids, _bob = risky
    r = owner.get("/api/v1/analytics/at-risk?limit=0")
    assert r.status_code == 422 and "limit" in r.json["errors"]


def test_back_test_rejects_a_horizon_that_has_not_passed(api_client):
    api = api_client()
    today = utcnow().date().isoformat()
    r = api.get(f"/api/v1/analytics/churn/back-test?as_of={today}&days=30")
    assert r.status_code == 422 and "as_of" in r.json["errors"]
