"""Issue 11 in the duplicates queue and saved views (API).

Duplicate pairs show both customers with the caller's field levels applied (masked →
masked value, hidden → absent) and each reason's shared value the same way (null when
hidden; the reason itself stays). A saved view whose filter's field became hidden for
the caller's role says so (`left_out`) and offers the filters it can still apply; it is
neither refused as a whole nor broadened silently.
"""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.models import Staff
from saas.services import customers as customer_service

PHONE, PHONE_MASKED = "+8613800138000", "+86138****8000"
EMAIL, EMAIL_MASKED = "ann@example.com", "a****@example.com"
ADDRESS, ADDRESS_MASKED = "1 Nanjing Road", "1****"
SCOPES = {"manager": "department", "agent": "own", "readonly": "own"}


def _set_level(owner, role, levels: dict[str, str]) -> None:
    resp = owner.put("/api/v1/privacy/field-permissions", json={"changes": [
        {"role": role, "field": f, "level": lv} for f, lv in levels.items()]})
    assert resp.status_code == 200, resp.get_json()


def _twins(app, owner, staff_id=None, department=None) -> tuple[str, str]:
    """Two records of one person: same phone, email and address, similar names."""
    with app.app_context():
        owner.tenant.bind()
        actor = owner.tenant.owner_actor()
        ids = []
        for name, external in (("Ann Lee", "X-1"), ("Ann Lee Co", "X-2")):
            ids.append(str(customer_service.create_customer(db.session, actor, {
                "name": name, "phones": ["13800138000"], "emails": [EMAIL],
                "address": ADDRESS, "external_id": external, "department": department,
                "owner_id": str(staff_id or owner.staff_id)}).id))
        db.session.commit()
        db.session.remove()
    return ids[0], ids[1]


def _pair(client, ids) -> dict:
    resp = client.get("/api/v1/duplicates?limit=50")
    assert resp.status_code == 200, resp.get_json()
    found = [p for p in resp.get_json()["items"]
             if {p["first"]["id"], p["second"]["id"]} == set(ids)]
    assert len(found) == 1, resp.get_json()
    return found[0]


@pytest.mark.parametrize("role", sorted(SCOPES))
def test_duplicate_pairs_apply_the_callers_field_levels(app, api_client, role):
    owner = api_client("owner")
    viewer = api_client(role, tenant=owner.tenant)
    with app.app_context():
        owner.tenant.bind()
        db.session.get(Staff, (owner.tenant.id, viewer.staff_id)).department = "East"
        db.session.commit()
        db.session.remove()
    ids = _twins(app, owner, viewer.staff_id, "East")
    assert owner.put("/api/v1/privacy/row-scopes",
                     json={"role": role, "scope": SCOPES[role]}).status_code == 200
    _set_level(owner, role, {"phones": "masked", "address": "masked", "emails": "hidden",
                             "external_id": "hidden"})

    pair = _pair(viewer, ids)
    for side in (pair["first"], pair["second"]):
        assert side["phones"] == [PHONE_MASKED] and side["address"] == ADDRESS_MASKED
        assert "emails" not in side and "external_id" not in side
        assert side["name"].startswith("Ann Lee")
    detail = dict(zip(pair["reasons"], pair["detail"], strict=True))
    assert detail == {"same_email": None, "same_phone": PHONE_MASKED,
                      "similar_name_same_address": ADDRESS_MASKED}
    assert PHONE not in str(pair) and EMAIL not in str(pair) and "X-1" not in str(pair)

    control = _pair(owner, ids)
    assert control["first"]["phones"] == [PHONE] and control["first"]["emails"] == [EMAIL]
    assert dict(zip(control["reasons"], control["detail"], strict=True)) == {
        "same_email": EMAIL, "same_phone": PHONE, "similar_name_same_address": ADDRESS}


def test_pairs_outside_a_department_scope_are_left_out(app, api_client):
    owner = api_client("owner")
    manager = api_client("manager", tenant=owner.tenant)
    with app.app_context():
        owner.tenant.bind()
        db.session.get(Staff, (owner.tenant.id, manager.staff_id)).department = "East"
        db.session.commit()
        db.session.remove()
    east = _twins(app, owner, department="East")
    with app.app_context():                      # a second person, in another department
        owner.tenant.bind()
        actor = owner.tenant.owner_actor()
        west = [str(customer_service.create_customer(db.session, actor, {
            "name": "Bo Wu", "phones": ["13900139000"], "department": "West"}).id)
            for _ in range(2)]
        db.session.commit()
        db.session.remove()
    assert owner.put("/api/v1/privacy/row-scopes",
                     json={"role": "manager", "scope": "department"}).status_code == 200
    pairs = manager.get("/api/v1/duplicates").get_json()["items"]
    assert [{p["first"]["id"], p["second"]["id"]} for p in pairs] == [set(east)]
    assert len(owner.get("/api/v1/duplicates").get_json()["items"]) == 2
    resp = manager.post("/api/v1/duplicates/dismiss",
                        json={"first_id": west[0], "second_id": west[1]})
    assert resp.status_code == 404


