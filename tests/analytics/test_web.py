"""Analytics pages: at-risk list, back-test, bundles, team and own KPIs, the 360 panel."""

from __future__ import annotations

from datetime import timedelta

import pytest

from saas.analytics import refresh
from saas.extensions import db
from saas.models.base import utcnow
from saas.web import customer_panels
from tests.analytics import kpi_world, world
from tests.api.conftest import add_staff
from tests.web.helpers import login, login_as


@pytest.fixture
def risky(app, make_tenant):
    def make(locale="en"):
        tenant = make_tenant(locale=locale)
        with app.app_context():
            alice, bob, ids = kpi_world.at_risk_shop(tenant, add_staff)
            db.session.remove()
        return tenant, alice, bob, ids
    return make


def _alice(client, tenant):
    login(client, tenant, f"alice@{tenant.slug}.example.com")


def test_agent_sees_own_at_risk_customers_with_reasons(client, risky):
    tenant, _alice_id, _bob, _ids = risky()
    _alice(client, tenant)
    html = client.get(f"/t/{tenant.slug}/analytics/at-risk").get_data(as_text=True)
    assert "Lapsed A" in html and "Lapsed B" not in html and "Steady" not in html
    assert "bought every 30 days, nothing for 75 days" in html
    assert 'name="owner"' not in html  # no owner picker for agents
    assert f'href="/t/{tenant.slug}/analytics/at-risk"' in html  # in the menu
    assert "/analytics/me" in html and "/analytics/team" not in html


def test_reasons_are_shown_in_chinese_for_a_chinese_tenant(client, risky):
    tenant, *_ = risky(locale="zh_CN")
    _alice(client, tenant)
    html = client.get(f"/t/{tenant.slug}/analytics/at-risk").get_data(as_text=True)
    assert "bought every" not in html
    assert "每 30 天" in html and "75 天" in html


def test_agent_cannot_pick_another_owner_or_everyone(client, risky):
    tenant, _alice_id, bob, _ids = risky()
    _alice(client, tenant)
    assert client.get(f"/t/{tenant.slug}/analytics/at-risk?owner=all").status_code == 403
    assert client.get(f"/t/{tenant.slug}/analytics/at-risk?owner={bob}").status_code == 403
    assert client.get(f"/t/{tenant.slug}/analytics/team").status_code == 403
    assert client.get(f"/t/{tenant.slug}/analytics/bundles").status_code == 403
    assert client.get(f"/t/{tenant.slug}/analytics/back-test").status_code == 403
    assert client.post(f"/t/{tenant.slug}/analytics/recompute").status_code == 403


def test_manager_picks_owner_department_or_everyone(app, client, risky):
    tenant, _alice_id, bob, _ids = risky()
    login_as(app, client, tenant, "manager")
    base = f"/t/{tenant.slug}/analytics/at-risk"
    everyone = client.get(f"{base}?owner=all").get_data(as_text=True)
    assert everyone.index("Lapsed B") < everyone.index("Lapsed A")  # by value at stake
    bobs = client.get(f"{base}?owner={bob}").get_data(as_text=True)
    assert "Lapsed B" in bobs and "Lapsed A" not in bobs
    north = client.get(f"{base}?department=North").get_data(as_text=True)
    assert "Lapsed A" in north and "Lapsed B" not in north


def test_bad_owner_is_a_form_message_and_another_tenants_owner_is_404(
        app, client, risky, make_tenant):
    tenant, *_ = risky()
    other = make_tenant()
    login(client, tenant)
    r = client.get(f"/t/{tenant.slug}/analytics/at-risk?owner=nobody")
    assert r.status_code == 422 and "Choose someone from the list." in r.get_data(as_text=True)
    r = client.get(f"/t/{tenant.slug}/analytics/at-risk?owner={other.owner_id}")
    assert r.status_code == 404


def test_back_test_page_shows_the_figures_and_rejects_bad_input(client, risky):
    tenant, *_ = risky()
    login(client, tenant)
    base = f"/t/{tenant.slug}/analytics/back-test"
    as_of = (utcnow() - timedelta(days=60)).date().isoformat()
    r = client.get(f"{base}?as_of={as_of}&days=50")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="back-test"' in html
    assert "Churned and flagged ahead of time" in html
    r = client.get(f"{base}?as_of=someday")
    assert r.status_code == 422 and "YYYY-MM-DD" in r.get_data(as_text=True)
    r = client.get(f"{base}?as_of={utcnow().date().isoformat()}&days=30")
    assert r.status_code == 422 and "must be in the past" in r.get_data(as_text=True)
    assert client.get(f"{base}?days=3").status_code == 422
    assert client.get(f"{base}?days=many").status_code == 422


