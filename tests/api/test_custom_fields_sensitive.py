"""Custom fields marked sensitive through the API (issue 11): admins set the flag, the
values move to the encrypted column, customers are still read, written, filtered by
exact value and exported with their clear values."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import select, text

from saas.extensions import db
from saas.models import AuditEntry

API = "/api/v1"
CARD = "110101199003077777"


@pytest.fixture
def admin(api_client):
    return api_client("admin")


def _field(c, **body):
    r = c.post(f"{API}/custom-fields", json={"key": "id_card", "label": "ID card",
                                             "type": "text", **body})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _raw_customers(app, tenant) -> str:
    with app.app_context():
        tenant.bind()
        raw = " ".join(str(v) for row in db.session.execute(text("SELECT * FROM customers"))
                       for v in row)
        db.session.remove()
    return raw


def test_admin_creates_a_sensitive_field_and_customers_keep_clear_values(app, admin):
    field = _field(admin, sensitive=True)
    assert (field["sensitive"], field["sensitive_state"]) == (True, "encrypted")
    r = admin.post(f"{API}/customers", json={"name": "Ann", "custom_fields": {"id_card": CARD}})
    assert r.status_code == 201 and r.get_json()["custom_fields"] == {"id_card": CARD}
    cid = r.get_json()["id"]
    assert CARD not in _raw_customers(app, admin.tenant)
    assert admin.get(f"{API}/customers/{cid}").get_json()["custom_fields"] == {"id_card": CARD}
    found = admin.get(f"{API}/customers", query_string={"cf.id_card": CARD}).get_json()
    assert [c["name"] for c in found["items"]] == ["Ann"]
    missed = admin.get(f"{API}/customers", query_string={"cf.id_card": CARD[:6]}).get_json()
    assert missed["items"] == []
    export = admin.get(f"{API}/exports/customers").get_data(as_text=True).lstrip("\ufeff")
    [row] = list(csv.DictReader(io.StringIO(export)))
    assert row["cf.id_card"] == CARD


def test_patch_marks_sensitive_moves_values_and_is_audited(app, admin):
    field = _field(admin)
    r = admin.post(f"{API}/customers", json={"name": "Ann", "custom_fields": {"id_card": CARD}})
    cid = r.get_json()["id"]
    assert CARD in _raw_customers(app, admin.tenant)
    r = admin.patch(f"{API}/custom-fields/{field['id']}", json={"sensitive": True})
    assert r.status_code == 200 and r.get_json()["sensitive"] is True
    [listed] = admin.get(f"{API}/custom-fields").get_json()
    assert listed["sensitive_state"] == "encrypted", "the job ran (inline without Redis)"
    assert CARD not in _raw_customers(app, admin.tenant)
    assert admin.get(f"{API}/customers/{cid}").get_json()["custom_fields"] == {"id_card": CARD}
    r = admin.patch(f"{API}/custom-fields/{field['id']}", json={"sensitive": False})
    assert r.status_code == 200
    assert admin.get(f"{API}/custom-fields").get_json()[0]["sensitive_state"] == "plain"
    assert CARD in _raw_customers(app, admin.tenant)
    with app.app_context():
        admin.tenant.bind()
        changes = [e.changes for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "custom_field.updated").order_by(AuditEntry.created_at))]
        db.session.remove()
    assert changes == [{"sensitive": [False, True]}, {"sensitive": [True, False]}]


def test_marking_a_field_used_by_a_segment_is_409_naming_it(admin):
    field = _field(admin)
    r = admin.post(f"{API}/segments", json={"name": "Cards", "rule": {
        "all": [{"custom_field": "id_card", "op": "is_set"}]}})
    assert r.status_code == 201, r.get_json()
    r = admin.patch(f"{API}/custom-fields/{field['id']}", json={"sensitive": True})
    assert r.status_code == 409
    assert r.get_json()["errors"] == {"sensitive": ["Used in segment 'Cards'."]}
    assert admin.get(f"{API}/custom-fields").get_json()[0]["sensitive"] is False


def test_a_rule_on_a_sensitive_field_is_422_naming_it(admin):
    _field(admin, sensitive=True)
    r = admin.post(f"{API}/segments", json={"name": "Cards", "rule": {
        "all": [{"custom_field": "id_card", "op": "=", "value": CARD}]}})
    assert r.status_code == 422
    [message] = r.get_json()["errors"]["rule.all.0.custom_field"]
    assert "'id_card' is sensitive" in message


def test_bad_flag_is_422(admin):
    field = _field(admin)
    r = admin.patch(f"{API}/custom-fields/{field['id']}", json={"sensitive": "maybe"})
    assert r.status_code == 422 and "sensitive" in r.get_json()["errors"]


def test_other_tenants_field_is_404(admin, api_client):
    theirs = _field(api_client())
    r = admin.patch(f"{API}/custom-fields/{theirs['id']}", json={"sensitive": True})
    assert r.status_code == 404
    r = admin.patch(f"{API}/custom-fields/{uuid.uuid4()}", json={"sensitive": True})
    assert r.status_code == 404


@pytest.mark.parametrize("role, scope", [("manager", "write"), ("agent", "write"),
                                         ("owner", "read")])
def test_only_admins_with_a_write_token_mark_fields_sensitive(admin, api_client, role, scope):
    field = _field(admin)
    other = api_client(role, scope, tenant=admin.tenant)
    r = other.patch(f"{API}/custom-fields/{field['id']}", json={"sensitive": True})
    assert r.status_code == 403
    assert admin.get(f"{API}/custom-fields").get_json()[0]["sensitive"] is False
