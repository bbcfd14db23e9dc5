"""Every error under /api/ is JSON `{"code", "message", "errors"}` with the right status."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import ApiToken


def _shape(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.is_json
    assert set(r.json) == {"code", "message", "errors"}
    assert r.json["code"] == code
    assert r.json["message"]
    return r.json


def _token_count(app, tenant) -> int:
    with app.app_context():
        tenant.bind()
        n = db.session.scalar(select(func.count()).select_from(ApiToken))
        db.session.remove()
        return n


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/nope", "/api/v1/staff/1/x"])
def test_unknown_routes_under_api_are_json_404(client, path):
    _shape(client.get(path), 404, "not_found")


def test_unknown_route_with_token_is_json_404(api_client):
    _shape(api_client().get("/api/v1/does-not-exist"), 404, "not_found")


def test_pages_outside_api_are_not_answered_in_api_json(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert not (r.is_json and set(r.json) == {"code", "message", "errors"})


def test_wrong_method_is_405_with_allow_header(api_client):
    r = api_client().delete("/api/v1/me")
    _shape(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


def test_malformed_json_is_400(api_client):
    r = api_client().patch("/api/v1/tenant", data="{not json",
                           headers={"Content-Type": "application/json"})
    body = _shape(r, 400, "bad_request")
    assert body["errors"] == {"json": ["Invalid JSON body."]}


def test_wrong_type_is_422_naming_the_field(api_client):
    body = _shape(api_client().patch("/api/v1/tenant", json={"name": 5}), 422, "invalid")
    assert list(body["errors"]) == ["name"]


def test_unknown_field_is_422_naming_it(api_client):
    body = _shape(api_client().patch("/api/v1/tenant", json={"nmae": "X"}), 422, "invalid")
    assert body["errors"] == {"nmae": ["Unknown field."]}


def test_body_that_is_not_an_object_is_422(api_client):
    body = _shape(api_client().post("/api/v1/tokens", json=["a"]), 422, "invalid")
    assert body["errors"]


def test_service_validation_error_is_422_with_its_fields(api_client):
    body = _shape(api_client().patch("/api/v1/tenant", json={"timezone": "Mars/Base"}),
                  422, "invalid")
    assert body["errors"] == {"timezone": ["Unknown time zone."]}


def test_service_conflict_is_409(api_client):
    api = api_client()
    body = _shape(api.patch(f"/api/v1/staff/{api.staff_id}", json={"active": False}),
                  409, "conflict")
    assert "yourself" in body["message"]


def test_oversized_body_is_413_and_nothing_is_written(app, api_client, monkeypatch):
    api = api_client()
    before = _token_count(app, api.tenant)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 200)
    r = api.post("/api/v1/tokens", json={"name": "x" * 500, "scope": "read"})
    _shape(r, 413, "too_large")
    assert _token_count(app, api.tenant) == before


def test_plan_limit_is_402_and_nothing_is_written(app, api_client, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")  # 3 seats
    api = api_client()
    for i in range(2):
        r = api.post("/api/v1/invitations", json={"email": f"s{i}@example.com",
                                                  "role": "agent"})
        assert r.status_code == 201
    body = _shape(api.post("/api/v1/invitations",
                           json={"email": "over@example.com", "role": "agent"}),
                  402, "limit_exceeded")
    assert list(body["errors"]) == ["seats"]
    assert len(api.get("/api/v1/invitations").json["items"]) == 2


def test_uncaught_exception_is_500_without_details(app, api_client, monkeypatch):
    api = api_client()

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/app.py line 3")

    monkeypatch.setattr("saas.services.tenants.update_settings", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    r = api.patch("/api/v1/tenant", json={"name": "New"})
    _shape(r, 500, "server_error")
    text = r.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
    assert api.get("/api/v1/tenant").json["name"] != "New"


def test_permission_denied_is_403_json(api_client):
    body = _shape(api_client(role="agent").get("/api/v1/audit"), 403, "forbidden")
    assert "audit.read" in body["message"]


def test_invalid_query_parameter_is_422_naming_it(api_client):
    body = _shape(api_client().get("/api/v1/audit?since=yesterday"), 422, "invalid")
    assert list(body["errors"]) == ["since"]
