"""Privacy administration leaves an audit trail (issue 11: subject requests "audited"):
an erasure, a field-permission change and a row-scope change each write one entry naming
who did it and what changed — and the erasure's entry holds no personal data."""

from __future__ import annotations

import json

from saas.extensions import db
from saas.services import customers as customer_service


def _customer(app, tenant) -> str:
    with app.app_context():
        tenant.bind()
        customer = customer_service.create_customer(db.session, tenant.owner_actor(), {
            "name": "Ann Lee", "phones": ["13800138000"], "emails": ["ann@tea.example.com"]})
        db.session.commit()
        cid = str(customer.id)
        db.session.remove()
    return cid


def _entries(client, action: str) -> list[dict]:
    resp = client.get(f"/api/v1/audit?action={action}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def test_an_erasure_is_audited_without_personal_data(app, api_client):
    owner = api_client("owner")
    admin = api_client("admin", tenant=owner.tenant)
    cid = _customer(app, owner.tenant)
    assert _entries(owner, "customer.erased") == []
    resp = admin.post(f"/api/v1/privacy/customers/{cid}/erase", json={"reason": "asked"})
    assert resp.status_code == 200, resp.get_json()
    [entry] = _entries(owner, "customer.erased")
    assert (entry["entity_id"], entry["actor_id"]) == (cid, str(admin.staff_id))
    assert entry["ip"]
    text = json.dumps(entry["changes"])
    for personal in ("Ann", "13800138000", "ann@tea.example.com"):
        assert personal not in text
    [record] = admin.get("/api/v1/privacy/erasures").get_json()
    assert record["customer_id"] == cid and "Ann" not in json.dumps(record)


def test_an_erasure_refused_for_an_agent_leaves_no_entry(app, api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    cid = _customer(app, owner.tenant)
    assert agent.post(f"/api/v1/privacy/customers/{cid}/erase", json={}).status_code == 403
    assert _entries(owner, "customer.erased") == []


def test_permission_and_row_scope_changes_are_audited_once(api_client):
    owner = api_client("owner")
    change = {"changes": [{"role": "agent", "field": "phones", "level": "hidden"}]}
    assert owner.put("/api/v1/privacy/field-permissions", json=change).status_code == 200
    assert owner.put("/api/v1/privacy/field-permissions", json=change).status_code == 200
    [entry] = _entries(owner, "privacy.field_permissions_changed")
    assert entry["changes"] == {"agent.phones": ["write", "hidden"]}
    assert entry["actor_id"] == str(owner.staff_id)
    scope = {"role": "agent", "scope": "own"}
    assert owner.put("/api/v1/privacy/row-scopes", json=scope).status_code == 200
    assert owner.put("/api/v1/privacy/row-scopes", json=scope).status_code == 200
    [entry] = _entries(owner, "privacy.row_scope_changed")
    assert entry["changes"] == {"agent": ["all", "own"]}
