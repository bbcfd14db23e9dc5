"""Masked fields in the staff UI: the admin masks a field for agents; the agent sees it
masked on the list, the 360 page and the edit form, and reveals it with an audited POST.
Plus row scope on every page that takes a customer or one of its records."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.services import contacts, custom_fields, interactions, read_audit, row_scope
from saas.services import customers as customer_service
from saas.services import tickets as ticket_service
from tests.web.helpers import login, login_as

PHONE, MASKED = "+8613800138000", "+86138****8000"


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


def _customer(app, tenant, **extra) -> str:
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        custom_fields.create_definition(db.session, actor, "level", "Level", "text")
        customer = customer_service.create_customer(db.session, actor, {
            "name": "Ann", "kind": "company", "phones": ["13800138000"],
            "wechat_id": "ann_wechat", "custom_fields": {"level": "gold"}, **extra})
        contacts.create_contact(db.session, actor, customer.id,
                                {"name": "Bo", "phone": "13900139000"})
        db.session.commit()
        cid = str(customer.id)
        db.session.remove()
    return cid


def _mask_for_agents(client, tenant, *fields: str) -> None:
    login(client, tenant)
    resp = client.post(f"/t/{tenant.slug}/privacy/fields",
                       data={f"agent|{f}": "masked" for f in fields})
    assert resp.status_code == 303
    matrix = client.get(f"/t/{tenant.slug}/privacy/").get_data(as_text=True)
    assert 'name="agent|phones"' in matrix and 'value="masked" selected' in matrix


def test_agent_sees_masked_values_everywhere_and_reveals_one_with_an_audit(app, client,
                                                                          tenant):
    cid = _customer(app, tenant)
    _mask_for_agents(client, tenant, "phones", "cf.level")
    agent_id = login_as(app, client, tenant, "agent")

    page = client.get(f"/t/{tenant.slug}/customers/{cid}").get_data(as_text=True)
    assert MASKED in page and PHONE not in page
    assert "g****" in page and "gold" not in page
    assert "+86139****9000" in page and "13900139000" not in page   # the contact
    assert 'name="field" value="phones"' in page and 'value="cf.level"' in page
    assert "ann_wechat" in page                                       # control: clear
    listing = client.get(f"/t/{tenant.slug}/customers/").get_data(as_text=True)
    assert PHONE not in listing
    form = client.get(f"/t/{tenant.slug}/customers/{cid}/edit").get_data(as_text=True)
    assert PHONE not in form and "13800138000" not in form and MASKED in form
    export = client.get(f"/t/{tenant.slug}/imports/export").get_data(as_text=True)
    assert MASKED in export and PHONE not in export and "g****" in export

    revealed = client.post(f"/t/{tenant.slug}/privacy/customers/{cid}/reveal",
                           data={"field": "phones"})
    assert revealed.status_code == 200 and PHONE in revealed.get_data(as_text=True)
    assert revealed.headers["Cache-Control"] == "no-store"
    with app.app_context():
        tenant.bind()
        reveals = [e for e in read_audit.who_saw(db.session, cid)
                   if e.action == "customer.field_revealed"]
        assert [(e.actor_id, e.changes["field"], e.changes["where"]) for e in reveals] == [
            (agent_id, "phones", "360 page")]
        db.session.remove()


def test_saving_the_form_keeps_a_masked_value(app, client, tenant):
    cid = _customer(app, tenant)
    _mask_for_agents(client, tenant, "phones")
    login_as(app, client, tenant, "agent")
    saved = client.post(f"/t/{tenant.slug}/customers/{cid}/edit", data={
        "kind": "company", "name": "Ann B", "lifecycle_stage": "lead", "phones": MASKED})
    assert saved.status_code == 303
    with app.app_context():
        tenant.bind()
        fresh = customer_service.get_customer(db.session, cid)
        assert (fresh.name, fresh.phones) == ("Ann B", [PHONE])
        db.session.remove()


def test_revealing_a_hidden_field_is_403_and_a_bad_field_422(app, client, tenant):
    cid = _customer(app, tenant)
    login(client, tenant)
    client.post(f"/t/{tenant.slug}/privacy/fields", data={"agent|phones": "hidden"})
    login_as(app, client, tenant, "agent")
    url = f"/t/{tenant.slug}/privacy/customers/{cid}/reveal"
    hidden = client.post(url, data={"field": "phones"})
    assert hidden.status_code == 403 and PHONE not in hidden.get_data(as_text=True)
    assert client.post(url, data={"field": "industry"}).status_code == 422
    assert client.post(url, data={}).status_code == 422


def test_reveal_of_another_tenants_customer_is_404(app, client, tenant, make_tenant):
    cid = _customer(app, tenant)
    other = make_tenant()
    login(client, other)
    assert client.post(f"/t/{other.slug}/privacy/customers/{cid}/reveal",
                       data={"field": "phones"}).status_code == 404


def test_contact_with_a_phone_is_refused_when_phones_are_read_only(app, client, tenant):
    cid = _customer(app, tenant)
    login(client, tenant)
    client.post(f"/t/{tenant.slug}/privacy/fields", data={"agent|phones": "readonly"})
    login_as(app, client, tenant, "agent")
    resp = client.post(f"/t/{tenant.slug}/customers/{cid}/contacts",
                       data={"name": "Cy", "phone": "13700137000"})
    assert resp.status_code == 403
    ok = client.post(f"/t/{tenant.slug}/customers/{cid}/contacts", data={"name": "Cy"})
    assert ok.status_code == 303


# (method, path, form data): {cid} a customer, {tid} its ticket, {cid2} a second customer
# of the same owner, {tier} a tier (each customer starts with a tier override)
PAGES = [
    ("get", "customers/{cid}", None),
    ("get", "customers/{cid}/edit", None),
    ("post", "customers/{cid}/interactions",
     {"channel": "phone", "direction": "out", "summary": "hi"}),
    ("post", "customers/{cid}/contacts", {"name": "Dee"}),
    ("get", "loyalty/customers/{cid}", None),
    ("get", "tickets/{tid}", None),
    ("post", "tickets/{tid}/messages", {"kind": "note", "body": "x"}),
    ("post", "privacy/customers/{cid}/reveal", {"field": "phones"}),
    ("get", "tiers/customers/{cid}", None),
    ("post", "tiers/customers/{cid}/override", {"tier_id": "{tier}"}),
    ("post", "tiers/customers/{cid}/override/clear", None),
    ("get", "duplicates/compare?survivor={cid}&merged={cid2}", None),
]


@pytest.mark.parametrize("method, path, data", PAGES, ids=[p for _m, p, _d in PAGES])
def test_pages_of_a_customer_outside_the_row_scope_are_404(app, client, tenant, method,
                                                          path, data):
    from saas.services import tiers

    ids = {}
    agent_id = login_as(app, client, tenant, "agent")
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        tier = tiers.list_tiers(db.session)[0]
        for name, owner_id in (("mine", agent_id), ("other", tenant.owner_id)):
            customer = customer_service.create_customer(db.session, actor, {
                "name": name, "kind": "company", "phones": ["13800138000"],
                "owner_id": owner_id})
            interactions.log_interaction(db.session, actor, customer.id, {
                "channel": "phone", "direction": "in", "summary": "called"})
            ticket = ticket_service.create_ticket(db.session, actor, {
                "customer_id": str(customer.id), "subject": f"Ticket of {name}",
                "channel": "web"})
            tiers.override(db.session, actor, customer.id, tier.id, None)
            twin = customer_service.create_customer(db.session, actor, {
                "name": f"{name} twin", "owner_id": owner_id})
            ids[name] = {"cid": str(customer.id), "tid": str(ticket.id),
                         "cid2": str(twin.id), "tier": str(tier.id)}
        row_scope.set_scope(db.session, actor, "agent", "own")
        db.session.commit()
        db.session.remove()

    def call(which):
        url = f"/t/{tenant.slug}/" + path.format(**ids[which])
        if method == "get":
            return client.get(url)
        return client.post(url, data={k: v.format(**ids[which]) for k, v in (data or {}).items()})

    assert call("mine").status_code in (200, 302, 303)
    assert call("other").status_code == 404
    listing = client.get(f"/t/{tenant.slug}/tickets/").get_data(as_text=True)
    assert "Ticket of mine" in listing and "Ticket of other" not in listing


def test_visit_pages_follow_the_row_scope(app, client, tenant):
    from saas.models.visits import VisitTask
    from saas.services import tiers, visits

    agent_id = login_as(app, client, tenant, "agent")
    ids = {}
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        tier_a = next(t for t in tiers.list_tiers(db.session) if t.name == "A")
        for name in ("Kept Co", "Handed Co"):
            customer = customer_service.create_customer(db.session, actor, {
                "name": name, "owner_id": str(agent_id)})
            tiers.override(db.session, actor, customer.id, tier_a.id, None)
            ids[name] = customer.id
        visits.generate(db.session)
        customer_service.update_customer(db.session, actor, ids["Handed Co"],
                                         {"owner_id": str(tenant.owner_id)})
        row_scope.set_scope(db.session, actor, "agent", "own")
        tasks = {t.customer_id: t.id for t in db.session.scalars(select(VisitTask))}
        db.session.commit()
        db.session.remove()
    page = client.get(f"/t/{tenant.slug}/visits/").get_data(as_text=True)
    assert "Kept Co" in page and "Handed Co" not in page
    assert client.get(f"/t/{tenant.slug}/visits/{tasks[ids['Kept Co']]}/record"
                      ).status_code == 200
    assert client.get(f"/t/{tenant.slug}/visits/{tasks[ids['Handed Co']]}/record"
                      ).status_code == 404


def test_duplicate_queue_shows_only_pairs_inside_the_row_scope(app, client, tenant):
    agent_id = login_as(app, client, tenant, "agent")
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        for name, owner_id in (("Twin Mine", agent_id), ("Twin Other", tenant.owner_id)):
            for _ in range(2):
                customer_service.create_customer(db.session, actor, {
                    "name": name, "owner_id": owner_id})
        db.session.commit()
        db.session.remove()
    queue = client.get(f"/t/{tenant.slug}/duplicates/").get_data(as_text=True)
    assert "Twin Mine" in queue and "Twin Other" in queue      # scope: all
    with app.app_context():
        tenant.bind()
        row_scope.set_scope(db.session, tenant.owner_actor(), "agent", "own")
        db.session.commit()
        db.session.remove()
    queue = client.get(f"/t/{tenant.slug}/duplicates/").get_data(as_text=True)
    assert "Twin Mine" in queue and "Twin Other" not in queue
