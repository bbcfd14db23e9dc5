"""Contacts, products, orders, interactions, custom fields, categories and saved views."""

from __future__ import annotations

import pytest

API = "/api/v1"


@pytest.fixture
def owner(api_client):
    return api_client()


def _company(c):
    return c.post(f"{API}/customers", json={"name": "Acme", "kind": "company"}).get_json()["id"]


def test_contacts_crud_and_validation(owner):
    cid = _company(owner)
    r = owner.post(f"{API}/customers/{cid}/contacts", json={
        "name": "李雷", "title": "CTO", "phone": "13800138000", "primary": True})
    assert r.status_code == 201 and r.get_json()["phone"] == "+8613800138000"
    contact_id = r.get_json()["id"]
    r = owner.post(f"{API}/customers/{cid}/contacts", json={"name": "X", "email": "bad"})
    assert r.status_code == 422 and "email" in r.get_json()["errors"]
    r = owner.patch(f"{API}/customers/{cid}/contacts/{contact_id}", json={"title": "CEO"})
    assert r.get_json()["title"] == "CEO"
    assert [c["name"] for c in owner.get(f"{API}/customers/{cid}/contacts").get_json()] == [
        "李雷"]
    assert owner.delete(f"{API}/customers/{cid}/contacts/{contact_id}").status_code == 204
    assert owner.get(f"{API}/customers/{cid}/contacts").get_json() == []


def test_orders_place_list_refund(owner):
    cid = _company(owner)
    pid = owner.post(f"{API}/products", json={"sku": "P1", "name": "Pen",
                                              "price": "1.15"}).get_json()["id"]
    r = owner.post(f"{API}/customers/{cid}/orders", json={
        "lines": [{"product_id": pid, "quantity": 3}], "channel": "shop"})
    assert r.status_code == 201
    order = r.get_json()
    assert order["total"] == "3.45" and order["lines"][0]["amount"] == "3.45"
    listing = owner.get(f"{API}/customers/{cid}/orders").get_json()
    assert [o["id"] for o in listing["items"]] == [order["id"]]
    r = owner.post(f"{API}/orders/{order['id']}/refund", json={"reason": "late"})
    assert r.get_json()["status"] == "refunded"
    assert owner.post(f"{API}/orders/{order['id']}/refund", json={}).status_code == 409
    r = owner.post(f"{API}/customers/{cid}/orders", json={"lines": [{"sku": "NOPE"}]})
    assert r.status_code == 422 and "lines.0.sku" in r.get_json()["errors"]
    r = owner.post(f"{API}/customers/{cid}/orders", json={"lines": [{"sku": "P1",
                                                                     "quantity": "x"}]})
    assert r.status_code == 422 and "lines.0.quantity" in r.get_json()["errors"]


def test_order_status_moves_forward_only(owner):
    cid = _company(owner)
    owner.post(f"{API}/products", json={"sku": "P1", "name": "Pen", "price": "1"})
    oid = owner.post(f"{API}/customers/{cid}/orders",
                     json={"lines": [{"sku": "P1"}]}).get_json()["id"]
    assert owner.post(f"{API}/orders/{oid}/status", json={"status": "paid"}).status_code == 200
    assert owner.post(f"{API}/orders/{oid}/status",
                      json={"status": "placed"}).status_code == 409


def test_products_crud_and_conflict(owner):
    r = owner.post(f"{API}/products", json={"sku": "A", "name": "A", "price": "-1"})
    assert r.status_code == 422 and "price" in r.get_json()["errors"]
    pid = owner.post(f"{API}/products", json={"sku": "A", "name": "A",
                                              "price": "9"}).get_json()["id"]
    assert owner.post(f"{API}/products", json={"sku": "A", "name": "B",
                                               "price": "1"}).status_code == 409
    r = owner.patch(f"{API}/products/{pid}", json={"price": "10.5", "active": False})
    assert r.get_json()["price"] == "10.50"
    assert owner.get(f"{API}/products").get_json()["items"] == []
    assert len(owner.get(f"{API}/products?include_inactive=true").get_json()["items"]) == 1


def test_interactions_log_and_list(owner):
    cid = _company(owner)
    r = owner.post(f"{API}/customers/{cid}/interactions", json={
        "channel": "visit", "summary": "Demo", "kind": "need", "follow_up_on": "2031-01-01"})
    assert r.status_code == 201
    iid = r.get_json()["id"]
    assert owner.get(f"{API}/interactions/{iid}").get_json()["summary"] == "Demo"
    page = owner.get(f"{API}/customers/{cid}/interactions").get_json()
    assert [i["id"] for i in page["items"]] == [iid]
    r = owner.post(f"{API}/customers/{cid}/interactions", json={"channel": "fax",
                                                                "summary": "x"})
    assert r.status_code == 422 and "channel" in r.get_json()["errors"]


