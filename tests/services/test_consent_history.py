"""Consent history: every change kept, the current state derived from it, sends honour it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.privacy import ConsentEvent
from saas.services import consent, unsubscribe
from saas.services import customers as customer_service
from saas.services.errors import InvalidInput, NotFound
from saas.timeline import timeline


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        customer = customer_service.create_customer(db.session, actor, {
            "name": "Ann", "emails": ["ann@example.com"],
            "consent": {"email": {"status": "granted", "source": "signup form"}}})
        db.session.commit()
        yield tenant, actor, customer
        db.session.rollback()
        db.session.remove()


def test_every_grant_and_withdrawal_is_kept_with_source_and_actor(world):
    tenant, actor, customer = world
    consent.change(db.session, actor, customer.id, "email", "withdrawn", "staff")
    consent.change(db.session, actor, customer.id, "email", "granted", "api")
    db.session.commit()
    events = consent.history(db.session, customer.id)
    assert [(e.status, e.source) for e in events] == [
        ("granted", "api"), ("withdrawn", "staff"), ("granted", "form")]
    assert all(e.actor_id == tenant.owner_id for e in events)
    assert consent.derived_state(db.session, customer.id)["email"]["status"] == "granted"
    assert customer.consent["email"]["status"] == "granted"


def test_unsubscribe_link_is_recorded_as_unsubscribe_and_withdraws(world):
    tenant, actor, customer = world
    token = unsubscribe.unsubscribe_url(customer_service.bound_tenant(db.session),
                                        customer.id, "email").rsplit("/", 1)[-1]
    unsubscribe.unsubscribe(db.session, token)
    db.session.commit()
    latest = consent.history(db.session, customer.id)[0]
    assert (latest.status, latest.source, latest.actor_id) == ("withdrawn", "unsubscribe",
                                                               None)
    assert consent.current_status(db.session, customer, "email") == "withdrawn"


def test_current_status_reads_the_history_over_a_stale_column(world):
    _tenant, actor, customer = world
    consent.change(db.session, actor, customer.id, "email", "withdrawn")
    db.session.flush()
    customer.consent = {"email": {"status": "granted"}}  # a writer that bypassed history
    assert consent.current_status(db.session, customer, "email") == "withdrawn"


def test_consent_changes_appear_on_the_timeline(world):
    _tenant, actor, customer = world
    consent.change(db.session, actor, customer.id, "sms", "withdrawn")
    db.session.commit()
    kinds = [(i.kind, i.title) for i in timeline(db.session, customer.id, None, 10)]
    assert ("consent", "sms: withdrawn") in kinds


@pytest.mark.parametrize("channel, status, source, field", [
    ("fax", "granted", "staff", "channel"), ("email", "maybe", "staff", "status"),
    ("email", "granted", "rumour", "source")])
def test_bad_consent_change_names_the_field_and_writes_nothing(world, channel, status,
                                                               source, field):
    _tenant, actor, customer = world
    before = len(consent.history(db.session, customer.id))
    with pytest.raises(InvalidInput) as err:
        consent.change(db.session, actor, customer.id, channel, status, source)
    assert field in err.value.errors
    assert len(consent.history(db.session, customer.id)) == before


def test_another_tenants_customer_is_not_found(world, make_tenant, app):
    _tenant, actor, customer = world
    cid = customer.id
    other = make_tenant()
    other.bind()
    with pytest.raises(NotFound):
        consent.change(db.session, other.owner_actor(), cid, "email", "granted")
    assert db.session.scalars(select(ConsentEvent)).all() == []
