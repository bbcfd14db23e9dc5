"""Issue 11 on writes: an agent whose row scope is "own" cannot overwrite another owner's
customer through the bulk upsert or an import (by email, phone or external id), and an
import mapping may not name a field the importer may not write or see.

World: one customer of the owner ("Other", o@x.com, 13800138000, external id X-1,
industry "orig"); the agent's scope is "own". The owner (scope all) is the control:
the same request updates "Other". Imports run inline (no Redis), so on PostgreSQL the
owner's customer import takes the COPY path and the agent's the row path.
"""

from __future__ import annotations

import io
import uuid

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import Staff
from saas.models.customers import Customer
from saas.services import customers as customer_service
from saas.services.customer_upsert import OUT_OF_SCOPE

API = "/api/v1"


@pytest.fixture
def world(app, api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    with app.app_context():
        owner.tenant.bind()
        other = customer_service.create_customer(db.session, owner.tenant.owner_actor(), {
            "name": "Other", "emails": ["o@x.com"], "phones": ["13800138000"],
            "external_id": "X-1", "industry": "orig"})
        db.session.commit()
        other_id = str(other.id)
        db.session.remove()
    r = owner.put(f"{API}/privacy/row-scopes", json={"role": "agent", "scope": "own"})
    assert r.status_code == 200, r.get_json()
    return owner, agent, other_id


def stored(app, tenant, customer_id: str) -> tuple:
    with app.app_context():
        tenant.bind()
        c = db.session.scalars(select(Customer).where(
            Customer.id == uuid.UUID(customer_id))).one()
        out = (c.name, c.notes, c.industry)
        db.session.remove()
    return out


def count_customers(app, tenant) -> int:
    with app.app_context():
        tenant.bind()
        n = len(db.session.scalars(select(Customer.id)).all())
        db.session.remove()
    return n


def upload(c, text: str, entity: str = "customers"):
    return c.post(f"{API}/imports", data={"entity": entity,
                                         "file": (io.BytesIO(text.encode()), "c.csv")},
                  content_type="multipart/form-data")


MATCHES = [("emails", {"emails": ["O@X.com"]}),
           ("phones", {"phones": ["138 0013 8000"]}),
           ("external_id", {"external_id": "X-1"})]


@pytest.mark.parametrize(("key", "identity"), MATCHES, ids=[m[0] for m in MATCHES])
def test_bulk_row_matching_a_customer_outside_the_scope_is_refused(app, world, key,
                                                                  identity):
    owner, agent, other_id = world
    r = agent.post(f"{API}/customers/bulk", json={"rows": [
        {"name": "Hijacked", "notes": "agent wrote", **identity},
        {"name": "Fresh", "emails": ["fresh@x.com"]}]})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["created"], body["updated"], body["failed"]) == (1, 0, 1)
    refused = body["rows"][0]
    assert refused["status"] == "error" and refused["errors"] == {key: [OUT_OF_SCOPE]}
    assert refused.get("id") is None  # nothing about the other customer leaks
    assert "Other" not in r.get_data(as_text=True)
    assert stored(app, owner.tenant, other_id) == ("Other", None, "orig")
    assert count_customers(app, owner.tenant) == 2  # no duplicate of "Other" either


def test_bulk_updates_the_agents_own_customer_and_the_owner_updates_any(app, world):
    owner, agent, other_id = world
    r = agent.post(f"{API}/customers/bulk", json={"rows": [
        {"name": "Mine", "emails": ["mine@x.com"], "owner_id": str(agent.staff_id)}]})
    assert r.get_json()["created"] == 1, r.get_json()
    r = agent.post(f"{API}/customers/bulk", json={"rows": [
        {"name": "Mine again", "emails": ["mine@x.com"]}]})
    assert (r.get_json()["updated"], r.get_json()["failed"]) == (1, 0), r.get_json()
    r = owner.post(f"{API}/customers/bulk", json={"rows": [
        {"name": "Other renamed", "emails": ["o@x.com"], "notes": "owner wrote"}]})
    assert r.get_json()["updated"] == 1, r.get_json()
    assert stored(app, owner.tenant, other_id) == ("Other renamed", "owner wrote", "orig")


