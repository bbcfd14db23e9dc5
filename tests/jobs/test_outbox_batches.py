"""Batched delivery of a PostgreSQL import's per-customer events on a real RQ worker.

The import runs here (COPY fast path, chunks made small); its events go to Redis as one
`deliver_batch` job per chunk; `flask worker --burst` delivers them to the built-in
webhooks plugin, which posts each one to a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import time_machine
from redis import Redis
from rq import Queue
from sqlalchemy import select, update

from saas.extensions import db
from saas.jobs.outbox import sweep_outbox
from saas.models import OutboxEvent
from saas.models.base import utcnow
from saas.models.customers import Customer
from saas.models.plugins import Delivery
from saas.services import imports
from tests.hooks.support import configure
from tests.plugins.servers import http_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROWS = 25
CHUNK = 10


def customers_file(rows: int, name: str = "Customer") -> str:
    return "name,phone,email\n" + "".join(
        f"{name} {i},1390000{i:04d},c{i}@example.com\n" for i in range(rows))


def import_file(app, tenant, text: str) -> None:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        job = imports.upload(db.session, actor, "customers", "c.csv",
                             io.BytesIO(text.encode()))
        db.session.commit()
        for _ in imports.process(db.session, actor, job.id):
            db.session.commit()
        db.session.remove()


def queued(redis_url: str, queue_name: str) -> list[str]:
    return [job.func_name.rsplit(".", 1)[-1]
            for job in Queue(queue_name, connection=Redis.from_url(redis_url)).jobs]


def world(app, tenant) -> tuple[list[Delivery], list[OutboxEvent], list[Customer]]:
    with app.app_context():
        tenant.bind()
        rows = (db.session.scalars(select(Delivery).order_by(Delivery.created_at)).all(),
                db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all(),
                db.session.scalars(select(Customer)).all())
        db.session.expunge_all()
        db.session.remove()
    return rows


def posted(received, kind: str) -> list[dict]:
    bodies = [json.loads(r.body) for r in received if r.method == "POST"]
    return [b for b in bodies if b["type"] == kind]


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(imports, "COPY_BATCH", CHUNK)


def test_an_import_is_delivered_per_customer_by_one_job_per_chunk(
        app, make_tenant, use_redis, redis_url, queue_name, run_worker, small_chunks):
    tenant = make_tenant()
    with http_server() as (url, received):
        configure(app, tenant, "webhooks", {"endpoints": [url], "secret": SECRET})
        use_redis(redis_url)
        import_file(app, tenant, customers_file(ROWS))
        jobs = queued(redis_url, queue_name)
        assert jobs.count("deliver_batch") == 3, jobs
        assert jobs.count("deliver_event") == 1, "only import.finished goes alone"
        run_worker()

        deliveries, events, customers = world(app, tenant)
        created = posted(received, "customer.created")
        assert len(created) == ROWS
        assert sorted(b["data"]["id"] for b in created) == sorted(str(c.id) for c in customers)
        assert [b["data"]["id"] for b in created] == [
            e.entity_id for e in events if e.name == "customer.created"], "in file order"
        assert len([d for d in deliveries if d.event_name == "customer.created"]) == ROWS
        assert {d.status for d in deliveries} == {"succeeded"}
        assert {e.status for e in events} == {"delivered"}

        import_file(app, tenant, customers_file(ROWS, name="Renamed"))
        run_worker()
    updated = posted(received, "customer.updated")
    assert len(updated) == ROWS
    assert sorted(b["data"]["id"] for b in updated) == sorted(str(c.id) for c in customers)
    deliveries, _events, _customers = world(app, tenant)
    assert len([d for d in deliveries if d.event_name == "customer.updated"
                and d.status == "succeeded"]) == ROWS


def test_a_failing_receiver_keeps_the_import_and_its_deliveries_retry(
        app, make_tenant, use_redis, redis_url, queue_name, run_worker, small_chunks):
    tenant = make_tenant()
    answer = {"status": 500}
    with http_server(lambda req: (answer["status"], {"ok": answer["status"] < 300})) \
            as (url, received):
        configure(app, tenant, "webhooks", {"endpoints": [url], "secret": SECRET})
        use_redis(redis_url)
        import_file(app, tenant, customers_file(ROWS))
        run_worker()

        deliveries, events, customers = world(app, tenant)
        assert len(customers) == ROWS, "a failing plugin never rolls back the import"
        assert {e.status for e in events} == {"delivered"}
        customer_deliveries = [d for d in deliveries if d.event_name == "customer.created"]
        assert len(customer_deliveries) == ROWS
        failed = [d for d in customer_deliveries if d.status == "failed"]
        waiting = [d for d in customer_deliveries if d.status == "pending"]
        assert len(failed) == 3 * 3, "each chunk's job stops calling after three failures"
        assert len(waiting) == ROWS - len(failed)
        assert all(d.attempts == 0 for d in waiting)
        assert all(d.next_retry_at > utcnow() for d in failed + waiting)
        assert len(posted(received, "customer.created")) == 9

        answer["status"] = 200
        with app.app_context():
            tenant.bind()
            db.session.execute(update(Delivery).values(  # their retry time has come
                next_retry_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
            from saas.jobs.deliveries import retry_due_deliveries

            assert retry_due_deliveries() == ROWS + 1
        run_worker()
    deliveries, _events, _customers = world(app, tenant)
    assert {d.status for d in deliveries} == {"succeeded"}
    ok = {b["data"]["id"] for b in posted(received, "customer.created")}
    assert ok == {str(c.id) for c in customers}


def test_events_whose_batch_job_redis_lost_are_swept_in_batches(
        app, make_tenant, use_redis, redis_url, closed_port_url, queue_name, run_worker,
        small_chunks):
    tenant = make_tenant()
    use_redis(closed_port_url)
    import_file(app, tenant, customers_file(ROWS))
    _deliveries, events, _customers = world(app, tenant)
    pending = {e.id for e in events if e.status == "pending"}
    assert len(pending) == ROWS + 1, "the customers' events and import.finished"

    use_redis(redis_url)
    with app.app_context(), time_machine.travel(utcnow() + timedelta(seconds=61)):
        assert sweep_outbox() == ROWS + 1
    assert queued(redis_url, queue_name) == ["deliver_batch"], "one job, not one per event"
    run_worker()
    _deliveries, events, _customers = world(app, tenant)
    assert {(e.status, e.attempts) for e in events if e.id in pending} == {("delivered", 1)}
