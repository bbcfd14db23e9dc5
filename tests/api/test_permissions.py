"""The role matrix per endpoint, and other tenants' ids on every endpoint that takes one."""

from __future__ import annotations

import uuid

import pytest

from saas.models import ROLES
from saas.permissions import role_can
from tests.api.conftest import ApiClient

MISSING = uuid.UUID(int=7)
# (method, path, permission the role needs, body). Bodies are empty or ids unknown, so an
# allowed call is a 404/422 that writes nothing, and a denied one must be 403 before that.
ENDPOINTS = [
    ("GET", "/api/v1/me", None, None),
    ("GET", "/api/v1/tenant", None, None),
    ("PATCH", "/api/v1/tenant", "settings.manage", {"name": ""}),
    ("GET", "/api/v1/staff", "staff.read", None),
    ("GET", f"/api/v1/staff/{MISSING}", "staff.read", None),
    ("PATCH", f"/api/v1/staff/{MISSING}", "staff.manage", {"role": "agent"}),
    ("GET", "/api/v1/invitations", "staff.manage", None),
    ("POST", "/api/v1/invitations", "staff.manage", {}),
    ("DELETE", f"/api/v1/invitations/{MISSING}", "staff.manage", None),
    ("GET", "/api/v1/tokens", "tokens.manage", None),
    ("POST", "/api/v1/tokens", "tokens.manage", {}),
    ("DELETE", f"/api/v1/tokens/{MISSING}", "tokens.manage", None),
    ("GET", "/api/v1/audit", "audit.read", None),
]


@pytest.fixture
def clients_by_role(api_client, make_tenant) -> dict[str, ApiClient]:
    tenant = make_tenant()
    return {role: api_client(role=role, tenant=tenant) for role in ROLES}


@pytest.mark.parametrize("method,path,permission,body", ENDPOINTS,
                         ids=[f"{m} {p.replace(str(MISSING), '{id}')}"
                              for m, p, _, _ in ENDPOINTS])
def test_each_role_gets_403_exactly_when_it_lacks_the_permission(
        clients_by_role, method, path, permission, body):
    for role, api in clients_by_role.items():
        r = api.open(method, path, json=body) if body is not None else api.open(method, path)
        allowed = permission is None or role_can(role, permission)
        if allowed:
            assert r.status_code != 403, (role, r.json)
            assert r.status_code < 500
        else:
            assert r.status_code == 403, (role, r.status_code)
            assert permission in r.json["message"]


def _other_tenant_ids(app, api_client):
    """Tenant B with an agent, a pending invitation and a token; A's owner client."""
    a = api_client()
    b = api_client()
    b_agent = api_client(role="agent", tenant=b.tenant)
    inv = b.post("/api/v1/invitations", json={"email": "z@b.example.com", "role": "agent"})
    return a, b, {"staff": b_agent.staff_id, "invitation": inv.json["id"],
                  "token": b_agent.token_id}


def test_other_tenants_ids_are_404_everywhere_and_untouched(app, api_client):
    a, b, ids = _other_tenant_ids(app, api_client)
    calls = [("GET", f"/api/v1/staff/{ids['staff']}", None),
             ("PATCH", f"/api/v1/staff/{ids['staff']}", {"active": False}),
             ("PATCH", f"/api/v1/staff/{ids['staff']}", {"role": "readonly"}),
             ("DELETE", f"/api/v1/invitations/{ids['invitation']}", None),
             ("DELETE", f"/api/v1/tokens/{ids['token']}", None)]
    for method, path, body in calls:
        r = a.open(method, path, json=body) if body else a.open(method, path)
        assert r.status_code == 404, (method, path, r.json)
        assert r.json["code"] == "not_found"
    member = b.get(f"/api/v1/staff/{ids['staff']}").json
    assert member["active"] is True and member["role"] == "agent"
    invitation = [i for i in b.get("/api/v1/invitations").json["items"]
                  if i["id"] == ids["invitation"]]
    assert invitation[0]["status"] == "pending"
    tokens = {t["id"]: t for t in b.get("/api/v1/tokens").json["items"]}
    assert tokens[str(ids["token"])]["revoked_at"] is None


@pytest.mark.parametrize("path", ["/api/v1/staff/not-a-uuid", "/api/v1/staff/123"])
def test_malformed_ids_are_404(api_client, path):
    assert api_client().get(path).status_code == 404