def set_department(app, tenant, staff_id, department: str) -> None:
    with app.app_context():
        tenant.bind()
        db.session.get(Staff, (tenant.id, staff_id)).department = department
        db.session.commit()
        db.session.remove()


def test_department_scope_updates_its_departments_customer_only(app, world):
    owner, agent, other_id = world
    assert owner.put(f"{API}/privacy/row-scopes", json={
        "role": "agent", "scope": "department"}).status_code == 200
    r = owner.patch(f"{API}/customers/{other_id}", json={"department": "East"})
    assert r.status_code == 200, r.get_json()
    set_department(app, owner.tenant, agent.staff_id, "West")
    r = agent.post(f"{API}/customers/bulk", json={"rows": [
        {"name": "X", "emails": ["o@x.com"]}]})
    assert r.get_json()["rows"][0]["errors"] == {"emails": [OUT_OF_SCOPE]}
    set_department(app, owner.tenant, agent.staff_id, "East")
    r = agent.post(f"{API}/customers/bulk", json={"rows": [
        {"name": "Other (East)", "emails": ["o@x.com"]}]})
    assert r.get_json()["updated"] == 1, r.get_json()
    assert stored(app, owner.tenant, other_id)[0] == "Other (East)"


def test_import_row_matching_a_customer_outside_the_scope_is_a_row_error(app, world):
    owner, agent, other_id = world
    text = ("name,email,phone,external id,notes\n"
            "Hijacked,o@x.com,,,agent wrote\n"
            "Hijacked 2,,13800138000,,agent wrote\n"
            "Hijacked 3,,,X-1,agent wrote\n"
            "Fresh,f@x.com,13600136000,,\n")
    job = upload(agent, text).get_json()
    assert job["mapping"] == {"name": "name", "email": "emails", "phone": "phones",
                              "external id": "external_id", "notes": "notes"}, job
    jid = job["id"]
    preview = agent.post(f"{API}/imports/{jid}/preview").get_json()
    assert [(x["row"], x["status"]) for x in preview["rows"]] == [
        (2, "error"), (3, "error"), (4, "error"), (5, "created")]
    assert [x["errors"][0]["column"] for x in preview["rows"][:3]] == [
        "email", "phone", "external id"]
    assert {x["errors"][0]["message"] for x in preview["rows"][:3]} == {OUT_OF_SCOPE}
    assert agent.post(f"{API}/imports/{jid}/start").status_code == 202
    done = agent.get(f"{API}/imports/{jid}").get_json()
    assert (done["status"], done["created_count"], done["updated_count"],
            done["error_count"]) == ("done", 1, 0, 3)
    report = agent.get(f"{API}/imports/{jid}/errors").get_data(as_text=True)
    assert report.count(OUT_OF_SCOPE) == 3 and "Other" not in report
    assert stored(app, owner.tenant, other_id) == ("Other", None, "orig")


def test_owner_import_of_the_same_file_updates_the_customer(app, world):
    owner, _agent, other_id = world
    job = upload(owner, "name,email,notes\nOther,o@x.com,owner wrote\n").get_json()
    preview = owner.post(f"{API}/imports/{job['id']}/preview").get_json()
    assert [x["status"] for x in preview["rows"]] == ["updated"]
    assert owner.post(f"{API}/imports/{job['id']}/start").status_code == 202
    done = owner.get(f"{API}/imports/{job['id']}").get_json()
    assert (done["updated_count"], done["error_count"]) == (1, 0)
    assert stored(app, owner.tenant, other_id) == ("Other", "owner wrote", "orig")


def test_order_import_cannot_reach_a_customer_outside_the_scope(app, world):
    owner, agent, _other_id = world
    assert owner.post(f"{API}/products", json={"sku": "A", "name": "A", "price": "10",
                                               "currency": "CNY"}).status_code == 201
    text = "number,customer email,sku,quantity\nN-1,o@x.com,A,1\n"
    job = upload(agent, text, entity="orders").get_json()
    preview = agent.post(f"{API}/imports/{job['id']}/preview").get_json()
    assert preview["rows"][0]["status"] == "error"
    assert preview["rows"][0]["errors"][0]["message"] == "No customer has this value."
    job = upload(owner, text, entity="orders").get_json()
    preview = owner.post(f"{API}/imports/{job['id']}/preview").get_json()
    assert preview["rows"][0]["status"] == "created", preview


