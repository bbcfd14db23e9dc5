"""Customer imports emit one `customer.created` / `customer.updated` event per customer.

The same tests run the service path on SQLite and the set-based COPY path on PostgreSQL:
both must emit the events the customer service emits, with the same payloads, and hand
them to the plugins that listen (jobs inline here; tests/jobs/test_outbox_batches.py runs
them on a real worker).
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.deliveries import retry_due_deliveries
from saas.models import AuditEntry, OutboxEvent
from saas.models.base import utcnow
from saas.models.customers import Customer
from saas.models.plugins import Delivery
from saas.services import custom_fields, imports
from saas.services import customers as customer_service
from saas.services.outbox import EventIds
from tests.hooks.support import GOOD_SETTINGS, EchoPlugin, configure, registered

HEADER = "name,phone,email,wechat,address,tags,lifecycle,score\n"
MAPPING = {"name": "name", "phone": "phones", "email": "emails", "wechat": "wechat_id",
           "address": "address", "tags": "tags", "lifecycle": "lifecycle_stage",
           "score": "cf.score"}
FIRST = (HEADER
         + "Ann,13800138000,ann@x.com,ann_wx,1 Main St,vip,lead,1\n"
         + "Bob,13900139000,bob@x.com,bob_wx,2 High St,,lead,2\n"
         + '"Cat","13700137000;13600136000",cat@x.com,,3 Low St,,lead,3\n'
         + "Dan,13500135000,dan@x.com,,,,,\n")
# Ann: new name and tag; Bob: same values (and a differently spelled phone);
# Cat: her two phones in the other order; Dan: a new WeChat id and address.
SECOND = (HEADER
          + "Ann Li,13800138000,ann@x.com,ann_wx,1 Main St,\"vip,new\",lead,1\n"
          + "Bob,139 0013 9000,BOB@X.COM,bob_wx,2 High St,,lead,2\n"
          + '"Cat","13600136000;13700137000",cat@x.com,,3 Low St,,lead,3\n'
          + "Dan,13500135000,dan@x.com,dan_wx,4 New Rd,,customer,4\n")


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        custom_fields.create_definition(db.session, tenant.owner_actor(), "score", "Score",
                                        "number")
        db.session.commit()
        yield tenant, tenant.owner_actor()
        db.session.rollback()
        db.session.remove()


def run(actor, text: str, mapping=MAPPING):
    job = imports.upload(db.session, actor, "customers", "c.csv",
                         io.BytesIO(text.encode("utf-8")))
    imports.set_mapping(db.session, actor, job.id, mapping)
    db.session.commit()
    for _ in imports.process(db.session, actor, job.id):
        db.session.commit()
    return imports.get_job(db.session, job.id)


def events(name: str) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == name)
                                   .order_by(OutboxEvent.created_at, OutboxEvent.id)))


def customer_named(name: str) -> Customer:
    return db.session.scalars(select(Customer).where(Customer.name == name)).one()


def test_each_new_customer_gets_one_created_event_with_the_service_payload(world):
    _t, actor = world
    job = run(actor, FIRST)
    assert (job.created_count, job.error_count) == (4, 0)
    created = events("customer.created")
    by_name = {customer_named(n).id: n for n in ("Ann", "Bob", "Cat", "Dan")}
    assert [by_name[uuid.UUID(e.entity_id)] for e in created] == \
        ["Ann", "Bob", "Cat", "Dan"], "one event per customer, in file order"
    assert {e.entity_type for e in created} == {"customer"}
    made = customer_service.create_customer(db.session, actor, {"name": "Eve"})
    service_payload = events("customer.created")[-1].payload
    assert str(made.id) == events("customer.created")[-1].entity_id
    for event in created:
        assert event.payload == service_payload, "no personal field rides in the payload"
    assert events("customer.updated") == []
    assert events("customers.imported") == []


def test_reimport_emits_updated_only_for_changed_customers_naming_the_changed_fields(world):
    _t, actor = world
    run(actor, FIRST)
    job = run(actor, SECOND)
    assert (job.created_count, job.updated_count, job.error_count) == (0, 4, 0)
    changed = {customer_named(n).id: n for n in ("Ann Li", "Bob", "Cat", "Dan")}
    got = {changed[uuid.UUID(e.entity_id)]: e.payload["changed"]
           for e in events("customer.updated")}
    assert got == {"Ann Li": ["name", "tags"],
                   "Cat": ["phones"],
                   "Dan": ["address", "custom_fields", "lifecycle_stage", "wechat_id"]}
    assert customer_named("Cat").phones == ["+8613600136000", "+8613700137000"]
    assert customer_named("Dan").wechat_id == "dan_wx"


def test_an_import_audits_and_keeps_its_events_in_the_import_transaction(world):
    _t, actor = world
    run(actor, FIRST)
    failing = run(actor, HEADER + "Zed,12345,,,,,,\n")
    assert failing.error_count == 1
    assert len(events("customer.created")) == 4, "a refused row emits nothing"
    actions = list(db.session.scalars(select(AuditEntry.action)))
    assert "import.finished" in actions


def test_events_reach_a_listening_plugin_in_file_order_one_delivery_each(app, world):
    tenant, actor = world
    with registered(app, EchoPlugin(), "echo") as echo:
        configure(app, tenant, "echo", GOOD_SETTINGS)
        tenant.bind()
        run(actor, FIRST)
        run(actor, SECOND)
    names = [name for _id, name, _slug in echo.events
             if name.startswith("customer.")]
    assert names == ["customer.created"] * 4 + ["customer.updated"] * 3
    created_ids = [str(e.id) for e in events("customer.created")]
    assert [i for i, n, _s in echo.events if n == "customer.created"] == created_ids
    deliveries = db.session.scalars(select(Delivery).where(
        Delivery.event_name.like("customer.%"))).all()
    assert len(deliveries) == 7
    assert {(d.plugin, d.status, d.attempts) for d in deliveries} == {("echo", "succeeded", 1)}
    assert {e.status for e in events("customer.created")} == {"delivered"}


def test_without_a_listening_plugin_events_are_marked_delivered_and_nothing_else(world):
    _t, actor = world
    run(actor, FIRST)
    assert {(e.status, e.attempts) for e in events("customer.created")} == {("delivered", 1)}
    assert db.session.scalars(select(Delivery)).all() == []


def test_a_failing_plugin_keeps_the_import_and_its_deliveries_are_retried(app, world):
    tenant, actor = world
    plugin = EchoPlugin(mode="raise")
    with registered(app, plugin, "echo"):
        configure(app, tenant, "echo", GOOD_SETTINGS)
        tenant.bind()
        job = run(actor, FIRST)
        assert job.created_count == 4
        assert len(db.session.scalars(select(Customer)).all()) == 4
        rows = db.session.scalars(select(Delivery).where(
            Delivery.event_name == "customer.created")).all()
        assert len(rows) == 4
        assert all(d.status in ("failed", "pending") and d.next_retry_at > utcnow()
                   for d in rows), [(d.status, d.next_retry_at) for d in rows]
        assert any(d.last_error == "RuntimeError: receiver said no" for d in rows)
        plugin.mode = "ok"
        with time_machine.travel(utcnow() + timedelta(hours=2)):
            retry_due_deliveries()
        db.session.expire_all()
        rows = db.session.scalars(select(Delivery).where(
            Delivery.event_name == "customer.created")).all()
    assert {d.status for d in rows} == {"succeeded"}
    assert sorted(str(d.event_id) for d in rows) == sorted(
        str(e.id) for e in events("customer.created"))


def test_event_ids_of_a_range_sort_like_their_ordinals():
    ids = EventIds.new()
    got = [ids.of(n) for n in (0, 1, 2, 10, 4096, 10_000_000)]
    assert got == sorted(got)
    assert len({str(i)[:23] for i in got}) == 1 and all(i.version == 7 for i in got)
    other = EventIds.new()
    assert other.of(0) != ids.of(0)
    with pytest.raises(ValueError):
        ids.of(-1)
