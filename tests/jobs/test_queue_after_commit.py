"""Jobs enqueued "after commit" wait for the outermost commit, not a SAVEPOINT release.

SQLAlchemy fires `after_commit` when a nested transaction (SAVEPOINT) is released too; a
job sent then would run (inline, or in a worker) before its data is visible and find
nothing: a ticket reply written in the same transaction as a points adjustment (which
uses a SAVEPOINT) was never mailed.
"""

from __future__ import annotations

from sqlalchemy import select

from saas.extensions import db
from saas.jobs import queue
from saas.models.plugins import Delivery
from saas.services import customers as customer_service
from saas.services import loyalty
from saas.services import tickets as ticket_service
from tests.hooks.support import mailing


def test_a_savepoint_release_does_not_send_the_pending_jobs(app, make_tenant, monkeypatch):
    tenant = make_tenant()
    sent: list[str] = []
    monkeypatch.setattr(queue, "enqueue", lambda path, *a, **k: sent.append(path))
    with app.app_context():
        tenant.bind()
        queue.enqueue_after_commit(db.session, "tests.jobs.worker_jobs:chatty", tenant.id,
                                   "outer")
        nested = db.session.begin_nested()
        queue.enqueue_after_commit(db.session, "tests.jobs.worker_jobs:chatty", tenant.id,
                                   "inner")
        nested.commit()
        assert sent == []
        db.session.commit()
        assert sent == ["tests.jobs.worker_jobs:chatty"] * 2
        db.session.remove()


def test_a_ticket_reply_written_with_a_points_adjustment_is_mailed(app, make_tenant):
    tenant = make_tenant()
    with mailing(app, tenant) as box, app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        customer = customer_service.create_customer(
            db.session, actor, {"name": "Ann", "emails": ["ann@example.com"]})
        ticket = ticket_service.create_ticket(
            db.session, actor, {"customer_id": customer.id, "subject": "Late parcel",
                                "channel": "email"})
        ticket_service.add_message(db.session, actor, ticket.id, "reply",
                                   "Sorry, it ships today.")
        loyalty.adjust(db.session, actor, customer.id, 10, "goodwill")
        db.session.commit()
        statuses = [d.status for d in db.session.scalars(select(Delivery))]
        db.session.remove()
    assert statuses == ["succeeded"]
    assert len(box.messages) == 1