@pytest.fixture
def shop(app, make_tenant):
    """Eight buyers of {A, B} every 30 days (the last one stopped), analytics computed."""
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        world.products(actor, "A", "B", "C")
        now = utcnow()
        ids = []
        for i in range(8):
            c = world.customer(actor, f"Buyer {i}")
            ids.append(c.id)
            start = 200 if i == 7 else 95 - i
            for k in range(3):
                world.order(actor, c.id, ["A", "B"] if k else ["A"],
                            at=now - timedelta(days=start - 30 * k), price="20.00")
        only_a = world.customer(actor, "Only A")
        world.order(actor, only_a.id, ["A"], at=now - timedelta(days=5))
        ids.append(only_a.id)
        refresh.refresh_all(db.session)
        db.session.commit()
        db.session.remove()
    return tenant, ids


def test_bundles_page_lists_rules_sortable(client, shop):
    tenant, _ids = shop
    login(client, tenant)
    r = client.get(f"/t/{tenant.slug}/analytics/bundles?sort=-support")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Product A" in html and "Product B" in html
    assert "Support ↓" in html
    assert client.get(f"/t/{tenant.slug}/analytics/bundles?sort=nonsense").status_code == 200


def test_customer_360_shows_churn_clv_and_next_product(client, shop):
    tenant, ids = shop
    login(client, tenant)
    lapsed = client.get(f"/t/{tenant.slug}/customers/{ids[7]}").get_data(as_text=True)
    assert 'id="analytics-panel"' in lapsed and "At risk" in lapsed
    assert "bought every 30 days" in lapsed and "P(alive)" in lapsed
    assert 'id="loyalty-panel"' in lapsed  # the loyalty panel comes through the registry
    only_a = client.get(f"/t/{tenant.slug}/customers/{ids[8]}").get_data(as_text=True)
    assert 'id="recommendations"' in only_a and "Product B" in only_a


def test_a_registered_panel_appears_and_respects_its_permission(app, client, shop):
    tenant, ids = shop
    login_as(app, client, tenant, "agent")
    customer_panels.register_panel("probe", "analytics/_customer_panel.html",
                                   context=lambda c: {"churn": None, "clv": None,
                                                      "recommendations": []},
                                   permission="settings.manage", order=1)
    try:
        html = client.get(f"/t/{tenant.slug}/customers/{ids[0]}").get_data(as_text=True)
        assert html.count('id="analytics-panel"') == 1  # the agent cannot see "probe"
        customer_panels.register_panel("probe", "analytics/_customer_panel.html",
                                       context=lambda c: {"churn": None, "clv": None,
                                                          "recommendations": []}, order=1)
        html = client.get(f"/t/{tenant.slug}/customers/{ids[0]}").get_data(as_text=True)
        assert html.count('id="analytics-panel"') == 2
    finally:
        customer_panels.unregister_panel("probe")


def test_recompute_button_queues_and_redirects(client, shop):
    tenant, _ids = shop
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/analytics/recompute", data={"back": "bundles"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/analytics/bundles")


@pytest.fixture
def team(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        built = kpi_world.build(tenant, add_staff)
        db.session.remove()
    return tenant, built


def test_team_page_ranks_and_sorts_by_each_kpi(client, team):
    tenant, _built = team
    login(client, tenant)
    base = f"/t/{tenant.slug}/analytics/team?since=2026-11-01&until=2026-11-30"
    html = client.get(base).get_data(as_text=True)
    assert html.index("Alice") < html.index("Bob")
    assert "120.00" in html and "4.5" in html and "33.3" in html
    by_response = client.get(f"{base}&sort=first_response_hours").get_data(as_text=True)
    assert by_response.index("Bob") < by_response.index("Alice")  # slowest first
    north = client.get(f"{base}&department=North").get_data(as_text=True)
    assert "Alice" in north and "Bob" not in north


def test_team_page_bad_period_is_422_with_a_message(client, team):
    tenant, _built = team
    login(client, tenant)
    r = client.get(f"/t/{tenant.slug}/analytics/team?since=2026-11-30&until=2026-11-01")
    assert r.status_code == 422 and "The end is before the start." in r.get_data(as_text=True)
    r = client.get(f"/t/{tenant.slug}/analytics/team?since=soon")
    assert r.status_code == 422 and "YYYY-MM-DD" in r.get_data(as_text=True)
    r = client.get(f"/t/{tenant.slug}/analytics/team?sort=salary")
    assert r.status_code == 422


def test_my_performance_shows_only_my_row(client, team):
    tenant, _built = team
    _alice(client, tenant)
    r = client.get(f"/t/{tenant.slug}/analytics/me?since=2026-11-01&until=2026-11-30")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Alice" in html and "Bob" not in html
    assert "120.00" in html
