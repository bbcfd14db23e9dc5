"""GET /api/v1/customers?segment=... and the CSV export of the same filter: a saved
segment's live members, paged, combined with other filters; bad, foreign and stale
segments are 422 on `segment`."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from saas.extensions import db
from saas.services import custom_fields, measures
from saas.services import segments as segment_service
from tests.services.tiers_world import World


@pytest.fixture
def owner(api_client):
    return api_client(role="owner")


def _world(app, tenant, vips: int = 3, rule=None) -> str:
    """`vips` spending VIPs (in the segment), an idle VIP and a spender without the tag."""
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        for i in range(vips):
            w.order(w.customer(f"Vip {i}", tags=["vip"]), 200 + i, days_ago=2)
        w.customer("Vip Idle", tags=["vip"])
        w.order(w.customer("Plain"), 900, days_ago=1)
        measures.refresh_all(db.session)
        seg = segment_service.create_segment(db.session, tenant.owner_actor(), {
            "name": "Spending VIPs", "rule": rule or {"all": [
                {"tag": "vip"}, {"measure": "order_count", "op": ">=", "value": 1}]}})
        db.session.commit()
        sid = str(seg.id)
        db.session.remove()
    return sid


def test_segment_filter_pages_through_the_members(app, owner):
    sid = _world(app, owner.tenant)
    first = owner.get(f"/api/v1/customers?segment={sid}&sort=name&limit=2").get_json()
    assert [c["name"] for c in first["items"]] == ["Vip 0", "Vip 1"]
    rest = owner.get(f"/api/v1/customers?segment={sid}&sort=name&limit=2"
                     f"&cursor={first['next_cursor']}").get_json()
    assert [c["name"] for c in rest["items"]] == ["Vip 2"] and rest["next_cursor"] is None
    narrowed = owner.get(f"/api/v1/customers?segment={sid}&q=Vip 1").get_json()
    assert [c["name"] for c in narrowed["items"]] == ["Vip 1"]
    everyone = owner.get("/api/v1/customers?limit=50").get_json()
    assert len(everyone["items"]) == 5


def test_export_takes_the_segment_filter(app, owner):
    sid = _world(app, owner.tenant, vips=2)
    r = owner.get(f"/api/v1/exports/customers?segment={sid}&sort=name")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["name"] for row in rows] == ["Vip 0", "Vip 1"]


def test_unknown_malformed_and_foreign_segments_are_422_on_segment(app, owner, api_client):
    _world(app, owner.tenant, vips=1)
    other = api_client(role="owner")
    foreign = _world(app, other.tenant, vips=1)
    for value in (foreign, str(uuid.uuid4()), "nope"):
        r = owner.get(f"/api/v1/customers?segment={value}")
        assert r.status_code == 422, value
        assert r.get_json()["errors"]["segment"] == ["No such segment."]
    assert owner.get(f"/api/v1/exports/customers?segment={foreign}").status_code == 422


def test_a_stale_segment_is_refused_until_its_rule_is_fixed(app, owner):
    with app.app_context():
        owner.tenant.bind()
        field = custom_fields.create_definition(db.session, owner.tenant.owner_actor(),
                                                "seats", "Seats", "number")
        db.session.commit()
        field_id = field.id
        db.session.remove()
    sid = _world(app, owner.tenant, rule={"all": [
        {"custom_field": "seats", "op": ">", "value": 10}]})
    with app.app_context():
        owner.tenant.bind()
        custom_fields.delete_definition(db.session, owner.tenant.owner_actor(), field_id)
        db.session.commit()
        db.session.remove()
    r = owner.get(f"/api/v1/customers?segment={sid}")
    assert r.status_code == 422 and "deleted" in r.get_json()["errors"]["segment"][0]
    body = owner.get(f"/api/v1/segments/{sid}").get_json()
    assert body["count"] is None
    assert "rule.all.0.custom_field" in body["problems"]
    assert owner.get(f"/api/v1/segments/{sid}/members").status_code == 422
    fixed = owner.patch(f"/api/v1/segments/{sid}", json={"rule": {"all": [{"tag": "vip"}]}})
    assert fixed.status_code == 200
    assert owner.get(f"/api/v1/segments/{sid}").get_json()["problems"] == {}
    assert len(owner.get(f"/api/v1/customers?segment={sid}").get_json()["items"]) == 4


def test_read_token_of_a_readonly_member_may_filter(app, api_client):
    reader = api_client(role="readonly", scope="read")
    sid = _world(app, reader.tenant, vips=1)
    r = reader.get(f"/api/v1/customers?segment={sid}")
    assert r.status_code == 200 and [c["name"] for c in r.get_json()["items"]] == ["Vip 0"]
