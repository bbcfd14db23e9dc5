"""Field-level permissions across every surface, parametrized over the field registry.

Each (field, role) pair hides that field from that role and checks the API get, the
list, the export, the search filter and the campaign template variables; the owner, as a
control, still sees it — so the assertions can fail. The registry parametrization is
taken from `field_access.BUILTIN_FIELDS`, so a new built-in field is tested without
anyone editing this file.
"""

from __future__ import annotations

import csv
import io

import pytest

from saas.extensions import db
from saas.services import custom_fields, field_access
from saas.services import customers as customer_service
from saas.services.customers import FIELDS as CUSTOMER_FIELDS
from tests.privacy_world import CUSTOM_KEY, customer_with_every_field

FIELD_KEYS = [s.key for s in field_access.BUILTIN_FIELDS] + [
    f"cf.{CUSTOM_KEY}", field_access.ORDER_AMOUNTS]
ALWAYS_VISIBLE = {"name", "kind", "custom_fields"}  # custom: one entry per definition
FILTER_VALUES = {"q:phone": ("q", "13800138000"), "q:email": ("q", "ann@example.com"),
                 "consent.": ("consent.email", "granted")}


def _world(app, tenant) -> str:
    """A customer with every registered field filled, plus an order (for amounts)."""
    return customer_with_every_field(app, tenant, {
        "name": "Ann", "phones": ["13800138000"], "emails": ["ann@example.com"],
        "wechat_id": "ann_wx", "address": "1 Road", "industry": "Tea",
        "company_size": "10", "purchasing_power": "high", "department": "East",
        "tags": ["vip"], "birthday": "1990-01-02", "source_channel": "shop",
        "notes": "likes tea", "external_id": "X1",
        "custom_fields": {CUSTOM_KEY: "gold"}}, price="10", quantity=2)


