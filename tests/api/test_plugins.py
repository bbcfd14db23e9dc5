"""REST API for plugins: list, configure, enable, deliveries and retry."""

from __future__ import annotations

import pytest

from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, emit_event, registered


@pytest.fixture
def echo(app):
    with registered(app, EchoPlugin(), "echo", version="2.0") as plugin:
        yield plugin


def test_list_shows_installed_plugins_with_status(api_client, echo):
    api = api_client()
    res = api.get("/api/v1/plugins")
    assert res.status_code == 200
    found = {p["name"]: p for p in res.json}
    assert found["echo"]["status"] == "disabled"
    assert found["echo"]["version"] == "2.0"
    assert "on_event" in found["echo"]["hooks"]
    assert {"email", "sms", "webhooks"} <= set(found)


def test_detail_describes_the_settings_form(api_client, echo):
    res = api_client().get("/api/v1/plugins/echo")
    assert res.status_code == 200
    fields = {f["name"]: f for f in res.json["fields"]}
    assert fields["token"]["secret"] is True and fields["token"]["required"] is True
    assert fields["greeting"]["default"] == "hello"
    assert fields["url"]["label"] == "Endpoint URL"


def test_put_settings_masks_secrets_in_the_answer(api_client, echo):
    api = api_client()
    res = api.put("/api/v1/plugins/echo/settings", json=GOOD_SETTINGS)
    assert res.status_code == 200, res.json
    assert res.json["settings"]["token"] == "••••cret"
    assert res.json["settings"]["url"] == GOOD_SETTINGS["url"]
    assert GOOD_SETTINGS["token"] not in res.get_data(as_text=True)


def test_invalid_settings_are_422_naming_each_field(api_client, echo):
    res = api_client().put("/api/v1/plugins/echo/settings",
                           json={"url": "nope", "retries": "many", "colour": "red"})
    assert res.status_code == 422
    assert set(res.json["errors"]) == {"colour"}
    res = api_client().put("/api/v1/plugins/echo/settings",
                           json={"url": "nope", "retries": "many"})
    assert res.status_code == 422
    assert set(res.json["errors"]) == {"url", "token", "retries"}


def test_settings_body_must_be_an_object(api_client, echo):
    res = api_client().put("/api/v1/plugins/echo/settings", json=["x"])
    assert res.status_code in (400, 422)


def test_enable_without_settings_is_422_then_works(api_client, echo):
    api = api_client()
    assert api.post("/api/v1/plugins/echo/enable").status_code == 422
    api.put("/api/v1/plugins/echo/settings", json=GOOD_SETTINGS)
    res = api.post("/api/v1/plugins/echo/enable")
    assert res.status_code == 200 and res.json["status"] == "enabled"
    res = api.post("/api/v1/plugins/echo/disable")
    assert res.json["status"] == "disabled"


def test_unknown_plugin_is_404(api_client):
    api = api_client()
    assert api.get("/api/v1/plugins/nope").status_code == 404
    assert api.post("/api/v1/plugins/nope/enable").status_code == 404
    assert api.put("/api/v1/plugins/nope/settings", json={}).status_code == 404


def test_deliveries_filter_and_retry(app, api_client):
    api = api_client()
    plugin = EchoPlugin(mode="raise")
    with registered(app, plugin, "broken"):
        configure(app, api.tenant, "broken", GOOD_SETTINGS)
        emit_event(app, api.tenant, "order.placed")
        res = api.get("/api/v1/plugins/deliveries?status=failed")
        assert res.status_code == 200
        [item] = res.json["items"]
        assert item["last_error"] == "RuntimeError: receiver said no"
        assert item["event_name"] == "order.placed"
        assert api.get("/api/v1/plugins/deliveries?status=succeeded").json["items"] == []
        plugin.mode = "ok"
        res = api.post(f"/api/v1/plugins/deliveries/{item['id']}/retry")
        assert res.status_code == 200
        assert res.json["status"] == "succeeded"
        assert api.post(f"/api/v1/plugins/deliveries/{item['id']}/retry").status_code == 409
        assert api.get(f"/api/v1/plugins/deliveries/{item['id']}").json["attempts"] == 1


def test_bad_status_filter_is_422(api_client):
    res = api_client().get("/api/v1/plugins/deliveries?status=exploded")
    assert res.status_code == 422
    assert "status" in str(res.json["errors"])


def test_other_tenants_delivery_is_404(app, api_client, echo):
    a, b = api_client(), api_client()
    configure(app, a.tenant, "echo", GOOD_SETTINGS)
    emit_event(app, a.tenant)
    [item] = a.get("/api/v1/plugins/deliveries").json["items"]
    assert b.get(f"/api/v1/plugins/deliveries/{item['id']}").status_code == 404
    assert b.post(f"/api/v1/plugins/deliveries/{item['id']}/retry").status_code == 404
    assert b.get("/api/v1/plugins/deliveries").json["items"] == []


def test_roles_without_plugins_manage_are_403(api_client, echo):
    for role in ("manager", "agent", "readonly"):
        api = api_client(role=role, scope="read" if role == "readonly" else "write")
        assert api.get("/api/v1/plugins").status_code == 403
        assert api.put("/api/v1/plugins/echo/settings", json=GOOD_SETTINGS).status_code == 403


def test_read_scope_token_cannot_change_settings(api_client, echo):
    api = api_client(role="admin", scope="read")
    assert api.get("/api/v1/plugins").status_code == 200
    assert api.put("/api/v1/plugins/echo/settings", json=GOOD_SETTINGS).status_code == 403
    assert api.post("/api/v1/plugins/echo/enable").status_code == 403
