"""Token authentication: who may call the API, as whom, in which tenant."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from saas.extensions import db
from saas.models import ApiToken, Staff, Tenant
from saas.services import staff as staff_service
from saas.services import tokens as token_service


def test_token_authenticates_its_staff_member_and_tenant(api_client):
    api = api_client(role="agent")
    r = api.get("/api/v1/me")
    assert r.status_code == 200
    body = r.json
    assert body["id"] == str(api.staff_id)
    assert body["role"] == "agent"
    assert body["tenant"]["slug"] == api.tenant.slug
    assert body["token"] == {"id": str(api.token_id), "name": "test", "scope": "write"}
    assert "customers.read" in body["permissions"]
    assert "audit.read" not in body["permissions"]


def test_missing_token_is_401_with_bearer_challenge(client):
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_malformed_authorization_headers_are_401(client, api_client):
    api = api_client()
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer nonsense", "Bearer crm_zz_secret",
                   f"Token {api.token}", f"Bearer {api.token}x"):
        r = client.get("/api/v1/me", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.json["code"] == "unauthorized"


def test_token_naming_an_unknown_tenant_is_401(client, api_client):
    api = api_client()
    secret = api.token.split("_", 2)[2]
    r = client.get("/api/v1/me",
                   headers={"Authorization": f"Bearer crm_{'0' * 32}_{secret}"})
    assert r.status_code == 401


def test_forged_token_with_tenant_a_id_and_tenant_b_secret_is_401(client, api_client):
    a = api_client()
    b = api_client()
    forged = f"crm_{a.tenant.id.hex}_{b.token.split('_', 2)[2]}"
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_revoked_token_is_401(app, api_client):
    api = api_client()
    assert api.get("/api/v1/me").status_code == 200
    with app.app_context():
        api.tenant.bind()
        token_service.revoke(db.session, api.tenant.owner_actor(), api.token_id)
        db.session.commit()
    r = api.get("/api/v1/me")
    assert r.status_code == 401
    assert "revoked" in r.json["message"]


def test_token_of_deactivated_staff_is_401(app, api_client):
    api = api_client(role="agent")
    with app.app_context():
        api.tenant.bind()
        member = staff_service.get_staff(db.session, api.staff_id)
        staff_service.set_active(db.session, api.tenant.owner_actor(), member, False)
        db.session.commit()
    assert api.get("/api/v1/me").status_code == 401


def test_suspended_tenant_tokens_are_401(app, api_client):
    api = api_client()
    with app.app_context():
        db.session.get(Tenant, api.tenant.id).status = "suspended"
        db.session.commit()
    assert api.get("/api/v1/me").status_code == 401


def test_last_used_at_is_recorded_on_use_at_most_once_a_minute(app, api_client):
    api = api_client()

    def last_used():
        with app.app_context():
            api.tenant.bind()
            value = db.session.scalar(select(ApiToken.last_used_at)
                                      .where(ApiToken.id == api.token_id))
            db.session.remove()
            return value

    assert last_used() is None
    api.get("/api/v1/me")
    first = last_used()
    assert first is not None
    api.get("/api/v1/me")
    assert last_used() == first
    with time_machine.travel(first + timedelta(minutes=2), tick=False):
        assert api.get("/api/v1/me").status_code == 200
    assert last_used() == first + timedelta(minutes=2)


def test_read_token_can_read_but_not_write(api_client):
    api = api_client(scope="read")
    assert api.get("/api/v1/tenant").status_code == 200
    assert api.open("HEAD", "/api/v1/tenant").status_code == 200
    r = api.patch("/api/v1/tenant", json={"name": "Renamed"})
    assert r.status_code == 403
    assert r.json["code"] == "forbidden"
    assert "read-only" in r.json["message"]
    assert api.get("/api/v1/tenant").json["name"] != "Renamed"
    assert api.post("/api/v1/tokens", json={"name": "x", "scope": "write"}).status_code == 403
    assert api.delete(f"/api/v1/tokens/{api.token_id}").status_code == 403


def test_tenant_b_token_never_sees_tenant_a_data(app, api_client):
    a = api_client()
    b = api_client()
    a.post("/api/v1/invitations", json={"email": "new@a.example.com", "role": "agent"})
    a_ids = {str(a.staff_id), str(a.token_id)}
    seen = set()
    for path in ("/api/v1/staff", "/api/v1/tokens", "/api/v1/invitations", "/api/v1/audit"):
        r = b.get(path)
        assert r.status_code == 200, path
        seen |= {item["id"] for item in r.json["items"]}
        assert "new@a.example.com" not in r.get_data(as_text=True)
    assert not seen & a_ids
    assert b.get("/api/v1/me").json["tenant"]["id"] == str(b.tenant.id)
    assert b.get(f"/api/v1/staff/{a.staff_id}").status_code == 404


def test_api_needs_no_csrf_token_even_when_csrf_is_on(app, api_client, monkeypatch):
    api = api_client()
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    r = api.post("/api/v1/tokens", json={"name": "ci", "scope": "read"})
    assert r.status_code == 201


def test_staff_row_count_unchanged_by_failed_auth(app, client, api_client):
    api = api_client()
    with app.app_context():
        api.tenant.bind()
        before = len(db.session.scalars(select(Staff)).all())
    client.patch(f"/api/v1/staff/{api.staff_id}", json={"active": False},
                 headers={"Authorization": "Bearer crm_bad"})
    with app.app_context():
        api.tenant.bind()
        assert len(db.session.scalars(select(Staff).where(Staff.active.is_(True))).all()) \
            == before


def test_interleaved_requests_of_two_tenants_never_mix(api_client):
    """Pooled connections carry no tenant from one request into the next (RLS setting is
    per transaction), whichever tenant asked last."""
    a = api_client()
    b = api_client()
    api_client(role="agent", tenant=b.tenant)
    for _ in range(5):
        for api, count in ((a, 1), (b, 2), (b, 2), (a, 1)):
            r = api.get("/api/v1/staff")
            assert r.status_code == 200
            assert len(r.json["items"]) == count
            assert api.get("/api/v1/me").json["tenant"]["id"] == str(api.tenant.id)
