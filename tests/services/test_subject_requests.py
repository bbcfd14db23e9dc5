"""Subject requests: export everything about one customer; erase one customer."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEntry, OutboxEvent
from saas.models.customers import Customer, CustomerLookup
from saas.models.privacy import ErasureRecord
from saas.services import (
    customer_list,
    interactions,
    merge,
    orders,
    products,
    read_audit,
    subject_requests,
)
from saas.services import customers as customer_service
from saas.services.errors import NotFound


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        customer = customer_service.create_customer(db.session, actor, {
            "name": "Ann Lee", "phones": ["13800138000"], "emails": ["ann@example.com"],
            "wechat_id": "annlee", "address": "1 Tea Road", "notes": "VIP",
            "consent": {"email": "granted"}})
        product = products.create_product(db.session, actor, {"sku": "T1", "name": "Tea",
                                                               "price": "10"})
        orders.place_order(db.session, actor, customer.id, {"lines": [
            {"product_id": str(product.id), "quantity": 3}]})
        interactions.log_interaction(db.session, actor, customer.id, {
            "channel": "phone", "direction": "in", "summary": "Ann asked about 1 Tea Road"})
        db.session.commit()
        yield tenant, actor, customer
        db.session.rollback()
        db.session.remove()


def _archive(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        everything = json.loads(archive.read("everything.json"))
    return {"names": names, "tables": everything["tables"]}


def test_export_holds_profile_orders_interactions_and_consent_as_json_and_csv(world):
    _tenant, actor, customer = world
    result = _archive(subject_requests.export_customer(db.session, actor, customer.id))
    tables = result["tables"]
    assert tables["customers"][0]["name"] == "Ann Lee"
    assert len(tables["orders"]) == 1 and len(tables["interactions"]) == 1
    assert tables["consent_events"][0]["status"] == "granted"
    assert {"everything.json", "customers.csv", "orders.csv"} <= result["names"]
    assert [e.action for e in read_audit.who_saw(db.session, customer.id)] == [
        "customer.exported"]


def test_export_of_a_merged_customer_includes_what_was_merged_in(world):
    _tenant, actor, customer = world
    twin = customer_service.create_customer(db.session, actor, {
        "name": "A. Lee", "phones": ["13900139000"]})
    merge.merge_customers(db.session, actor, customer.id, twin.id)
    db.session.flush()
    tables = _archive(subject_requests.export_customer(db.session, actor,
                                                       customer.id))["tables"]
    assert {c["name"] for c in tables["customers"]} == {"Ann Lee", "A. Lee"}


def test_erase_wipes_personal_fields_and_lookups_so_old_phone_finds_nothing(world):
    tenant, actor, customer = world
    record = subject_requests.erase_customer(db.session, actor, customer.id, "asked")
    db.session.commit()
    fresh = db.session.scalars(select(Customer).where(Customer.id == customer.id)).one()
    assert "Ann" not in fresh.name and fresh.phones == [] and fresh.emails == []
    assert fresh.wechat_id is None and fresh.address is None and fresh.notes is None
    assert customer_service.find_by_phone(db.session, "13800138000") == []
    query = customer_list.parse_filters(db.session, {"q": "138 0013 8000"})
    assert db.session.scalars(customer_list.filtered(db.session, query)).all() == []
    assert db.session.scalars(select(CustomerLookup)).all() == []
    # facts kept, free text gone
    assert orders.key_figures(db.session, customer.id).order_count == 1
    summaries = [i.summary for i in db.session.scalars(
        interactions.list_interactions(db.session, customer.id))]
    assert len(summaries) == 1 and "Tea Road" not in summaries[0]
    # the erasure record and the event carry no personal data
    stored = db.session.scalars(select(ErasureRecord)).one()
    assert stored.id == record.id and "Ann" not in json.dumps(stored.summary)
    event = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "customer.erased")).one()
    assert "Ann" not in json.dumps(event.payload)
    # the audit log no longer holds the old values
    for entry in db.session.scalars(select(AuditEntry).where(
            AuditEntry.entity_id == str(customer.id))):
        assert "13800138000" not in json.dumps(entry.changes)
    # every channel withdrawn
    assert all(v["status"] == "withdrawn" for v in fresh.consent.values())


def test_erase_anonymises_an_open_ticket(world):
    from saas.models.tickets import Ticket
    from saas.services import tickets

    _tenant, actor, customer = world
    ticket = tickets.create_ticket(db.session, actor, {
        "customer_id": str(customer.id), "subject": "Ann's kettle",
        "description": "Call Ann on 13800138000"})
    db.session.commit()
    subject_requests.erase_customer(db.session, actor, customer.id)
    db.session.commit()
    fresh = db.session.scalars(select(Ticket).where(Ticket.id == ticket.id)).one()
    assert fresh.status == ticket.status
    assert "Ann" not in fresh.subject and "13800138000" not in fresh.description


def test_another_tenants_customer_cannot_be_exported_or_erased(world, make_tenant):
    _tenant, _actor, customer = world
    cid = customer.id
    other = make_tenant()
    other.bind()
    with pytest.raises(NotFound):
        subject_requests.export_customer(db.session, other.owner_actor(), cid)
    with pytest.raises(NotFound):
        subject_requests.erase_customer(db.session, other.owner_actor(), cid)
