"""Tenant settings endpoints."""

from __future__ import annotations


def test_every_role_reads_tenant_settings(api_client):
    api = api_client(role="readonly")
    body = api.get("/api/v1/tenant").json
    assert body["slug"] == api.tenant.slug
    assert body["currency"] == "CNY" and body["timezone"] == "Asia/Shanghai"


def test_admin_changes_settings(api_client):
    owner = api_client()
    admin = api_client(role="admin", tenant=owner.tenant)
    r = admin.patch("/api/v1/tenant", json={"name": " New Name ", "currency": "USD",
                                            "timezone": "Europe/Paris", "locale": "zh_CN"})
    assert r.status_code == 200
    assert (r.json["name"], r.json["currency"], r.json["timezone"], r.json["locale"]) == (
        "New Name", "USD", "Europe/Paris", "zh_CN")
    assert owner.get("/api/v1/tenant").json["name"] == "New Name"


def test_invalid_settings_change_nothing(api_client):
    api = api_client()
    r = api.patch("/api/v1/tenant", json={"name": "Fine", "currency": "XXX"})
    assert r.status_code == 422
    assert r.json["errors"].keys() == {"currency"}
    assert api.get("/api/v1/tenant").json["name"] != "Fine"


def test_read_only_fields_cannot_be_patched(api_client):
    api = api_client()
    r = api.patch("/api/v1/tenant", json={"slug": "taken"})
    assert r.status_code == 422
    assert r.json["errors"].keys() == {"slug"}


def test_agent_cannot_change_settings(api_client):
    owner = api_client()
    agent = api_client(role="agent", tenant=owner.tenant)
    assert agent.patch("/api/v1/tenant", json={"name": "Mine"}).status_code == 403
