"""Token endpoints: own tokens for everyone, all tokens for owners and admins."""

from __future__ import annotations


def test_created_token_is_shown_once_and_works(api_client):
    api = api_client(role="agent")
    r = api.post("/api/v1/tokens", json={"name": "CI", "scope": "read"})
    assert r.status_code == 201
    raw = r.json["token"]
    assert raw.startswith(f"crm_{api.tenant.id.hex}_")
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.json["token"]["scope"] == "read"
    listed = api.get("/api/v1/tokens").json["items"]
    assert {t["name"] for t in listed} == {"test", "CI"}
    assert all("token" not in t and "token_hash" not in t for t in listed)


def test_agent_sees_and_revokes_only_own_tokens(api_client):
    owner = api_client()
    agent = api_client(role="agent", tenant=owner.tenant)
    assert [t["id"] for t in agent.get("/api/v1/tokens").json["items"]] \
        == [str(agent.token_id)]
    assert agent.delete(f"/api/v1/tokens/{owner.token_id}").status_code == 404
    assert owner.get("/api/v1/me").status_code == 200


def test_admin_sees_and_revokes_everyones_tokens(api_client):
    owner = api_client()
    admin = api_client(role="admin", tenant=owner.tenant)
    agent = api_client(role="agent", tenant=owner.tenant)
    ids = {t["id"] for t in admin.get("/api/v1/tokens").json["items"]}
    assert ids == {str(owner.token_id), str(admin.token_id), str(agent.token_id)}
    assert admin.delete(f"/api/v1/tokens/{agent.token_id}").status_code == 204
    assert agent.get("/api/v1/me").status_code == 401
    audit = admin.get("/api/v1/audit?action=token.revoked").json["items"]
    assert audit[0]["entity_id"] == str(agent.token_id)


def test_revoking_the_token_in_use_ends_its_access(api_client):
    api = api_client()
    assert api.delete(f"/api/v1/tokens/{api.token_id}").status_code == 204
    assert api.get("/api/v1/me").status_code == 401


def test_readonly_role_cannot_manage_tokens(api_client):
    api = api_client(role="readonly")
    assert api.get("/api/v1/tokens").status_code == 403
    assert api.post("/api/v1/tokens", json={"name": "x", "scope": "read"}).status_code == 403


def test_invalid_token_input_is_422_per_field(api_client):
    api = api_client()
    assert api.post("/api/v1/tokens", json={"name": "x", "scope": "admin"}
                    ).json["errors"].keys() == {"scope"}
    assert api.post("/api/v1/tokens", json={"name": "", "scope": "read"}
                    ).json["errors"].keys() == {"name"}
    assert api.post("/api/v1/tokens", json={"name": "x" * 101, "scope": "read"}
                    ).json["errors"].keys() == {"name"}
    assert len(api.get("/api/v1/tokens").json["items"]) == 1
