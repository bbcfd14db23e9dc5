"""Masked fields: shown as 138****8000 on every surface, revealed one at a time through an
audited endpoint. Parametrized over the maskable fields of the registry (a new maskable
field is covered without editing this file); the owner's clear view is the control."""

from __future__ import annotations

import csv
import io
import json

import pytest

from saas.extensions import db
from saas.services import field_access
from tests.api.test_privacy_fields import CUSTOM_KEY, _world

MASKABLE = [s.key for s in field_access.BUILTIN_FIELDS if s.maskable] + [f"cf.{CUSTOM_KEY}"]
FILTERS = {"q:phone": ("q", "13800138000"), "q:email": ("q", "ann@example.com")}


def _mask(app, api_client, field: str, role: str = "agent", scope: str = "write"):
    owner = api_client("owner")
    cid = _world(app, owner.tenant)
    member = api_client(role, scope=scope, tenant=owner.tenant)
    resp = owner.put("/api/v1/privacy/field-permissions", json={
        "changes": [{"role": role, "field": field, "level": "masked"}]})
    assert resp.status_code == 200, resp.get_json()
    return owner, member, cid


def _values(body: dict, spec) -> list:
    if spec.custom:
        return [(body.get("custom_fields") or {}).get(spec.key[3:])]
    return [body.get(k) for k in spec.response_keys]


def _flat(values: list) -> list[str]:
    return [str(v) for value in values for v in (value if isinstance(value, list)
                                                 else [value])]


def _spec(app, tenant, key):
    with app.app_context():
        tenant.bind()
        spec = next(s for s in field_access.registry(db.session) if s.key == key)
        db.session.remove()
    return spec


def _export(client) -> str:
    resp = client.get("/api/v1/exports/customers")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("field_key", MASKABLE)
def test_masked_field_is_masked_on_every_surface_and_revealed_with_an_audit(
        app, api_client, field_key):
    owner, agent, cid = _mask(app, api_client, field_key)
    spec = _spec(app, owner.tenant, field_key)
    clear = _flat(_values(owner.get(f"/api/v1/customers/{cid}").get_json(), spec))
    assert clear and all(clear)

    for body in (agent.get(f"/api/v1/customers/{cid}").get_json(),
                 agent.get("/api/v1/customers").get_json()["items"][0]):
        shown = _flat(_values(body, spec))
        assert shown and all("*" in v for v in shown), shown
        text = json.dumps(body)
        assert not any(c in text for c in clear), f"clear {field_key} in {text}"

    export = _export(agent)
    header = next(csv.reader(io.StringIO(export.lstrip("\ufeff"))))
    assert set(spec.export_columns) <= set(header)
    assert not any(c in export for c in clear) and "*" in export
    assert all(c in _export(owner) for c in clear)

    for fk in spec.filter_keys:
        key, value = FILTERS.get(fk, (fk, "gold" if fk.startswith("cf.") else "X1"))
        assert agent.get("/api/v1/customers", query_string={key: value}).status_code == 422
        assert owner.get("/api/v1/customers", query_string={key: value}).status_code == 200
    with app.app_context():
        owner.tenant.bind()
        variables = field_access.template_variables(db.session, "agent")
        db.session.remove()
    assert not set(spec.template_variables) & set(variables)

    revealed = agent.post(f"/api/v1/privacy/customers/{cid}/reveal",
                          json={"field": field_key})
    assert revealed.status_code == 200, revealed.get_json()
    assert set(_flat([revealed.get_json()["value"]])) == set(clear)
    log = owner.get(f"/api/v1/privacy/customers/{cid}/access-log").get_json()
    reveal = [e for e in log if e["action"] == "customer.field_revealed"]
    assert len(reveal) == 1 and reveal[0]["details"]["field"] == field_key
    assert reveal[0]["actor_id"] == str(agent.staff_id) and reveal[0]["ip"]


@pytest.mark.parametrize("role", field_access.CONFIGURABLE_ROLES)
def test_every_configurable_role_can_be_given_a_masked_phone(app, api_client, role):
    owner, member, cid = _mask(app, api_client, "phones", role=role, scope="read")
    assert member.get(f"/api/v1/customers/{cid}").get_json()["phone"] == "+86138****8000"
    assert owner.get(f"/api/v1/customers/{cid}").get_json()["phone"] == "+8613800138000"


def test_a_masked_field_is_not_writable_and_the_403_names_it(app, api_client):
    _owner, agent, cid = _mask(app, api_client, "wechat_id")
    resp = agent.patch(f"/api/v1/customers/{cid}", json={"wechat_id": "a****"})
    assert resp.status_code == 403 and "wechat_id" in resp.get_json()["errors"]
    assert agent.patch(f"/api/v1/customers/{cid}", json={"industry": "Tea2"}).status_code \
        == 200


