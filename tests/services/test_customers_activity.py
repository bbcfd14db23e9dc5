"""Contacts, interactions, saved views and bulk upsert."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import OutboxEvent
from saas.services import contacts, customer_upsert, customers, interactions, saved_views
from saas.services.errors import Conflict, InvalidInput, NotFound
from tests.api.conftest import add_staff


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        company = customers.create_customer(db.session, actor, {"name": "Acme",
                                                                "kind": "company"})
        db.session.commit()
        yield tenant, actor, company
        db.session.rollback()
        db.session.remove()


def test_contacts_normalise_and_keep_one_primary(world):
    _t, actor, company = world
    a = contacts.create_contact(db.session, actor, company.id, {
        "name": "李雷", "title": "采购经理", "phone": "138 0013 8000", "email": "LI@ACME.CN",
        "primary": True})
    b = contacts.create_contact(db.session, actor, company.id, {"name": "Han", "primary": True})
    db.session.commit()
    db.session.expire_all()
    assert (a.phone, a.email, a.primary) == ("+8613800138000", "li@acme.cn", False)
    assert b.primary is True
    assert [c.name for c in contacts.list_contacts(db.session, company.id)] == ["Han", "李雷"]
    events = db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == "contact.created"))
    assert sorted(e.entity_id for e in events) == sorted([str(a.id), str(b.id)])


@pytest.mark.parametrize("data,field", [
    ({"name": ""}, "name"), ({"name": "A", "phone": "123"}, "phone"),
    ({"name": "A", "email": "x@"}, "email"), ({"name": "A", "age": 3}, "age")])
def test_bad_contact_input_names_the_field(world, data, field):
    _t, actor, company = world
    with pytest.raises(InvalidInput) as err:
        contacts.create_contact(db.session, actor, company.id, data)
    assert field in err.value.errors


def test_person_customers_have_no_contacts(world):
    _t, actor, _company = world
    person = customers.create_customer(db.session, actor, {"name": "Solo"})
    with pytest.raises(InvalidInput):
        contacts.create_contact(db.session, actor, person.id, {"name": "X"})


def test_deleting_a_contact_keeps_its_interactions(world):
    _t, actor, company = world
    contact = contacts.create_contact(db.session, actor, company.id, {"name": "A"})
    it = interactions.log_interaction(db.session, actor, company.id, {
        "channel": "phone", "summary": "Called", "contact_id": str(contact.id)})
    db.session.commit()
    contacts.delete_contact(db.session, actor, company.id, contact.id)
    db.session.commit()
    db.session.expire_all()
    assert interactions.get_interaction(db.session, it.id).contact_id is None


def test_contact_of_another_customer_is_not_found(world):
    _t, actor, company = world
    other = customers.create_customer(db.session, actor, {"name": "B", "kind": "company"})
    contact = contacts.create_contact(db.session, actor, company.id, {"name": "A"})
    with pytest.raises(NotFound):
        contacts.get_contact(db.session, other.id, contact.id)


def test_log_interaction_records_staff_and_emits_event(world):
    _t, actor, company = world
    it = interactions.log_interaction(db.session, actor, company.id, {
        "channel": "visit", "direction": "out", "kind": "need", "summary": "需要报价",
        "follow_up_on": "2030-01-02"})
    db.session.commit()
    assert it.staff_id == actor.staff_id and it.follow_up_on == date(2030, 1, 2)
    [event] = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.name == "interaction.logged"))
    assert event.payload["channel"] == "visit"


@pytest.mark.parametrize("data,field", [
    ({"channel": "pigeon", "summary": "x"}, "channel"),
    ({"channel": "phone", "summary": ""}, "summary"),
    ({"channel": "phone", "summary": "x", "direction": "up"}, "direction"),
    ({"channel": "phone", "summary": "x", "kind": "gossip"}, "kind"),
    ({"channel": "phone", "summary": "x", "occurred_at": "3000-01-01T00:00:00+00:00"},
     "occurred_at"),
    ({"channel": "phone", "summary": "x", "follow_up_on": "soon"}, "follow_up_on"),
    ({"channel": "phone", "summary": "x", "contact_id": "nobody"}, "contact_id"),
])
def test_bad_interaction_input_names_the_field(world, data, field):
    _t, actor, company = world
    with pytest.raises(InvalidInput) as err:
        interactions.log_interaction(db.session, actor, company.id, data)
    assert field in err.value.errors


def test_saved_views_are_private_to_their_staff_member(app, world):
    tenant, actor, _company = world
    view = saved_views.create_view(db.session, actor, "VIPs", {"tags": "vip"}, "name")
    db.session.commit()
    with pytest.raises(Conflict):
        saved_views.create_view(db.session, actor, "VIPs", {})
    db.session.rollback()
    agent_id = add_staff(tenant, "agent")
    tenant.bind()
    from saas.models import Staff
    from saas.services.context import Actor

    agent = Actor.of_staff(db.session.get(Staff, (tenant.id, agent_id)))
    assert saved_views.list_views(db.session, agent) == []
    with pytest.raises(NotFound):
        saved_views.get_view(db.session, agent, view.id)
    with pytest.raises(NotFound):
        saved_views.delete_view(db.session, agent, view.id)
    assert [v.name for v in saved_views.list_views(db.session, actor)] == ["VIPs"]


def test_saved_view_filters_are_validated(world):
    _t, actor, _company = world
    with pytest.raises(InvalidInput) as err:
        saved_views.create_view(db.session, actor, "Bad", {"colour": "red",
                                                           "cf.nope": "x"}, "phone")
    assert {"filters.colour", "filters.cf.nope", "sort"} <= set(err.value.errors)
    view = saved_views.create_view(db.session, actor, "Mine", {"owner_id": "none"})
    saved_views.update_view(db.session, actor, view.id, name="Unowned", sort="-name")
    assert (view.name, view.sort, view.filters) == ("Unowned", "-name", {"owner_id": "none"})


def test_bulk_upsert_matches_by_external_id_email_or_phone_and_reports_bad_rows(world):
    _t, actor, _company = world
    first = customer_upsert.upsert_customers(db.session, actor, [
        {"name": "Ext", "external_id": "E1"},
        {"name": "Mail", "emails": ["m@x.cn"]},
        {"name": "Tel", "phones": ["13800138000"]},
        {"name": "Bad", "phones": ["nope"]},
    ])
    db.session.commit()
    assert [r.status for r in first] == ["created", "created", "created", "error"]
    assert "phones" in first[3].errors
    second = customer_upsert.upsert_customers(db.session, actor, [
        {"name": "Ext 2", "external_id": "E1"},
        {"name": "Mail 2", "emails": ["M@X.CN"]},
        {"name": "Tel 2", "phones": ["+86 138 0013 8000"]},
        {"name": "", "external_id": "E1"},
    ])
    db.session.commit()
    assert [r.status for r in second] == ["updated", "updated", "updated", "error"]
    assert [r.id for r in second[:3]] == [r.id for r in first[:3]]
    names = sorted(c.name for c in db.session.scalars(select(customers.Customer)))
    assert names == ["Acme", "Ext 2", "Mail 2", "Tel 2"]
