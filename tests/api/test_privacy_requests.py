"""Privacy API: consent, access log, subject export/erase, retention — and their 4xx."""

from __future__ import annotations

import io
import zipfile

import pytest

from saas.extensions import db
from saas.services import customers as customer_service


def _customer(app, tenant, **data) -> str:
    with app.app_context():
        tenant.bind()
        customer = customer_service.create_customer(db.session, tenant.owner_actor(), {
            "name": "Ann", "phones": ["13800138000"], **data})
        db.session.commit()
        cid = str(customer.id)
        db.session.remove()
    return cid


def test_consent_change_is_kept_in_history_and_current_state(app, api_client):
    owner = api_client("owner")
    cid = _customer(app, owner.tenant)
    resp = owner.post(f"/api/v1/privacy/customers/{cid}/consent",
                      json={"channel": "sms", "status": "withdrawn"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["current"]["sms"]["status"] == "withdrawn"
    assert body["history"][0]["source"] == "api"
    assert owner.get(f"/api/v1/customers/{cid}").get_json()["consent"]["sms"][
        "status"] == "withdrawn"


def test_bad_consent_change_is_422_naming_the_field(app, api_client):
    owner = api_client("owner")
    cid = _customer(app, owner.tenant)
    resp = owner.post(f"/api/v1/privacy/customers/{cid}/consent",
                      json={"channel": "fax", "status": "granted"})
    assert resp.status_code == 422 and "channel" in resp.get_json()["errors"]
    resp = owner.post(f"/api/v1/privacy/customers/{cid}/consent",
                      json={"channel": "sms", "status": "granted", "extra": 1})
    assert resp.status_code == 422 and "extra" in resp.get_json()["errors"]


def test_export_is_a_zip_and_shows_in_the_access_log(app, api_client):
    owner = api_client("owner")
    cid = _customer(app, owner.tenant)
    resp = owner.get(f"/api/v1/privacy/customers/{cid}/export")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.data)) as archive:
        assert "everything.json" in archive.namelist()
    log = owner.get(f"/api/v1/privacy/customers/{cid}/access-log").get_json()
    assert [e["action"] for e in log] == ["customer.exported"]
    assert owner.get(f"/api/v1/privacy/customers/{cid}/access-log?days=0").status_code == 422


def test_erase_then_search_by_old_phone_finds_nothing(app, api_client):
    owner = api_client("owner")
    cid = _customer(app, owner.tenant)
    resp = owner.post(f"/api/v1/privacy/customers/{cid}/erase", json={"reason": "asked"})
    assert resp.status_code == 200 and resp.get_json()["customer_id"] == cid
    found = owner.get("/api/v1/customers", query_string={"q": "13800138000"}).get_json()
    assert found["items"] == []
    assert [e["customer_id"] for e in owner.get("/api/v1/privacy/erasures").get_json()] == [
        cid]


@pytest.mark.parametrize("method, path", [
    ("get", "/consent"), ("post", "/consent"), ("get", "/access-log"), ("get", "/export"),
    ("post", "/erase")])
def test_another_tenants_customer_is_404(app, api_client, method, path):
    owner = api_client("owner")
    cid = _customer(app, owner.tenant)
    stranger = api_client("owner")
    kwargs = {"json": {"channel": "sms", "status": "granted"}} if path == "/consent" \
        else ({"json": {}} if method == "post" else {})
    resp = getattr(stranger, method)(f"/api/v1/privacy/customers/{cid}{path}", **kwargs)
    assert resp.status_code == 404


def test_agents_cannot_export_or_erase(app, api_client):
    owner = api_client("owner")
    cid = _customer(app, owner.tenant)
    agent = api_client("agent", tenant=owner.tenant)
    assert agent.get(f"/api/v1/privacy/customers/{cid}/export").status_code == 403
    assert agent.post(f"/api/v1/privacy/customers/{cid}/erase", json={}).status_code == 403
    reader = api_client("admin", scope="read", tenant=owner.tenant)
    assert reader.post(f"/api/v1/privacy/customers/{cid}/erase", json={}).status_code == 403


def test_retention_policy_preview_and_bad_input(api_client):
    owner = api_client("owner")
    assert owner.get("/api/v1/privacy/retention").get_json()["months"] is None
    resp = owner.post("/api/v1/privacy/retention/preview", json={"months": 12})
    assert resp.get_json() == {"interactions": 0, "tickets": 0}
    resp = owner.put("/api/v1/privacy/retention", json={"months": 12, "action": "delete"})
    assert resp.status_code == 200 and resp.get_json()["action"] == "delete"
    resp = owner.put("/api/v1/privacy/retention", json={"months": 0})
    assert resp.status_code == 422 and "months" in resp.get_json()["errors"]
