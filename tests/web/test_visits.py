"""Return-visit pages: my visits with recording, plans (zero frequency refused), report."""

from __future__ import annotations

import re

from sqlalchemy import select

from saas.extensions import db
from saas.models.visits import VisitPlan, VisitTask
from saas.services import customers, tiers, visits
from tests.web.helpers import field_errors, login, login_as


def _setup(app, tenant):
    with app.app_context():
        tenant.bind()
        by_name = {t.name: t for t in tiers.list_tiers(db.session)}
        actor = tenant.owner_actor()
        c = customers.create_customer(db.session, actor, {"name": "Wang Fang",
                                                          "owner_id": str(tenant.owner_id)})
        tiers.override(db.session, actor, c.id, by_name["A"].id, None)
        visits.generate(db.session)
        db.session.commit()
        task_id = db.session.scalars(select(VisitTask.id)).one()
        ids = {n: t.id for n, t in by_name.items()}
        db.session.remove()
    return task_id, ids


def test_record_a_visit_from_my_visits(app, client, make_tenant):
    tenant = make_tenant()
    task_id, _ids = _setup(app, tenant)
    login(client, tenant)
    page = client.get(f"/t/{tenant.slug}/visits/").get_data(as_text=True)
    assert "Wang Fang" in page
    assert client.get(f"/t/{tenant.slug}/visits/{task_id}/record").status_code == 200
    bad = client.post(f"/t/{tenant.slug}/visits/{task_id}/record",
                      data={"outcome": "", "rating": "5"})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True), "outcome")
    ok = client.post(f"/t/{tenant.slug}/visits/{task_id}/record",
                     data={"outcome": "Renewed contract", "rating": "4", "needs": "",
                           "next_step": "Call in March"})
    assert ok.status_code == 302
    report = client.get(f"/t/{tenant.slug}/visits/report").get_data(as_text=True)
    assert "Renewed contract (1)" in report
    assert "Effect on later purchases" in report


def test_report_shows_purchases_before_and_after_visits(app, client, make_tenant):
    from tests.api.test_visits import _orders_around_the_visit

    tenant = make_tenant()
    task_id, _ids = _setup(app, tenant)
    login(client, tenant)
    client.post(f"/t/{tenant.slug}/visits/{task_id}/record",
                data={"outcome": "Renewed contract", "rating": "4"})
    _orders_around_the_visit(app, tenant)
    page = client.get(f"/t/{tenant.slug}/visits/report?window_days=30")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    by_plan = html[html.index('id="effect-by_plan"'):html.index('id="effect-by_method"')]
    cells = [c.strip() for c in re.findall(r"<td>(.*?)</td>", by_plan, re.S)]
    assert cells[1:7] == ["1", "1", "1", "12.50", "40.00", "+27.50"]
    bad = client.get(f"/t/{tenant.slug}/visits/report?window_days=0").get_data(as_text=True)
    assert "a window of 1 to 365 days" in bad and 'value="30"' in bad


def test_zero_frequency_plan_shows_a_field_error(app, client, make_tenant):
    tenant = make_tenant()
    _task, ids = _setup(app, tenant)
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/visits/plans", data={
        "tier_id": str(ids["C"]), "every_days": "0", "method": "video", "assignee_id": ""})
    assert resp.status_code == 422
    assert "at least every 1 day" in field_errors(resp.get_data(as_text=True), "every_days")
    ok = client.post(f"/t/{tenant.slug}/visits/plans", data={
        "tier_id": str(ids["C"]), "every_days": "365", "method": "video", "assignee_id": ""})
    assert ok.status_code == 302
    with app.app_context():
        tenant.bind()
        assert db.session.scalars(select(VisitPlan.every_days).where(
            VisitPlan.tier_id == ids["C"])).one() == 365
        db.session.remove()


def test_agent_cannot_manage_plans_and_other_tenants_visit_is_404(app, client, make_tenant):
    tenant, other = make_tenant(), make_tenant()
    task_id, ids = _setup(app, other)
    login_as(app, client, tenant, "agent")
    assert client.get(f"/t/{tenant.slug}/visits/plans").status_code == 200
    assert client.post(f"/t/{tenant.slug}/visits/plans", data={}).status_code == 403
    assert client.post(f"/t/{tenant.slug}/visits/{task_id}/record",
                       data={"outcome": "x", "rating": "3"}).status_code == 404
