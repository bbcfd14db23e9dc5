"""Issue 11 on the analytics lists that name customers (CLV, churn, at-risk): each role
sees only the customers of its row scope — filtered in SQL, so pagination stays right —
and the amounts and owners its field levels hide are absent. Tenant-wide figures that
name no customer (model fits, rules, bundles, dashboard) stay tenant-wide.

World: five at-risk customers — A (the agent's), M (the manager's), E (department East,
the manager's department, owned by the owner), R (the read-only member's), O (the
owner's) — and four regular buyers of the owner. Scopes: agent own, manager department,
readonly own. The owner (scope: all) is the control in every test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from saas.extensions import db
from saas.models import Staff
from saas.models.base import utcnow
from saas.services import customers as customer_service
from tests.analytics import world as shop

# name, path; every one answers customers as `items[].customer_id`.
LISTS = [
    ("clv", "/api/v1/analytics/clv?limit=200"),
    ("churn", "/api/v1/analytics/churn?limit=200"),
    ("churn at risk", "/api/v1/analytics/churn?at_risk=true&limit=200"),
    ("at-risk everyone", "/api/v1/analytics/at-risk?everyone=true&limit=500"),
    ("at-risk mine", "/api/v1/analytics/at-risk?limit=500"),
]
SCOPED = {"agent": "own", "manager": "department", "readonly": "own"}
VISIBLE = {"agent": {"A"}, "manager": {"M", "E"}, "readonly": {"R"}}
OWNED_BY = {"agent": {"A"}, "manager": {"M"}, "readonly": {"R"}, "owner": {"E", "O"}}


@pytest.fixture
def analytics_world(app, api_client):
    owner = api_client("owner")
    clients = {"owner": owner, **{role: api_client(role, tenant=owner.tenant)
                                  for role in SCOPED}}
    with app.app_context():
        owner.tenant.bind()
        actor = owner.tenant.owner_actor()
        db.session.get(Staff, (owner.tenant.id, clients["manager"].staff_id)).department = \
            "East"
        shop.products(actor, "A", "B")
        now = utcnow()
        people = {"A": ("agent", None), "M": ("manager", None), "E": ("owner", "East"),
                  "R": ("readonly", None), "O": ("owner", None),
                  **{f"F{i}": ("owner", None) for i in range(4)}}
        ids = {}
        for i, (name, (role, department)) in enumerate(people.items()):
            customer = customer_service.create_customer(db.session, actor, {
                "name": name, "owner_id": str(clients[role].staff_id),
                "department": department, "phones": [f"1380013{8000 + i}"]})
            ids[name] = str(customer.id)
            start = 95 - i if name.startswith("F") else 200 + i   # F: still buying
            for k in range(3):
                shop.order(actor, customer.id, ["A", "B"] if k else ["A"],
                           at=now - timedelta(days=start - 30 * k), price="20.00")
        db.session.commit()
        db.session.remove()
    for role, scope in SCOPED.items():
        assert owner.put("/api/v1/privacy/row-scopes",
                         json={"role": role, "scope": scope}).status_code == 200
    assert owner.post("/api/v1/analytics/recompute").status_code == 202
    return clients, ids


def _names(resp, ids) -> set[str]:
    assert resp.status_code == 200, (resp.status_code, resp.get_json())
    by_id = {v: k for k, v in ids.items()}
    return {by_id[item["customer_id"]] for item in resp.get_json()["items"]}


def _hide(owner, role, *fields, level="hidden"):
    resp = owner.put("/api/v1/privacy/field-permissions", json={"changes": [
        {"role": role, "field": f, "level": level} for f in fields]})
    assert resp.status_code == 200, resp.get_json()


@pytest.mark.parametrize("name, path", LISTS, ids=[n for n, _ in LISTS])
def test_analytics_lists_name_only_customers_in_the_row_scope(analytics_world, name, path):
    clients, ids = analytics_world
    everyone = _names(clients["owner"].get(path), ids)
    for role in sorted(SCOPED):
        resp = clients[role].get(path)
        if name == "at-risk mine":
            assert everyone == OWNED_BY["owner"]
            assert _names(resp, ids) == OWNED_BY[role], role
        elif role == "agent":                              # no reports.read at all
            assert resp.status_code == 403, resp.get_json()
        else:
            assert {"A", "M", "E", "R", "O"} <= everyone   # the control sees them all
            assert _names(resp, ids) == everyone & VISIBLE[role], role


def test_a_scoped_list_pages_through_exactly_the_scope(analytics_world):
    clients, ids = analytics_world
    for path in ("/api/v1/analytics/clv?limit=1", "/api/v1/analytics/churn?limit=1"):
        seen, cursor = [], None
        for _ in range(5):
            url = path + (f"&cursor={cursor}" if cursor else "")
            page = clients["manager"].get(url).get_json()
            seen += [item["customer_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted([ids["M"], ids["E"]]), path
        assert cursor is None


def test_a_manager_cannot_reach_customers_outside_the_scope_by_filtering(analytics_world):
    clients, ids = analytics_world
    manager, owner = clients["manager"], clients["owner"]
    agent_id = clients["agent"].staff_id
    path = f"/api/v1/analytics/churn?owner_id={agent_id}"
    assert _names(manager.get(path), ids) == set()
    assert _names(owner.get(path), ids) == {"A"}
    path = f"/api/v1/analytics/at-risk?owner_id={agent_id}"
    assert _names(manager.get(path), ids) == set()
    assert _names(owner.get(path), ids) == {"A"}


def test_one_customers_analytics_outside_the_scope_or_tenant_is_404(analytics_world,
                                                                      api_client):
    clients, ids = analytics_world
    manager = clients["manager"]
    assert manager.get(f"/api/v1/analytics/customers/{ids['E']}").status_code == 200
    assert manager.get(f"/api/v1/analytics/customers/{ids['A']}").status_code == 404
    stranger = api_client("owner")
    assert stranger.get(f"/api/v1/analytics/customers/{ids['E']}").status_code == 404
    assert _names(stranger.get("/api/v1/analytics/clv?limit=200"), ids) == set()


def test_tenant_wide_figures_are_the_same_for_every_role(analytics_world):
    clients, _ids = analytics_world
    for path in ("/api/v1/analytics/clv/model", "/api/v1/analytics/rules",
                 "/api/v1/analytics/bundles"):
        control = clients["owner"].get(path).get_json()
        assert control["items"] or path.endswith("bundles"), path
        for role in ("manager", "readonly"):
            assert clients[role].get(path).get_json() == control, (path, role)


MONEY = {"/api/v1/analytics/clv?limit=200": ("clv", "monetary", "expected_spend"),
         "/api/v1/analytics/churn?limit=200": ("value_at_stake",),
         "/api/v1/analytics/at-risk?everyone=true": ("value_at_stake", "clv")}


@pytest.mark.parametrize("role", ["manager", "readonly"])
def test_amounts_derived_from_orders_are_absent_when_order_amounts_are_hidden(
        analytics_world, role):
    clients, ids = analytics_world
    _hide(clients["owner"], role, "order_amounts")
    for path, keys in MONEY.items():
        items = clients[role].get(path).get_json()["items"]
        assert items, path
        assert all(key not in item for item in items for key in keys), path
        assert all("p_alive" in item for item in items if "clv" in path)
        control = clients["owner"].get(path).get_json()["items"]
        assert all(key in item for item in control for key in keys), path
    visible = ids["E" if role == "manager" else "R"]
    one = clients[role].get(f"/api/v1/analytics/customers/{visible}").get_json()
    assert "clv" not in one["clv"] and "value_at_stake" not in one["churn"]
    assert one["clv"]["p_alive"] > 0 and one["churn"]["score"] >= 0.5


def test_read_only_order_amounts_still_show_the_amounts(analytics_world):
    clients, _ids = analytics_world
    _hide(clients["owner"], "manager", "order_amounts", level="read")
    items = clients["manager"].get("/api/v1/analytics/clv").get_json()["items"]
    assert items and all("clv" in item for item in items)


def test_hidden_owner_leaves_the_owner_out_and_refuses_owner_filters(analytics_world):
    clients, ids = analytics_world
    owner, manager = clients["owner"], clients["manager"]
    _hide(owner, "manager", "owner_id")
    items = manager.get("/api/v1/analytics/at-risk?everyone=true").get_json()["items"]
    assert {i["customer_id"] for i in items} == {ids["M"], ids["E"]}
    assert all("owner_id" not in i and "owner_name" not in i for i in items)
    control = owner.get("/api/v1/analytics/at-risk?everyone=true").get_json()["items"]
    assert all(i["owner_id"] for i in control)
    other = owner.staff_id
    for path, key in ((f"/api/v1/analytics/churn?owner_id={other}", "owner_id"),
                      ("/api/v1/analytics/churn?department=East", "department"),
                      (f"/api/v1/analytics/at-risk?owner_id={other}", "owner_id"),
                      ("/api/v1/analytics/at-risk?department=East", "department")):
        resp = manager.get(path)
        assert resp.status_code == 422, (path, resp.get_json())
        assert list(resp.get_json()["errors"]) == [key], path
        assert owner.get(path).status_code == 200, path
    mine = manager.get("/api/v1/analytics/at-risk").get_json()["items"]   # own: allowed
    assert [i["customer_id"] for i in mine] == [ids["M"]]