def test_unrestricted_roles_see_pairs_in_clear(app, api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    ids = _twins(app, owner)
    _set_level(owner, "manager", {"phones": "hidden"})       # another role's setting
    pair = _pair(agent, ids)
    assert pair["first"]["phones"] == [PHONE] and PHONE in pair["detail"]


# -- saved views -------------------------------------------------------------------------

def _view(client, filters, name="Mine") -> dict:
    resp = client.post("/api/v1/saved-views", json={"name": name, "filters": filters})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


@pytest.mark.parametrize("role", ["manager", "agent", "readonly"])
def test_a_view_whose_filter_became_hidden_names_it_and_offers_the_rest(app, api_client,
                                                                       role):
    owner = api_client("owner")
    viewer = api_client(role, tenant=owner.tenant)
    with app.app_context():
        owner.tenant.bind()
        actor = owner.tenant.owner_actor()
        for name, industry in (("Ann", "retail"), ("Bo", "retail"), ("Cy", "food")):
            customer_service.create_customer(db.session, actor, {
                "name": name, "industry": industry, "kind": "company"})
        db.session.commit()
        db.session.remove()
    view = _view(viewer, {"industry": "retail", "kind": "company"})
    assert view["left_out"] == [] and view["applicable_filters"] == view["filters"]

    _set_level(owner, role, {"industry": "hidden"})
    listed = viewer.get("/api/v1/saved-views").get_json()
    assert [v["id"] for v in listed] == [view["id"]]
    one = viewer.get(f"/api/v1/saved-views/{view['id']}").get_json()
    for shown in (listed[0], one):
        assert shown["filters"] == {"industry": "retail", "kind": "company"}  # as saved
        assert shown["applicable_filters"] == {"kind": "company"}
        assert [(d["key"], d["field"], d["label"]) for d in shown["left_out"]] == [
            ("industry", "industry", "Industry")]
        assert "Industry" in shown["left_out"][0]["message"]

    as_saved = viewer.get("/api/v1/customers", query_string=one["filters"])
    assert as_saved.status_code == 422 and "industry" in as_saved.get_json()["errors"]
    applied = viewer.get("/api/v1/customers", query_string=one["applicable_filters"])
    assert applied.status_code == 200
    assert {c["name"] for c in applied.get_json()["items"]} == {"Ann", "Bo", "Cy"}

    renamed = viewer.patch(f"/api/v1/saved-views/{view['id']}", json={"name": "Renamed"})
    assert renamed.status_code == 200 and renamed.get_json()["left_out"]


def test_a_masked_phone_leaves_out_a_phone_search_but_not_a_name_search(api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    by_phone = _view(agent, {"q": "13800138000"}, "By phone")
    by_name = _view(agent, {"q": "Ann"}, "By name")
    _set_level(owner, "agent", {"phones": "masked"})
    shown = {v["name"]: v for v in agent.get("/api/v1/saved-views").get_json()}
    assert [(d["key"], d["field"]) for d in shown["By phone"]["left_out"]] == [
        ("q", "phones")]
    assert shown["By phone"]["applicable_filters"] == {}
    assert shown["By name"]["left_out"] == [] and by_name["filters"] == {"q": "Ann"}
    assert by_phone["id"] != by_name["id"]


def test_a_hidden_custom_field_filter_is_left_out_under_its_label(app, api_client):
    from saas.services import custom_fields

    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    with app.app_context():
        owner.tenant.bind()
        custom_fields.create_definition(db.session, owner.tenant.owner_actor(), "level",
                                        "Member level", "text")
        db.session.commit()
        db.session.remove()
    view = _view(agent, {"cf.level": "gold"})
    _set_level(owner, "agent", {"cf.level": "hidden"})
    shown = agent.get(f"/api/v1/saved-views/{view['id']}").get_json()
    assert [(d["key"], d["label"]) for d in shown["left_out"]] == [("cf.level",
                                                                     "Member level")]


def test_saving_a_view_on_a_field_the_role_may_not_filter_is_422(api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    _set_level(owner, "agent", {"industry": "hidden", "phones": "masked"})
    resp = agent.post("/api/v1/saved-views", json={
        "name": "V", "filters": {"industry": "retail", "q": "13800138000"}})
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) == {"filters.industry", "filters.q"}
    view = _view(agent, {"kind": "company"})
    resp = agent.patch(f"/api/v1/saved-views/{view['id']}",
                       json={"filters": {"industry": "retail"}})
    assert resp.status_code == 422 and "filters.industry" in resp.get_json()["errors"]
    control = _view(owner, {"industry": "retail"})            # the owner is never limited
    assert control["left_out"] == []


def test_another_members_or_tenants_view_is_404(api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    view = _view(agent, {"kind": "company"})
    assert owner.get(f"/api/v1/saved-views/{view['id']}").status_code == 404
    assert api_client("owner").get(f"/api/v1/saved-views/{view['id']}").status_code == 404
    assert agent.get(f"/api/v1/saved-views/{view['id']}").status_code == 200
