"""Issue 11 on segments: counted or listed for a staff member, a rule may not name a field
hidden (or masked) for their role — 422 naming it, like the same customer-list filter —
and only customers in their row scope are counted and listed. The owner is the control;
campaign audiences (run by the system) are not limited.

World: three customers of the owner with purchasing power high, high, low, and one of
the agent with high. The agent's scope is "own"; purchasing power is hidden from agents
in the tests that say so.
"""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import customers as customer_service
from saas.services import segments as segment_service
from saas.services.context import Actor

API = "/api/v1"
HIGH = {"all": [{"field": "purchasing_power", "op": "=", "value": "high"}]}
CATEGORY = {"all": [{"field": "category", "op": "=", "value": "VIP"}]}


@pytest.fixture
def world(app, api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    with app.app_context():
        owner.tenant.bind()
        actor = owner.tenant.owner_actor()
        for name, power, staff in (("O1", "high", owner), ("O2", "high", owner),
                                   ("O3", "low", owner), ("A1", "high", agent)):
            customer_service.create_customer(db.session, actor, {
                "name": name, "purchasing_power": power, "category": "VIP",
                "owner_id": str(staff.staff_id)})
        db.session.commit()
        db.session.remove()
    r = owner.put(f"{API}/privacy/row-scopes", json={"role": "agent", "scope": "own"})
    assert r.status_code == 200, r.get_json()
    sid = owner.post(f"{API}/segments", json={"name": "High", "rule": HIGH}).get_json()["id"]
    return owner, agent, sid


def hide_purchasing_power(owner):
    r = owner.put(f"{API}/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "purchasing_power", "level": "hidden"}],
        "confirm": True})
    assert r.status_code == 200, r.get_json()


def test_count_and_members_are_limited_to_the_row_scope(world):
    owner, agent, sid = world
    assert agent.post(f"{API}/segments/count", json={"rule": HIGH}).get_json() == {"count": 1}
    assert agent.get(f"{API}/segments/{sid}").get_json()["count"] == 1
    assert [m["name"] for m in agent.get(f"{API}/segments/{sid}/members").get_json()] == [
        "A1"]
    assert owner.post(f"{API}/segments/count", json={"rule": HIGH}).get_json() == {"count": 3}
    assert owner.get(f"{API}/segments/{sid}").get_json()["count"] == 3
    assert [m["name"] for m in owner.get(f"{API}/segments/{sid}/members").get_json()] == [
        "A1", "O1", "O2"]


def test_rule_on_a_hidden_field_is_422_naming_it_like_the_list_filter(world):
    owner, agent, _sid = world
    hide_purchasing_power(owner)
    assert agent.get(f"{API}/customers?purchasing_power=high").status_code == 422
    nested = {"any": [{"field": "category", "op": "=", "value": "VIP"},
                      {"all": [{"field": "purchasing_power", "op": "in",
                                "value": ["high", "low"]}]}]}
    for rule, path in ((HIGH, "rule.all.0.field"), (nested, "rule.any.1.all.0.field")):
        r = agent.post(f"{API}/segments/count", json={"rule": rule})
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["errors"] == {path: ["You may not filter on this field."]}
        assert "purchasing_power" in r.get_json()["message"]
        assert owner.post(f"{API}/segments/count", json={"rule": rule}).status_code == 200
    assert agent.post(f"{API}/segments/count", json={"rule": CATEGORY}).get_json() == {
        "count": 1}


def test_saved_segment_on_a_hidden_field_shows_no_count_or_members(world):
    owner, agent, sid = world
    hide_purchasing_power(owner)
    seg = agent.get(f"{API}/segments/{sid}").get_json()
    assert seg["count"] is None
    assert seg["problems"] == {"rule.all.0.field": ["You may not filter on this field."]}
    r = agent.get(f"{API}/segments/{sid}/members")
    assert r.status_code == 422 and "purchasing_power" in r.get_json()["message"]
    assert owner.get(f"{API}/segments/{sid}").get_json()["count"] == 3
    assert len(owner.get(f"{API}/segments/{sid}/members").get_json()) == 3


def test_masked_custom_field_and_hidden_order_amounts_count_as_hidden(world):
    owner, agent, _sid = world
    assert owner.post(f"{API}/custom-fields", json={"key": "code", "label": "Code",
                                                    "type": "text"}).status_code == 201
    r = owner.put(f"{API}/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "cf.code", "level": "masked"},
        {"role": "agent", "field": "order_amounts", "level": "hidden"}]})
    assert r.status_code == 200, r.get_json()
    rule = {"all": [{"custom_field": "code", "op": "=", "value": "x"},
                    {"measure": "spend_12m", "op": ">=", "value": 10},
                    {"measure": "order_count", "op": ">=", "value": 1}]}
    r = agent.post(f"{API}/segments/count", json={"rule": rule})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {
        "rule.all.0.custom_field": ["You may not filter on this field."],
        "rule.all.1.measure": ["You may not filter on this field."]}
    assert "cf.code" in r.get_json()["message"] and "order_amounts" in r.get_json()["message"]
    assert owner.post(f"{API}/segments/count", json={"rule": rule}).status_code == 200


def test_manager_cannot_save_a_segment_on_a_field_hidden_from_managers(api_client, world):
    owner, _agent, _sid = world
    manager = api_client("manager", tenant=owner.tenant)
    r = owner.put(f"{API}/privacy/field-permissions", json={"changes": [
        {"role": "manager", "field": "purchasing_power", "level": "hidden"}],
        "confirm": True})
    assert r.status_code == 200, r.get_json()
    r = manager.post(f"{API}/segments", json={"name": "Rich", "rule": HIGH})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"rule.all.0.field": ["You may not filter on this field."]}
    r = manager.post(f"{API}/segments", json={"name": "VIP", "rule": CATEGORY})
    assert r.status_code == 201, r.get_json()
    r = manager.patch(f"{API}/segments/{r.get_json()['id']}", json={"rule": HIGH})
    assert r.status_code == 422


def test_the_system_counts_every_customer_whatever_the_rule(app, world):
    owner, _agent, sid = world
    hide_purchasing_power(owner)
    with app.app_context():
        owner.tenant.bind()
        assert segment_service.count(db.session, sid) == 3
        assert segment_service.count(db.session, sid, Actor.system("campaigns")) == 3
        db.session.remove()


def test_another_tenants_segment_is_404(api_client, world):
    _owner, agent, _sid = world
    stranger = api_client("owner")
    other = stranger.post(f"{API}/segments", json={"name": "S", "rule": CATEGORY}).get_json()
    assert agent.get(f"{API}/segments/{other['id']}").status_code == 404
    assert agent.get(f"{API}/segments/{other['id']}/members").status_code == 404


def test_readonly_token_may_count_but_not_save(api_client, world):
    owner, _agent, _sid = world
    reader = api_client("readonly", tenant=owner.tenant)
    assert reader.post(f"{API}/segments/count", json={"rule": HIGH}).get_json() == {
        "count": 3}
    assert reader.post(f"{API}/segments", json={"name": "R", "rule": HIGH}
                       ).status_code == 403