@pytest.fixture
def restricted(world):
    owner, agent, other_id = world
    r = owner.put(f"{API}/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "phones", "level": "read"},
        {"role": "agent", "field": "industry", "level": "hidden"}]})
    assert r.status_code == 200, r.get_json()
    return owner, agent, other_id


def test_import_targets_leave_out_hidden_fields_and_mark_read_only_ones(restricted):
    owner, agent, _ = restricted
    text = "name,phone,industry,notes\nNew,13600136000,retail,hi\n"
    job = upload(agent, text).get_json()
    assert "industry" not in job["targets"] and "phones" in job["targets"]
    assert job["read_only_targets"] == ["phones"]
    assert job["mapping"] == {"name": "name", "notes": "notes"}  # not suggested
    control = upload(owner, text).get_json()
    assert {"industry", "phones"} <= set(control["targets"])
    assert control["read_only_targets"] == []
    assert control["mapping"] == {"name": "name", "phone": "phones",
                                  "industry": "industry", "notes": "notes"}


def test_mapping_a_column_to_a_read_only_or_hidden_field_is_403_naming_it(app, restricted):
    owner, agent, _ = restricted
    text = "name,phone,industry\nNew,13600136000,retail\n"
    jid = upload(agent, text).get_json()["id"]
    r = agent.put(f"{API}/imports/{jid}/mapping", json={"mapping": {
        "name": "name", "phone": "phones", "industry": "industry"}})
    assert r.status_code == 403, r.get_json()
    body = r.get_json()
    assert body["errors"] == {"mapping.phone": ["You may not change this field."],
                              "mapping.industry": ["You may not change this field."]}
    assert "industry" in body["message"] and "phones" in body["message"]
    assert agent.get(f"{API}/imports/{jid}").get_json()["mapping"] == {"name": "name"}
    assert agent.put(f"{API}/imports/{jid}/mapping", json={"mapping": {
        "name": "name", "phone": None, "industry": ""}}).status_code == 200
    assert agent.post(f"{API}/imports/{jid}/start").status_code == 202
    assert count_customers(app, owner.tenant) == 2
    ojid = upload(owner, text).get_json()["id"]
    assert owner.put(f"{API}/imports/{ojid}/mapping", json={"mapping": {
        "name": "name", "phone": "phones", "industry": "industry"}}).status_code == 200


def test_a_mapping_saved_before_the_field_was_restricted_is_refused_at_start(app, world):
    owner, agent, _ = world
    text = "name,industry\nNew,retail\n"
    jid = upload(agent, text).get_json()["id"]
    assert agent.get(f"{API}/imports/{jid}").get_json()["mapping"]["industry"] == "industry"
    owner.put(f"{API}/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "industry", "level": "read"}]})
    r = agent.post(f"{API}/imports/{jid}/preview")
    assert r.status_code == 403 and r.get_json()["errors"] == {
        "mapping.industry": ["You may not change this field."]}
    r = agent.post(f"{API}/imports/{jid}/start")
    assert r.status_code == 403 and "industry" in r.get_json()["message"]
    assert agent.get(f"{API}/imports/{jid}").get_json()["status"] == "uploaded"


def test_lookup_by_a_hidden_value_is_not_offered_nor_accepted(app, world):
    owner, agent, _ = world
    owner.put(f"{API}/privacy/field-permissions", json={"changes": [
        {"role": "agent", "field": "emails", "level": "hidden"}]})
    job = upload(agent, "number,customer email,sku\nN-1,o@x.com,A\n", "orders").get_json()
    assert "customer_email" not in job["targets"] and "customer_phone" in job["targets"]
    r = agent.put(f"{API}/imports/{job['id']}/mapping", json={"mapping": {
        "number": "number", "customer email": "customer_email", "sku": "sku"}})
    assert r.status_code == 403
    assert r.get_json()["errors"] == {
        "mapping.customer email": ["You may not filter on this field."]}


def test_another_tenants_import_mapping_is_404(api_client, world):
    _owner, agent, _ = world
    stranger = api_client("owner")
    jid = upload(stranger, "name\nA\n").get_json()["id"]
    assert agent.put(f"{API}/imports/{jid}/mapping",
                     json={"mapping": {"name": "name"}}).status_code == 404
