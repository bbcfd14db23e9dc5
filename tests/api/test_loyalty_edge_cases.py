"""The issue's bad-input list over the API: expired and already-used coupons, referral
codes of another tenant, self-referral and loops, membership levels by spend over a
window — each a clear 4xx naming the field, with nothing half-written."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from saas.extensions import db
from saas.models.base import utcnow
from saas.services import customers, loyalty
from tests.services.tiers_world import World


@pytest.fixture
def owner(api_client):
    return api_client(role="owner")


def _customer(app, tenant, name="C", points=0) -> str:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        c = customers.create_customer(db.session, actor, {"name": name})
        if points:
            loyalty.adjust(db.session, actor, c.id, points, "start")
        db.session.commit()
        cid = str(c.id)
        db.session.remove()
    return cid


def _coupon(owner, cid, valid_days=None) -> str:
    reward = owner.post("/api/v1/loyalty/rewards", json={
        "name": f"Coupon {valid_days}", "kind": "discount", "points_cost": 10,
        "discount_percent": 15, "valid_days": valid_days}).get_json()
    r = owner.post(f"/api/v1/loyalty/customers/{cid}/redeem", json={"reward_id": reward["id"]})
    assert r.status_code == 201
    return r.get_json()["coupon_code"]


def test_a_coupon_works_once_and_not_after_it_expires(app, owner):
    cid = _customer(app, owner.tenant, points=100)
    code = _coupon(owner, cid)
    used = owner.post("/api/v1/loyalty/coupons/use", json={"code": code.lower(),
                                                           "used_on": "order 7"})
    assert used.status_code == 200 and used.get_json()["used_at"]
    again = owner.post("/api/v1/loyalty/coupons/use", json={"code": code})
    assert again.status_code == 409 and again.get_json()["errors"] == {"code": ["Already used."]}
    short = _coupon(owner, cid, valid_days=1)
    with time_machine.travel(utcnow() + timedelta(days=2), tick=False):
        late = owner.post("/api/v1/loyalty/coupons/use", json={"code": short})
    assert late.status_code == 422 and "expired" in late.get_json()["errors"]["code"][0]
    coupons = owner.get(f"/api/v1/loyalty/customers/{cid}").get_json()["coupons"]
    assert sorted(bool(c["used_at"]) for c in coupons) == [False, True]
    for bad in ("", "NOPE-123", 42):
        assert owner.post("/api/v1/loyalty/coupons/use", json={"code": bad}).status_code == 422


def test_another_tenants_coupon_is_unknown(app, owner, api_client):
    other = api_client(role="owner")
    foreign = _coupon(other, _customer(app, other.tenant, points=50))
    r = owner.post("/api/v1/loyalty/coupons/use", json={"code": foreign})
    assert r.status_code == 422 and r.get_json()["errors"]["code"] == ["No such coupon."]
    assert other.post("/api/v1/loyalty/coupons/use", json={"code": foreign}).status_code == 200


def test_referral_codes_self_loops_and_other_tenants(app, owner, api_client):
    alice, bob, carol = (_customer(app, owner.tenant, n) for n in ("Alice", "Bob", "Carol"))
    code = owner.get(f"/api/v1/loyalty/customers/{alice}/referral-code").get_json()["code"]
    assert owner.get(f"/api/v1/loyalty/customers/{alice}/referral-code").get_json()["code"] \
        == code  # one code per customer
    selfie = owner.post(f"/api/v1/loyalty/customers/{alice}/referral", json={"code": code})
    assert selfie.status_code == 422 and "themself" in selfie.get_json()["errors"]["code"][0]
    ok = owner.post(f"/api/v1/loyalty/customers/{bob}/referral", json={"code": code})
    assert ok.status_code == 201 and ok.get_json()["referrer_id"] == alice
    twice = owner.post(f"/api/v1/loyalty/customers/{bob}/referral", json={"code": code})
    assert twice.status_code == 409
    bob_code = owner.get(f"/api/v1/loyalty/customers/{bob}/referral-code").get_json()["code"]
    assert owner.post(f"/api/v1/loyalty/customers/{carol}/referral",
                      json={"code": bob_code}).status_code == 201
    carol_code = owner.get(f"/api/v1/loyalty/customers/{carol}/referral-code").get_json()
    loop = owner.post(f"/api/v1/loyalty/customers/{alice}/referral",
                      json={"code": carol_code["code"]})
    assert loop.status_code == 422 and "loop" in loop.get_json()["errors"]["code"][0]
    other = api_client(role="owner")
    stranger = _customer(app, other.tenant, "Stranger")
    foreign = other.get(f"/api/v1/loyalty/customers/{stranger}/referral-code").get_json()
    dave = _customer(app, owner.tenant, "Dave")
    r = owner.post(f"/api/v1/loyalty/customers/{dave}/referral", json={"code": foreign["code"]})
    assert r.status_code == 422 and r.get_json()["errors"]["code"] == ["Unknown referral code."]
    assert owner.post(f"/api/v1/loyalty/customers/{stranger}/referral",
                      json={"code": code}).status_code == 404


def test_membership_level_by_spend_over_a_window(app, owner):
    cid = _customer(app, owner.tenant, "Spender")
    with app.app_context():
        owner.tenant.bind()
        w = World(owner.tenant)
        c = customers.get_customer(db.session, cid)
        w.order(c, 900, days_ago=200)
        w.order(c, 300, days_ago=20)
        db.session.commit()
        db.session.remove()
    r = owner.post("/api/v1/loyalty/levels", json={
        "name": "Gold", "basis": "spend", "threshold": 1000, "window_months": 3,
        "benefits": "Priority service"})
    assert r.status_code == 201
    assert owner.get(f"/api/v1/loyalty/customers/{cid}").get_json()["level"] is None
    wider = owner.post("/api/v1/loyalty/levels", json={
        "name": "Silver", "basis": "spend", "threshold": 1000, "window_months": 12})
    level = owner.get(f"/api/v1/loyalty/customers/{cid}").get_json()["level"]
    assert level["name"] == "Silver" and level["window_months"] == 12
    bad = owner.post("/api/v1/loyalty/levels", json={
        "name": "", "basis": "mood", "threshold": "lots", "window_months": 500})
    assert bad.status_code == 422
    assert {"name", "basis", "threshold", "window_months"} <= set(bad.get_json()["errors"])
    dup = owner.post("/api/v1/loyalty/levels", json={"name": "Gold", "basis": "points",
                                                     "threshold": 1})
    assert dup.status_code == 409
    assert owner.delete(f"/api/v1/loyalty/levels/{wider.get_json()['id']}").status_code == 204
    assert owner.get(f"/api/v1/loyalty/customers/{cid}").get_json()["level"] is None


def test_levels_of_another_tenant_and_roles(app, owner, api_client):
    other = api_client(role="owner")
    foreign = other.post("/api/v1/loyalty/levels", json={
        "name": "Gold", "basis": "points", "threshold": 10}).get_json()
    assert owner.delete(f"/api/v1/loyalty/levels/{foreign['id']}").status_code == 404
    agent = api_client(role="agent", tenant=owner.tenant)
    assert agent.post("/api/v1/loyalty/levels", json={
        "name": "X", "basis": "points", "threshold": 1}).status_code == 403
    assert agent.get("/api/v1/loyalty/levels").status_code == 200
