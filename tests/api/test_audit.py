"""Audit log endpoint: filters, and admins only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from saas.extensions import db
from saas.services import audit


def test_audit_filters_narrow_the_log(app, api_client):
    owner = api_client()
    agent = api_client(role="agent", tenant=owner.tenant)
    owner.patch("/api/v1/tenant", json={"name": "Renamed Ltd"})
    agent.post("/api/v1/tokens", json={"name": "mine", "scope": "read"})

    def actions(query: str) -> list[str]:
        r = owner.get(f"/api/v1/audit?{query}")
        assert r.status_code == 200, r.json
        return [e["action"] for e in r.json["items"]]

    assert actions("action=tenant.settings_changed") == ["tenant.settings_changed"]
    assert actions(f"entity_type=tenant&entity_id={owner.tenant.id}") == [
        "tenant.settings_changed", "tenant.created"]
    assert actions(f"actor_id={agent.staff_id}&entity_type=api_token") == [
        "token.created", "token.created"]
    assert actions("action=nothing.happened") == []


def test_audit_time_window(app, api_client):
    api = api_client()
    with app.app_context():
        api.tenant.bind()
        old = audit.record(db.session, api.tenant.owner_actor(), "old.thing", "thing")
        old.created_at = datetime(2020, 1, 1, 12, tzinfo=UTC)
        db.session.commit()
    assert [e["action"] for e in api.get(
        "/api/v1/audit?until=2020-01-02T00:00:00Z").json["items"]] == ["old.thing"]
    assert [e["action"] for e in api.get(
        "/api/v1/audit?since=2020-01-01T12:00:00&until=2020-01-01T12:00:01").json["items"]
    ] == ["old.thing"]
    recent = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert "old.thing" not in [e["action"] for e in api.get(
        f"/api/v1/audit?since={recent}").json["items"]]


def test_only_owner_and_admin_read_the_audit_log(api_client):
    owner = api_client()
    assert api_client(role="admin", tenant=owner.tenant).get("/api/v1/audit"
                                                            ).status_code == 200
    for role in ("manager", "agent", "readonly"):
        assert api_client(role=role, tenant=owner.tenant).get("/api/v1/audit"
                                                             ).status_code == 403


def test_bad_audit_filters_are_422(api_client):
    api = api_client()
    assert api.get("/api/v1/audit?actor_id=bob").json["errors"].keys() == {"actor_id"}
    assert api.get("/api/v1/audit?until=soon").json["errors"].keys() == {"until"}
