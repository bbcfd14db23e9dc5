"""Importing contacts, products, orders and interactions (through their own services)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.customers import Contact
from saas.models.interactions import Interaction
from saas.models.orders import Order, OrderLine
from saas.models.products import Product
from saas.services import customers, imports


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        customers.create_customer(db.session, actor, {
            "name": "Acme", "kind": "company", "external_id": "C1",
            "emails": ["buy@acme.cn"], "phones": ["13800138000"]})
        db.session.commit()
        yield tenant, actor
        db.session.rollback()
        db.session.remove()


def run(actor, entity: str, text: str):
    job = imports.upload(db.session, actor, entity, "f.csv", io.BytesIO(text.encode()))
    db.session.commit()
    for _ in imports.process(db.session, actor, job.id):
        db.session.commit()
    job = imports.get_job(db.session, job.id)
    body = "".join(imports.error_report(db.session, job.id)).lstrip("\ufeff")
    return job, list(csv.reader(io.StringIO(body)))[1:]


def test_products_upsert_by_sku(world):
    _t, actor = world
    job, errors = run(actor, "products", "sku,name,price\nT1,Tea,12.50\nT2,Cup,abc\n")
    assert (job.created_count, job.error_count) == (1, 1)
    assert errors[0][:3] == ["3", "price", "abc"]
    job, _ = run(actor, "products", "sku,name,price\nT1,Green tea,13\n")
    assert job.updated_count == 1
    product = db.session.scalars(select(Product)).one()
    assert (product.name, product.price) == ("Green tea", Decimal("13.00"))


def test_contacts_find_their_company_by_any_reference(world):
    _t, actor = world
    job, errors = run(actor, "contacts",
                      "customer_external_id,customer_email,name,title,phone\n"
                      "C1,,Li Lei,Buyer,13900139000\n"
                      ",BUY@acme.cn,Han Mei,CEO,\n"
                      "NOPE,,Ghost,,\n")
    assert (job.created_count, job.error_count) == (2, 1)
    assert errors == [["4", "customer_external_id", "NOPE",
                       "No customer has this external id."]]
    assert sorted(c.name for c in db.session.scalars(select(Contact))) == ["Han Mei", "Li Lei"]
    job, _ = run(actor, "contacts", "customer_external_id,name,title\nC1,Li Lei,Director\n")
    assert job.updated_count == 1
    assert db.session.scalars(select(Contact).where(Contact.name == "Li Lei")).one().title \
        == "Director"


def test_orders_are_imported_once_and_local_times_use_the_tenant_zone(world):
    _t, actor = world
    run(actor, "products", "sku,name,price\nT1,Tea,10\n")
    text = ("customer_phone,number,sku,quantity,placed_at\n"
            "138 0013 8000,A-1,T1,3,2024-05-01 10:00\n"
            "13800138000,A-2,NOSUCH,1,2024-05-02 10:00\n")
    job, errors = run(actor, "orders", text)
    assert (job.created_count, job.error_count) == (1, 1)
    assert errors == [["3", "sku", "NOSUCH", "No product with this SKU."]]
    order = db.session.scalars(select(Order)).one()
    assert order.total == Decimal("30.00")
    assert order.placed_at.isoformat().startswith("2024-05-01T02:00")
    assert db.session.scalars(select(OrderLine)).one().quantity == 3
    again, _ = run(actor, "orders", text)
    assert (again.created_count, again.skipped_count) == (0, 1)
    assert len(db.session.scalars(select(Order)).all()) == 1


def test_interactions_are_not_logged_twice(world):
    _t, actor = world
    text = ("customer_email,channel,summary,occurred_at\n"
            "buy@acme.cn,phone,\"Asked about\nbulk prices\",2024-05-01T09:00:00+08:00\n"
            "buy@acme.cn,pigeon,hello,2024-05-01T09:00:00+08:00\n")
    job, errors = run(actor, "interactions", text)
    assert (job.created_count, job.error_count) == (1, 1)
    assert errors[0][:3] == ["3", "channel", "pigeon"]
    again, _ = run(actor, "interactions", text)
    assert (again.created_count, again.skipped_count) == (0, 1)
    assert db.session.scalars(select(Interaction)).one().summary == "Asked about\nbulk prices"


def test_mapping_for_linked_records_needs_a_customer_reference(world):
    from saas.services.errors import InvalidInput

    _t, actor = world
    job = imports.upload(db.session, actor, "contacts", "f.csv", io.BytesIO(b"name\nA\n"))
    with pytest.raises(InvalidInput) as exc:
        imports.set_mapping(db.session, actor, job.id, {"name": "name"})
    assert "mapping.customer" in exc.value.errors
