"""Issue 11 claims not covered elsewhere: "who saw this customer's data in the last 90
days" (reads only, this customer only, inside the window, with who/what/where), an
erasure reaching every enabled plugin with the delivery log showing it, hidden order
amounts absent from the orders API, and the consent endpoints following the consent
field's permission."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEntry
from saas.models.base import utcnow
from saas.models.plugins import Delivery
from saas.services import customers as customer_service
from saas.services import read_audit
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered


def _customers(app, tenant) -> tuple[str, str]:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        ids = tuple(str(customer_service.create_customer(db.session, actor, {
            "name": name, "phones": [phone]}).id)
            for name, phone in (("Ann", "13800138000"), ("Bo", "13900139000")))
        db.session.commit()
        db.session.remove()
    return ids


def test_who_saw_lists_reads_of_this_customer_in_the_window_only(app, api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    ann, bo = _customers(app, owner.tenant)
    assert owner.get(f"/api/v1/privacy/customers/{ann}/export").status_code == 200
    assert agent.post(f"/api/v1/privacy/customers/{ann}/reveal",
                      json={"field": "phones"}).status_code == 200
    assert agent.get(f"/api/v1/privacy/customers/{bo}/consent").status_code == 200
    assert owner.patch(f"/api/v1/customers/{ann}", json={"industry": "Tea"}).status_code \
        == 200                                    # a write, not a read
    with app.app_context():
        owner.tenant.bind()
        read_audit.record_view(db.session, owner.tenant.owner_actor(), ann)
        db.session.flush()
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "customer.viewed")).one()
        entry.created_at = utcnow() - timedelta(days=91)
        db.session.commit()
        db.session.remove()

    log = owner.get(f"/api/v1/privacy/customers/{ann}/access-log").get_json()
    assert [(e["action"], e["actor_id"]) for e in log] == [
        ("customer.field_revealed", str(agent.staff_id)),
        ("customer.exported", str(owner.staff_id))]
    assert all(e["ip"] and e["at"] for e in log)
    assert log[0]["details"] == {"field": "phones", "where": "API"}
    longer = owner.get(f"/api/v1/privacy/customers/{ann}/access-log?days=120").get_json()
    assert [e["action"] for e in longer][-1] == "customer.viewed"
    assert agent.get(f"/api/v1/privacy/customers/{ann}/access-log").status_code == 403
    assert owner.get(f"/api/v1/privacy/customers/{ann}/access-log?days=x").status_code == 422


def test_erasure_reaches_every_enabled_plugin_and_shows_in_the_delivery_log(app,
                                                                          api_client):
    owner = api_client("owner")
    ann, _bo = _customers(app, owner.tenant)
    with registered(app, EchoPlugin(), "echo") as plugin:
        configure(app, owner.tenant, "echo", GOOD_SETTINGS)
        resp = owner.post(f"/api/v1/privacy/customers/{ann}/erase", json={})
        assert resp.status_code == 200
        assert [name for _id, name, _slug in plugin.events
                if name == "customer.erased"] == ["customer.erased"]
    with app.app_context():
        owner.tenant.bind()
        rows = [d for d in db.session.scalars(select(Delivery))
                if d.plugin == "echo" and d.status == "succeeded"]
        erased = [d for d in rows if d.result.get("on_event", {}).get("seen")
                  == "customer.erased"]
        db.session.remove()
    assert len(erased) == 1


def test_hidden_order_amounts_leave_the_orders_api(app, api_client):
    owner = api_client("owner")
    agent = api_client("agent", scope="read", tenant=owner.tenant)
    cid = owner.post("/api/v1/customers", json={"name": "Ann"}).get_json()["id"]
    assert owner.post("/api/v1/products", json={"sku": "T1", "name": "Tea",
                                                "price": "12.34"}).status_code == 201
    order = owner.post(f"/api/v1/customers/{cid}/orders",
                       json={"lines": [{"sku": "T1", "quantity": 2}]}).get_json()
    assert owner.put("/api/v1/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "order_amounts", "level": "hidden"}]}).status_code == 200
    path = f"/api/v1/orders/{order['id']}"
    mine, theirs = agent.get(path).get_json(), owner.get(path).get_json()
    assert theirs["total"] == "24.68" and theirs["lines"][0]["amount"] == "24.68"
    assert "total" not in mine and "amount" not in mine["lines"][0]
    assert "unit_price" not in mine["lines"][0] and mine["lines"][0]["quantity"] == 2
    listed = agent.get(f"/api/v1/customers/{cid}/orders").get_json()["items"]
    assert listed and all("total" not in o for o in listed)


def test_consent_history_follows_the_consent_field_permission(app, api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    cid = owner.post("/api/v1/customers", json={
        "name": "Ann", "consent": {"email": "granted"}}).get_json()["id"]
    url = f"/api/v1/privacy/customers/{cid}/consent"
    change = {"channel": "sms", "status": "granted"}
    owner.put("/api/v1/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "consent", "level": "read"}]})
    assert agent.get(url).status_code == 200
    refused = agent.post(url, json=change)
    assert refused.status_code == 403 and "consent" in refused.get_json()["errors"]
    owner.put("/api/v1/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "consent", "level": "hidden"}]})
    hidden = agent.get(url)
    assert hidden.status_code == 403 and "consent" in hidden.get_json()["errors"]
    assert owner.get(url).status_code == 200 and owner.post(url, json=change).status_code \
        == 200


def test_hiding_order_amounts_used_by_a_tier_rule_names_the_tier(api_client):
    owner = api_client("owner")
    resp = owner.put("/api/v1/tiers", json={"tiers": [
        {"name": "Gold", "rule": {"all": [
            {"measure": "spend_12m", "op": ">=", "value": 1000}]}},
        {"name": "Rest", "rule": {"all": []}}]})
    assert resp.status_code == 200, resp.get_json()
    change = {"role": "manager", "field": "order_amounts", "level": "hidden"}
    warned = owner.put("/api/v1/privacy/field-permissions", json={"changes": [change]})
    assert warned.status_code == 409
    assert "tier 'Gold'" in warned.get_json()["errors"]["order_amounts"][0]
    assert owner.put("/api/v1/privacy/field-permissions",
                     json={"changes": [change], "confirm": True}).status_code == 200
