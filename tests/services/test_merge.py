"""Merging customers: field choices, moved records, tombstone, record, audit and event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditEntry, OutboxEvent
from saas.models.customers import Contact, Customer, CustomerLookup
from saas.models.imports import MergeRecord
from saas.models.interactions import Interaction
from saas.models.orders import Order
from saas.services import contacts, interactions, merge, orders, products
from saas.services import customers as customer_service
from saas.services.errors import Conflict, InvalidInput, NotFound


def make(actor, **data):
    c = customer_service.create_customer(db.session, actor, data)
    db.session.flush()
    return c


def test_merge_moves_related_records_and_keeps_a_tombstone(world):
    _t, actor = world
    keep = make(actor, name="Acme", kind="company", phones=["13800138000"], tags=["vip"])
    gone = make(actor, name="ACME Ltd", kind="company", emails=["buy@acme.cn"],
                phones=["13900139000"], address="1 Road", tags=["vip", "north"],
                external_id="ERP-9")
    product = products.create_product(db.session, actor, {"sku": "S1", "name": "Tea",
                                                          "price": "10.00"})
    contacts.create_contact(db.session, actor, gone.id, {"name": "Li"})
    orders.place_order(db.session, actor, gone.id, {"lines": [{"sku": product.sku}]})
    interactions.log_interaction(db.session, actor, gone.id, {
        "channel": "phone", "summary": "called", "occurred_at": datetime.now(UTC)})
    older = make(actor, name="Acme old")
    merge.merge_customers(db.session, actor, gone.id, older.id)
    record = merge.merge_customers(db.session, actor, keep.id, gone.id,
                                   {"name": "merged"})
    db.session.commit()
    db.session.expire_all()
    keep = db.session.get(Customer, (keep.tenant_id, keep.id))
    assert keep.name == "ACME Ltd"
    assert keep.address == "1 Road" and keep.external_id == "ERP-9"
    assert keep.phones == ["+8613800138000", "+8613900139000"]
    assert keep.emails == ["buy@acme.cn"] and keep.tags == ["vip", "north"]
    for model in (Contact, Order, Interaction):
        assert {r.customer_id for r in db.session.scalars(select(model))} == {keep.id}
    merged_ids = {c.merged_into_id for c in db.session.scalars(
        select(Customer).where(Customer.id != keep.id))}
    assert merged_ids == {keep.id}, "earlier tombstones follow the survivor"
    owners = {lk.customer_id for lk in db.session.scalars(select(CustomerLookup))}
    assert owners == {keep.id}
    assert customer_service.find_by_email(db.session, "buy@acme.cn") == [keep]
    assert record.choices["name"] == "merged" and record.choices["address"] == "merged"
    assert record.snapshot["external_id"] == "ERP-9"
    assert record.moved["orders.customer_id"] == 1
    assert [m.merged_id for m in merge.merges_of(db.session, keep.id)] == [gone.id]
    assert len(db.session.scalars(select(MergeRecord)).all()) == 2
    event = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "customer.merged", OutboxEvent.entity_id == str(keep.id))).one()
    assert event.payload["merged_id"] == str(gone.id)
    assert db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "customer.merged")).all()


def test_custom_field_choice_per_key(world):
    from saas.services import custom_fields

    _t, actor = world
    custom_fields.create_definition(db.session, actor, "level", "Level", "text")
    a = make(actor, name="A", custom_fields={"level": "gold"})
    b = make(actor, name="B", custom_fields={"level": "silver"})
    merge.merge_customers(db.session, actor, a.id, b.id, {"custom_fields.level": "merged"})
    assert a.custom_fields == {"level": "silver"}


@pytest.mark.parametrize(("choices", "key"), [
    ({"color": "merged"}, "choices.color"),
    ({"name": "both"}, "choices.name"),
])
def test_bad_choices_are_refused_and_nothing_moves(world, choices, key):
    _t, actor = world
    a, b = make(actor, name="A"), make(actor, name="B")
    with pytest.raises(InvalidInput) as exc:
        merge.merge_customers(db.session, actor, a.id, b.id, choices)
    assert key in exc.value.errors
    assert b.merged_into_id is None


def test_self_merge_and_merging_a_tombstone_are_refused(world):
    _t, actor = world
    a, b, c = make(actor, name="A"), make(actor, name="B"), make(actor, name="C")
    with pytest.raises(InvalidInput):
        merge.merge_customers(db.session, actor, a.id, a.id)
    merge.merge_customers(db.session, actor, a.id, b.id)
    with pytest.raises(Conflict):
        merge.merge_customers(db.session, actor, c.id, b.id)
    with pytest.raises(Conflict):
        merge.merge_customers(db.session, actor, b.id, c.id)


def test_merging_across_tenants_is_impossible(world, make_tenant):
    _t, actor = world
    a_id = make(actor, name="A").id
    db.session.commit()
    other = make_tenant()
    other.bind()
    b = make(other.owner_actor(), name="B")
    with pytest.raises(NotFound):
        merge.merge_customers(db.session, other.owner_actor(), b.id, a_id)
    with pytest.raises(NotFound):
        merge.merge_customers(db.session, other.owner_actor(), a_id, b.id)


def test_every_customer_foreign_key_in_the_schema_is_handled():
    refs = {(t.name, c) for t, c in merge.customer_references()}
    assert {("contacts", "customer_id"), ("orders", "customer_id"),
            ("interactions", "customer_id"), ("customers", "merged_into_id"),
            ("customer_lookups", "customer_id"), ("merge_records", "merged_id")} <= refs
