"""Return visits over the API: plans, my visits, recording, report, errors."""

from __future__ import annotations

from saas.extensions import db
from saas.services import customers, tiers, visits


def _tier_customer(app, tenant, staff_id, tier="A"):
    with app.app_context():
        tenant.bind()
        by_name = {t.name: t for t in tiers.list_tiers(db.session)}
        actor = tenant.owner_actor()
        c = customers.create_customer(db.session, actor, {"name": "Li", "owner_id":
                                                          str(staff_id)})
        tiers.override(db.session, actor, c.id, by_name[tier].id, None)
        visits.generate(db.session)
        db.session.commit()
        ids = {n: t.id for n, t in by_name.items()}
        db.session.remove()
    return ids


def test_record_my_visit_and_see_the_report(app, api_client):
    owner = api_client()
    _tier_customer(app, owner.tenant, owner.staff_id)
    mine = owner.get("/api/v1/visits").json
    [task] = mine["today"]
    bad = owner.post(f"/api/v1/visits/{task['id']}/record", json={"outcome": "ok",
                                                                   "rating": 7})
    assert bad.status_code == 422 and "rating" in bad.json["errors"]
    done = owner.post(f"/api/v1/visits/{task['id']}/record", json={
        "outcome": "Renewed", "rating": 5, "needs": "More tea"})
    assert done.status_code == 200 and done.json["status"] == "done"
    assert done.json["interaction_id"]
    again = owner.post(f"/api/v1/visits/{task['id']}/record", json={"outcome": "x",
                                                                     "rating": 3})
    assert again.status_code == 409
    [row] = [r for r in owner.get("/api/v1/visits/report").json if r["tier"] == "A"]
    assert (row["done"], row["done_on_time"], row["average_rating"]) == (1, 1, 5.0)


def test_plans_crud_and_zero_frequency(app, api_client):
    owner = api_client()
    tier_ids = _tier_customer(app, owner.tenant, owner.staff_id)
    plans = owner.get("/api/v1/visits/plans").json
    assert {p["every_days"] for p in plans} == {90, 180}
    zero = owner.post("/api/v1/visits/plans", json={"tier_id": str(tier_ids["C"]),
                                                    "every_days": 0, "method": "video"})
    assert zero.status_code == 422 and "every_days" in zero.json["errors"]
    made = owner.post("/api/v1/visits/plans", json={"tier_id": str(tier_ids["C"]),
                                                    "every_days": 365, "method": "video"})
    assert made.status_code == 201
    dup = owner.post("/api/v1/visits/plans", json={"tier_id": str(tier_ids["C"]),
                                                   "every_days": 30, "method": "video"})
    assert dup.status_code == 409
    patched = owner.patch(f"/api/v1/visits/plans/{made.json['id']}", json={"every_days": 30})
    assert patched.json["every_days"] == 30
    assert owner.delete(f"/api/v1/visits/plans/{made.json['id']}").status_code == 204


def test_other_tenants_ids_are_404_and_roles_are_checked(app, api_client):
    mine, theirs = api_client(), api_client()
    _tier_customer(app, theirs.tenant, theirs.staff_id)
    [task] = theirs.get("/api/v1/visits").json["today"]
    plan_id = theirs.get("/api/v1/visits/plans").json[0]["id"]
    assert mine.post(f"/api/v1/visits/{task['id']}/record",
                     json={"outcome": "x", "rating": 3}).status_code == 404
    assert mine.patch(f"/api/v1/visits/plans/{plan_id}", json={"every_days": 5}
                      ).status_code == 404
    assert mine.delete(f"/api/v1/visits/plans/{plan_id}").status_code == 404
    agent = api_client(role="agent", tenant=mine.tenant)
    assert agent.post("/api/v1/visits/plans", json={}).status_code == 403
    assert agent.get("/api/v1/visits/report").status_code == 403


def _orders_around_the_visit(app, tenant):
    from datetime import timedelta

    from sqlalchemy import select

    from saas.models.base import utcnow
    from saas.models.visits import VisitTask
    from saas.services import orders, products

    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        task = db.session.scalars(select(VisitTask)).one()
        tea = products.create_product(db.session, actor, {"sku": "T", "name": "Tea",
                                                          "price": "1"})
        for at, price in ((utcnow() - timedelta(days=5), "12.50"), (None, "40")):
            orders.place_order(db.session, actor, task.customer_id, {
                "lines": [{"product_id": str(tea.id), "unit_price": price}],
                **({"placed_at": at.isoformat()} if at else {})})
        db.session.commit()
        db.session.remove()


def test_purchase_effect_report_over_the_api(app, api_client):
    owner = api_client()
    _tier_customer(app, owner.tenant, owner.staff_id)
    [task] = owner.get("/api/v1/visits").json["today"]
    owner.post(f"/api/v1/visits/{task['id']}/record", json={"outcome": "Renewed",
                                                            "rating": 5})
    _orders_around_the_visit(app, owner.tenant)
    resp = owner.get("/api/v1/visits/report/purchases?window_days=30")
    assert resp.status_code == 200
    total = resp.json["total"]
    assert (total["visits"], total["orders_before"], total["orders_after"],
            total["spend_before"], total["spend_after"], total["spend_change"]) == (
        1, 1, 1, "12.50", "40.00", "27.50")
    [outcome] = resp.json["by_outcome"]
    assert outcome["outcome"] == "Renewed" and outcome["bought_after_rate"] == 1.0
    assert [r["tier"] for r in resp.json["by_plan"]] == ["A"]

    bad = owner.get("/api/v1/visits/report/purchases?window_days=0")
    assert bad.status_code == 422 and "window_days" in bad.json["errors"]
    bad = owner.get("/api/v1/visits/report/purchases?since=2026-05-01&until=2026-04-01")
    assert bad.status_code == 422 and "until" in bad.json["errors"]
    other = api_client()
    assert other.get("/api/v1/visits/report/purchases").json["total"]["visits"] == 0
    agent = api_client(role="agent", tenant=owner.tenant)
    assert agent.get("/api/v1/visits/report/purchases").status_code == 403