def _surfaces(api, spec, cid: str) -> dict[str, bool]:
    """Where the field shows up for this client: {surface: seen?}."""
    seen = {}
    body = api.get(f"/api/v1/customers/{cid}").get_json()
    figures = api.get(f"/api/v1/customers/{cid}/key-figures").get_json()
    listed = api.get("/api/v1/customers").get_json()["items"][0]
    for name, data in (("get", body), ("list", listed)):
        if spec.custom:
            seen[name] = spec.key[3:] in (data.get("custom_fields") or {})
        elif spec.key == field_access.ORDER_AMOUNTS:
            seen[name] = "spend" in figures
        else:
            seen[name] = any(k in data for k in spec.response_keys)
    export = api.get("/api/v1/exports/customers")
    assert export.status_code == 200
    header = next(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    seen["export"] = any(c in header for c in spec.export_columns) \
        if spec.export_columns else None
    filter_results = []
    for fk in spec.filter_keys:
        key, value = FILTER_VALUES.get(fk, (fk, None))
        if value is None:
            value = {"purchasing_power": "high", "lifecycle_stage": "customer",
                     "tags": "vip", "owner_id": "none"}.get(fk, "x")
            if fk.startswith("cf."):
                value = "gold"
        resp = api.get("/api/v1/customers", query_string={key: value})
        filter_results.append(resp.status_code == 200)
    seen["filter"] = all(filter_results) if filter_results else None
    return seen


@pytest.mark.parametrize("role", field_access.CONFIGURABLE_ROLES)
@pytest.mark.parametrize("field_key", FIELD_KEYS)
def test_hidden_field_is_absent_from_every_surface_for_that_role(app, api_client, field_key,
                                                                 role):
    owner = api_client("owner")
    cid = _world(app, owner.tenant)
    member = api_client(role, scope="read", tenant=owner.tenant)
    resp = owner.put("/api/v1/privacy/field-permissions", json={
        "changes": [{"role": role, "field": field_key, "visible": False}]})
    assert resp.status_code == 200, resp.get_json()
    with app.app_context():
        owner.tenant.bind()
        spec = next(s for s in field_access.registry(db.session) if s.key == field_key)
        variables = field_access.template_variables(db.session, role)
        owner_variables = field_access.template_variables(db.session, "owner")
        db.session.remove()

    hidden = _surfaces(member, spec, cid)
    control = _surfaces(owner, spec, cid)
    for surface, seen in control.items():
        if seen is not None:
            assert seen, f"owner should see {field_key} on {surface}"
            assert not hidden[surface], f"{role} sees hidden {field_key} on {surface}"
    for name in spec.template_variables:
        assert name in owner_variables and name not in variables


def test_registry_covers_every_customer_field_and_custom_field(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        custom_fields.create_definition(db.session, tenant.owner_actor(), "size", "Size",
                                        "text")
        keys = {s.key for s in field_access.registry(db.session)}
        db.session.rollback()
    assert set(CUSTOMER_FIELDS) - ALWAYS_VISIBLE <= keys
    assert "cf.size" in keys and field_access.ORDER_AMOUNTS in keys


def test_writing_a_read_only_field_is_403_naming_it(app, api_client):
    owner = api_client("owner")
    cid = _world(app, owner.tenant)
    agent = api_client("agent", tenant=owner.tenant)
    owner.put("/api/v1/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "purchasing_power", "visible": True, "editable": False},
        {"role": "agent", "field": f"cf.{CUSTOM_KEY}", "visible": True, "editable": False}]})
    resp = agent.patch(f"/api/v1/customers/{cid}", json={"purchasing_power": "low",
                                                         "custom_fields": {CUSTOM_KEY: "x"}})
    assert resp.status_code == 403
    body = resp.get_json()
    assert set(body["errors"]) == {"purchasing_power", f"custom_fields.{CUSTOM_KEY}"}
    assert agent.get(f"/api/v1/customers/{cid}").get_json()["purchasing_power"] == "high"
    ok = agent.patch(f"/api/v1/customers/{cid}", json={"industry": "Coffee",
                                                       "purchasing_power": "high"})
    assert ok.status_code == 200
    created = agent.post("/api/v1/customers", json={"name": "B", "purchasing_power": "low"})
    assert created.status_code == 403 and "purchasing_power" in created.get_json()["errors"]


def test_hiding_a_field_used_by_a_segment_warns_where_until_confirmed(app, api_client):
    from saas.models.segments import Segment

    owner = api_client("owner")
    with app.app_context():
        owner.tenant.bind()
        db.session.add(Segment(name="Big spenders", rule={"all": [
            {"field": "purchasing_power", "op": "=", "value": "high"}]}))
        db.session.commit()
        db.session.remove()
    change = {"role": "agent", "field": "purchasing_power", "visible": False}
    resp = owner.put("/api/v1/privacy/field-permissions", json={"changes": [change]})
    assert resp.status_code == 409
    assert "Big spenders" in resp.get_json()["errors"]["purchasing_power"][0]
    settings = owner.get("/api/v1/privacy/field-permissions").get_json()
    row = next(f for f in settings["fields"] if f["key"] == "purchasing_power")
    assert row["roles"]["agent"]["visible"] is True
    resp = owner.put("/api/v1/privacy/field-permissions",
                     json={"changes": [change], "confirm": True})
    assert resp.status_code == 200
    row = next(f for f in resp.get_json()["fields"] if f["key"] == "purchasing_power")
    assert row["roles"]["agent"] == {"level": "hidden", "visible": False,
                                     "editable": False, "masked": False}