@pytest.mark.parametrize("body, status, key", [
    ({"field": "purchasing_power"}, 422, "field"),   # not maskable
    ({"field": "nope"}, 422, "field"),
    ({}, 422, "field"),
    ({"field": "phones", "extra": 1}, 422, "extra"),
])
def test_bad_reveal_is_422_naming_the_field_and_logs_nothing(app, api_client, body, status,
                                                             key):
    owner, agent, cid = _mask(app, api_client, "phones")
    resp = agent.post(f"/api/v1/privacy/customers/{cid}/reveal", json=body)
    assert resp.status_code == status and key in resp.get_json()["errors"]
    log = owner.get(f"/api/v1/privacy/customers/{cid}/access-log").get_json()
    assert not [e for e in log if e["action"] == "customer.field_revealed"]


def test_revealing_a_hidden_field_is_403(app, api_client):
    owner = api_client("owner")
    cid = _world(app, owner.tenant)
    agent = api_client("agent", tenant=owner.tenant)
    owner.put("/api/v1/privacy/field-permissions", json={
        "changes": [{"role": "agent", "field": "phones", "level": "hidden"}]})
    resp = agent.post(f"/api/v1/privacy/customers/{cid}/reveal", json={"field": "phones"})
    assert resp.status_code == 403 and "field" in resp.get_json()["errors"]


def test_reveal_of_another_tenants_customer_is_404(app, api_client):
    owner, _agent, cid = _mask(app, api_client, "phones")
    stranger = api_client("owner")
    assert stranger.post(f"/api/v1/privacy/customers/{cid}/reveal",
                         json={"field": "phones"}).status_code == 404


def test_reveal_needs_a_write_token_and_customers_read(app, api_client):
    owner, reader, cid = _mask(app, api_client, "phones", scope="read")
    assert reader.post(f"/api/v1/privacy/customers/{cid}/reveal",
                       json={"field": "phones"}).status_code == 403


@pytest.mark.parametrize("change, key", [
    ({"role": "agent", "field": "purchasing_power", "level": "masked"}, "changes.0.level"),
    ({"role": "agent", "field": "phones", "level": "blurred"}, "changes.0.level"),
    ({"role": "agent", "field": "phones"}, "changes.0.level"),
])
def test_bad_level_is_422_and_changes_nothing(api_client, change, key):
    owner = api_client("owner")
    resp = owner.put("/api/v1/privacy/field-permissions", json={"changes": [change]})
    assert resp.status_code == 422 and key in resp.get_json()["errors"], resp.get_json()
    row = next(f for f in owner.get("/api/v1/privacy/field-permissions").get_json()
               ["fields"] if f["key"] == change["field"])
    assert row["roles"]["agent"]["level"] == "write"


def test_masking_a_field_used_by_a_segment_asks_for_confirmation(app, api_client):
    from saas.models.segments import Segment

    owner = api_client("owner")
    with app.app_context():
        owner.tenant.bind()
        db.session.add(Segment(name="By WeChat", rule={"all": [
            {"field": "wechat_id", "op": "=", "value": "x"}]}))
        db.session.commit()
        db.session.remove()
    change = {"role": "agent", "field": "wechat_id", "level": "masked"}
    resp = owner.put("/api/v1/privacy/field-permissions", json={"changes": [change]})
    assert resp.status_code == 409 and "By WeChat" in resp.get_json()["errors"]["wechat_id"][0]
    resp = owner.put("/api/v1/privacy/field-permissions",
                     json={"changes": [change], "confirm": True})
    row = next(f for f in resp.get_json()["fields"] if f["key"] == "wechat_id")
    assert row["roles"]["agent"]["level"] == "masked" and row["maskable"] is True


@pytest.mark.parametrize("level, phone_shown", [("write", "+8613900139000"),
                                                ("masked", "+86139****9000"),
                                                ("hidden", None)])
def test_contact_phone_follows_the_customer_phones_permission(app, api_client, level,
                                                              phone_shown):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    company = owner.post("/api/v1/customers", json={"name": "Co", "kind": "company"})
    cid = company.get_json()["id"]
    assert owner.post(f"/api/v1/customers/{cid}/contacts", json={
        "name": "Bo", "phone": "13900139000"}).status_code == 201
    owner.put("/api/v1/privacy/field-permissions", json={
        "changes": [{"role": "agent", "field": "phones", "level": level}]})
    contact = agent.get(f"/api/v1/customers/{cid}/contacts").get_json()[0]
    assert contact.get("phone") == phone_shown
    assert ("phone" in contact) is (phone_shown is not None)
    written = agent.post(f"/api/v1/customers/{cid}/contacts",
                         json={"name": "Cy", "phone": "13700137000"})
    if level == "write":
        assert written.status_code == 201
    else:
        assert written.status_code == 403 and "phone" in written.get_json()["errors"]
        assert agent.post(f"/api/v1/customers/{cid}/contacts",
                          json={"name": "Cy"}).status_code == 201