def test_custom_fields_and_categories_need_settings_permission(api_client):
    owner = api_client()
    agent = api_client(role="agent", tenant=owner.tenant)
    body = {"key": "region", "label": "Region", "type": "choice", "choices": ["N", "S"]}
    assert agent.post(f"{API}/custom-fields", json=body).status_code == 403
    r = owner.post(f"{API}/custom-fields", json=body)
    assert r.status_code == 201
    fid = r.get_json()["id"]
    assert owner.post(f"{API}/custom-fields", json=body).status_code == 409
    assert owner.patch(f"{API}/custom-fields/{fid}", json={"required": True}).status_code == 200
    assert [f["key"] for f in agent.get(f"{API}/custom-fields").get_json()] == ["region"]
    assert owner.delete(f"{API}/custom-fields/{fid}").status_code == 204
    assert agent.get(f"{API}/customer-categories").get_json() == {
        "categories": ["VIP", "Regular", "Prospect"]}
    assert agent.put(f"{API}/customer-categories",
                     json={"categories": ["A"]}).status_code == 403
    r = owner.put(f"{API}/customer-categories", json={"categories": ["Key", "SME"]})
    assert r.get_json() == {"categories": ["Key", "SME"]}
    assert owner.put(f"{API}/customer-categories", json={"categories": []}).status_code == 422


def test_saved_views_belong_to_their_staff_member(api_client):
    owner = api_client()
    agent = api_client(role="agent", tenant=owner.tenant)
    r = owner.post(f"{API}/saved-views", json={"name": "VIP", "filters": {"tags": "vip"},
                                               "sort": "name"})
    assert r.status_code == 201
    vid = r.get_json()["id"]
    assert agent.get(f"{API}/saved-views").get_json() == []
    assert agent.get(f"{API}/saved-views/{vid}").status_code == 404
    assert agent.delete(f"{API}/saved-views/{vid}").status_code == 404
    r = owner.post(f"{API}/saved-views", json={"name": "Bad", "filters": {"colour": "x"}})
    assert r.status_code == 422 and "filters.colour" in r.get_json()["errors"]
    r = owner.patch(f"{API}/saved-views/{vid}", json={"sort": "-name"})
    assert r.get_json()["sort"] == "-name"
    assert owner.delete(f"{API}/saved-views/{vid}").status_code == 204


def test_other_tenants_resources_are_404(api_client):
    mine, theirs = api_client(), api_client()
    cid = _company(theirs)
    pid = theirs.post(f"{API}/products", json={"sku": "P", "name": "P",
                                               "price": "1"}).get_json()["id"]
    oid = theirs.post(f"{API}/customers/{cid}/orders",
                      json={"lines": [{"sku": "P"}]}).get_json()["id"]
    contact = theirs.post(f"{API}/customers/{cid}/contacts",
                          json={"name": "C"}).get_json()["id"]
    iid = theirs.post(f"{API}/customers/{cid}/interactions",
                      json={"channel": "sms", "summary": "hi"}).get_json()["id"]
    fid = theirs.post(f"{API}/custom-fields", json={"key": "k", "label": "K",
                                                    "type": "text"}).get_json()["id"]
    vid = theirs.post(f"{API}/saved-views", json={"name": "V"}).get_json()["id"]
    checks = [
        mine.get(f"{API}/products/{pid}"), mine.patch(f"{API}/products/{pid}", json={}),
        mine.get(f"{API}/orders/{oid}"), mine.post(f"{API}/orders/{oid}/refund", json={}),
        mine.post(f"{API}/orders/{oid}/status", json={"status": "paid"}),
        mine.post(f"{API}/customers/{cid}/orders", json={"lines": [{"sku": "P"}]}),
        mine.post(f"{API}/customers/{cid}/contacts", json={"name": "X"}),
        mine.patch(f"{API}/customers/{cid}/contacts/{contact}", json={}),
        mine.delete(f"{API}/customers/{cid}/contacts/{contact}"),
        mine.get(f"{API}/interactions/{iid}"),
        mine.post(f"{API}/customers/{cid}/interactions", json={"channel": "sms",
                                                               "summary": "x"}),
        mine.patch(f"{API}/custom-fields/{fid}", json={}),
        mine.delete(f"{API}/custom-fields/{fid}"),
        mine.get(f"{API}/saved-views/{vid}"),
    ]
    assert [r.status_code for r in checks] == [404] * len(checks)


def test_readonly_role_cannot_write_resources(api_client):
    owner = api_client()
    ro = api_client(role="readonly", tenant=owner.tenant)
    cid = _company(owner)
    assert ro.get(f"{API}/customers/{cid}/orders").status_code == 200
    for r in (ro.post(f"{API}/products", json={"sku": "A", "name": "A", "price": "1"}),
              ro.post(f"{API}/customers/{cid}/orders", json={"lines": []}),
              ro.post(f"{API}/customers/{cid}/interactions", json={}),
              ro.post(f"{API}/customers/{cid}/contacts", json={"name": "x"})):
        assert r.status_code == 403