@pytest.mark.parametrize("change, field", [
    ({"role": "owner", "field": "phones", "visible": False}, "changes.1.role"),
    ({"role": "agent", "field": "nope", "visible": False}, "changes.1.field"),
])
def test_bad_permission_change_names_the_field_and_writes_nothing(api_client, change, field):
    owner = api_client("owner")
    resp = owner.put("/api/v1/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "notes", "visible": False}, change]})
    assert resp.status_code == 422 and field in resp.get_json()["errors"]
    notes = next(f for f in owner.get("/api/v1/privacy/field-permissions").get_json()
                 ["fields"] if f["key"] == "notes")
    assert notes["roles"]["agent"]["visible"] is True


def test_privacy_settings_need_privacy_manage(api_client):
    agent = api_client("agent")
    assert agent.get("/api/v1/privacy/field-permissions").status_code == 403
    admin = api_client("admin")
    assert admin.get("/api/v1/privacy/field-permissions").status_code == 200
    reader = api_client("admin", scope="read", tenant=admin.tenant)
    assert reader.put("/api/v1/privacy/row-scopes",
                      json={"role": "agent", "scope": "own"}).status_code == 403


@pytest.mark.parametrize("scope, sees", [("all", {"mine", "dept", "other"}),
                                         ("department", {"mine", "dept"}),
                                         ("own", {"mine"})])
def test_row_scope_limits_list_get_and_export(app, api_client, scope, sees):
    from saas.models import Staff

    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    with app.app_context():
        owner.tenant.bind()
        db.session.get(Staff, (owner.tenant.id, agent.staff_id)).department = "East"
        actor = owner.tenant.owner_actor()
        ids = {
            "mine": customer_service.create_customer(db.session, actor, {
                "name": "mine", "owner_id": agent.staff_id, "department": "North"}).id,
            "dept": customer_service.create_customer(db.session, actor, {
                "name": "dept", "department": "East"}).id,
            "other": customer_service.create_customer(db.session, actor, {
                "name": "other", "department": "West"}).id}
        db.session.commit()
        db.session.remove()
    assert owner.put("/api/v1/privacy/row-scopes",
                     json={"role": "agent", "scope": scope}).status_code == 200
    listed = {c["name"] for c in agent.get("/api/v1/customers").get_json()["items"]}
    assert listed == sees
    for name, cid in ids.items():
        status = agent.get(f"/api/v1/customers/{cid}").status_code
        assert status == (200 if name in sees else 404)
        patched = agent.patch(f"/api/v1/customers/{cid}", json={"industry": "x"})
        assert patched.status_code == (200 if name in sees else 404)
    export = agent.get("/api/v1/exports/customers").get_data(as_text=True)
    assert {n for n in ids if f",{n}," in export} == sees


def test_bad_row_scope_is_422(api_client):
    owner = api_client("owner")
    resp = owner.put("/api/v1/privacy/row-scopes", json={"role": "owner", "scope": "own"})
    assert resp.status_code == 422 and "role" in resp.get_json()["errors"]
    resp = owner.put("/api/v1/privacy/row-scopes", json={"role": "agent", "scope": "x"})
    assert resp.status_code == 422 and "scope" in resp.get_json()["errors"]


def test_hidden_order_amounts_leave_the_timeline_too(app, api_client):
    owner = api_client("owner")
    cid = _world(app, owner.tenant)
    agent = api_client("agent", scope="read", tenant=owner.tenant)
    owner.put("/api/v1/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": field_access.ORDER_AMOUNTS, "visible": False}]})
    mine = [i for i in agent.get(f"/api/v1/customers/{cid}/timeline").get_json()
            if i["kind"] == "order"]
    theirs = [i for i in owner.get(f"/api/v1/customers/{cid}/timeline").get_json()
              if i["kind"] == "order"]
    assert "total" in theirs[0]["data"] and "total" not in mine[0]["data"]


def test_hidden_consent_leaves_the_timeline(app, api_client):
    owner = api_client("owner")
    cid = _world(app, owner.tenant)
    agent = api_client("agent", scope="read", tenant=owner.tenant)
    owner.put("/api/v1/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "consent", "visible": False}]})
    kinds = {i["kind"] for i in agent.get(f"/api/v1/customers/{cid}/timeline").get_json()}
    owner_kinds = {i["kind"] for i in owner.get(f"/api/v1/customers/{cid}/timeline")
                   .get_json()}
    assert "consent" in owner_kinds and "consent" not in kinds
