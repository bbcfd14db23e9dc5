"""Tiers, segments and loyalty over the API: happy paths, field errors, permissions and
other tenants' ids."""

from __future__ import annotations

import uuid

import pytest

from saas.extensions import db
from saas.services import customers, loyalty


@pytest.fixture
def owner(api_client):
    return api_client(role="owner")


def _customer(app, tenant, name="C", points=0):
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        c = customers.create_customer(db.session, actor, {"name": name})
        if points:
            loyalty.adjust(db.session, actor, c.id, points, "start")
        db.session.commit()
        return c.id


def test_tiers_preview_apply_and_customer_history(app, owner):
    cid = _customer(app, owner.tenant)
    tiers = owner.get("/api/v1/tiers").get_json()
    assert [t["name"] for t in tiers] == ["A", "B", "C"]
    preview = owner.post("/api/v1/tiers/preview", json={}).get_json()
    assert preview["moves"] == [{"from": None, "to": "C", "count": 1}]
    assert owner.post("/api/v1/tiers/apply").get_json() == {"version": 1, "moved": 1}
    body = owner.get(f"/api/v1/tiers/customers/{cid}").get_json()
    assert body["tier"] == "C" and body["history"][0]["rule_version"] == 1
    a_id = tiers[0]["id"]
    r = owner.post(f"/api/v1/tiers/customers/{cid}/override", json={"tier_id": a_id})
    assert r.status_code == 200 and r.get_json()["source"] == "manual"
    assert owner.delete(f"/api/v1/tiers/customers/{cid}/override").status_code == 204


def test_bad_tiers_name_the_field(owner):
    r = owner.put("/api/v1/tiers", json={"tiers": [
        {"name": "A", "rule": {"all": [{"measure": "spend_12m", "op": ">=", "value": "x"}]}}]})
    assert r.status_code == 422
    assert "tiers.0.rule.all.0.value" in r.get_json()["errors"]
    assert owner.put("/api/v1/tiers", json={"tiers": [], "extra": 1}).status_code == 422


def test_redeem_and_insufficient_points(app, owner):
    cid = _customer(app, owner.tenant, points=150)
    reward = owner.post("/api/v1/loyalty/rewards", json={
        "name": "Mug", "kind": "gift", "points_cost": 100, "stock": 5}).get_json()
    r = owner.post(f"/api/v1/loyalty/customers/{cid}/redeem", json={"reward_id": reward["id"]})
    assert r.status_code == 201
    r = owner.post(f"/api/v1/loyalty/customers/{cid}/redeem", json={"reward_id": reward["id"]})
    assert r.status_code == 422 and "points" in r.get_json()["errors"]
    body = owner.get(f"/api/v1/loyalty/customers/{cid}").get_json()
    assert body["balance"] == 50 and [e["kind"] for e in body["entries"]] == ["redeem",
                                                                            "adjust"]


def test_segments_crud_with_live_count(app, owner):
    _customer(app, owner.tenant)
    r = owner.post("/api/v1/segments", json={"name": "All", "rule": {"all": []}})
    assert r.status_code == 201
    sid = r.get_json()["id"]
    assert owner.get(f"/api/v1/segments/{sid}").get_json()["count"] == 1
    assert owner.post("/api/v1/segments/count", json={"rule": {"any": []}}).get_json() == \
        {"count": 0}
    r = owner.post("/api/v1/segments", json={"name": "Bad", "rule": {"all": [
        {"custom_field": "gone", "op": "=", "value": "x"}]}})
    assert r.status_code == 422 and "rule.all.0.custom_field" in r.get_json()["errors"]
    assert owner.delete(f"/api/v1/segments/{sid}").status_code == 204


def test_other_tenants_ids_are_404(app, owner, api_client):
    other = api_client(role="owner")
    foreign = _customer(app, other.tenant)
    seg = other.post("/api/v1/segments", json={"name": "S", "rule": {"all": []}}).get_json()
    assert owner.get(f"/api/v1/loyalty/customers/{foreign}").status_code == 404
    assert owner.get(f"/api/v1/tiers/customers/{foreign}").status_code == 404
    assert owner.get(f"/api/v1/segments/{seg['id']}").status_code == 404
    assert owner.get(f"/api/v1/segments/{uuid.uuid4()}").status_code == 404
    assert owner.post(f"/api/v1/loyalty/customers/{foreign}/adjust",
                      json={"points": 5, "reason": "x"}).status_code == 404


def test_permissions_and_read_tokens(app, api_client):
    agent = api_client(role="agent")
    assert agent.put("/api/v1/tiers", json={"tiers": []}).status_code == 403
    assert agent.post("/api/v1/loyalty/rewards", json={}).status_code == 403
    reader = api_client(role="owner", scope="read")
    cid = _customer(app, reader.tenant)
    assert reader.post(f"/api/v1/loyalty/customers/{cid}/adjust",
                       json={"points": 5, "reason": "x"}).status_code == 403
    assert reader.get(f"/api/v1/loyalty/customers/{cid}").status_code == 200
