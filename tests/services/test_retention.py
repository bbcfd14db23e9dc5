"""Retention: a dry-run count first, then delete or anonymise old interactions/tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.jobs import retention as retention_jobs
from saas.models.base import utcnow
from saas.models.interactions import Interaction
from saas.models.tickets import Ticket
from saas.services import customers as customer_service
from saas.services import interactions, retention, tickets
from saas.services.errors import InvalidInput


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        customer = customer_service.create_customer(db.session, actor, {"name": "Ann"})
        old = utcnow() - timedelta(days=400)
        for when, text in ((old, "old call"), (utcnow(), "new call")):
            interactions.log_interaction(db.session, actor, customer.id, {
                "channel": "phone", "summary": text, "occurred_at": when.isoformat()})
        closed = tickets.create_ticket(db.session, actor, {
            "customer_id": str(customer.id), "subject": "old kettle", "description": "x"})
        still_open = tickets.create_ticket(db.session, actor, {
            "customer_id": str(customer.id), "subject": "open kettle", "description": "y"})
        db.session.flush()
        closed.opened_at = still_open.opened_at = old
        closed.status = "closed"
        db.session.commit()
        yield tenant, actor
        db.session.rollback()
        db.session.remove()


def _count(model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalar(stmt)


def test_dry_run_counts_without_changing_anything(world):
    _tenant, actor = world
    policy = retention.clean_policy({"months": 12, "action": "delete"})
    assert retention.preview(db.session, policy) == {"interactions": 1, "tickets": 1}
    assert _count(Interaction) == 2 and _count(Ticket) == 2


def test_delete_policy_removes_old_rows_but_never_open_tickets(world):
    _tenant, actor = world
    retention.set_policy(db.session, actor, {"months": 12, "action": "delete"})
    result = retention.apply(db.session, actor)
    db.session.commit()
    assert (result["interactions"], result["tickets"]) == (1, 1)
    assert [i.summary for i in db.session.scalars(select(Interaction))] == ["new call"]
    assert [t.subject for t in db.session.scalars(select(Ticket))] == ["open kettle"]
    assert retention.apply(db.session, actor)["interactions"] == 0  # idempotent


def test_anonymise_policy_keeps_rows_without_their_text(world):
    _tenant, actor = world
    retention.set_policy(db.session, actor, {"months": 12, "action": "anonymise",
                                             "targets": ["interactions", "tickets"]})
    retention.apply(db.session, actor)
    db.session.commit()
    assert _count(Interaction) == 2 and _count(Interaction, summary="[erased]") == 1
    assert _count(Ticket, subject="[erased]") == 1


def test_the_nightly_job_applies_each_tenants_policy(world, app):
    tenant, actor = world
    retention.set_policy(db.session, actor, {"months": 12, "action": "delete",
                                             "targets": ["interactions"]})
    db.session.commit()
    db.session.remove()
    assert retention_jobs.apply_all_tenants() >= 1
    tenant.bind()
    assert _count(Interaction) == 1 and _count(Ticket) == 2


@pytest.mark.parametrize("data, field", [
    ({"months": 0}, "months"), ({"months": "x"}, "months"),
    ({"months": 6, "action": "shred"}, "action"), ({"months": 6, "targets": ["orders"]},
                                                   "targets")])
def test_bad_policy_names_the_field(world, data, field):
    _tenant, actor = world
    with pytest.raises(InvalidInput) as err:
        retention.set_policy(db.session, actor, data)
    assert field in err.value.errors
    assert retention.get_policy(db.session).months is None
