"""Row scope on every API route that takes a customer (or a record of one).

An agent whose scope is "own customers" gets each endpoint for the customer they own and
a 404 for a colleague's customer, as if it did not exist; the tenant owner (scope: all)
reaches both, so every assertion can fail.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.customers import Customer
from saas.services import contacts, interactions, orders, products, surveys, tiers
from saas.services import customers as customer_service
from saas.services import tickets as ticket_service

# (method, path template, json body); {cid} the customer, {oid} its order, {iid} its
# interaction, {tid} its ticket, {tier} a tier (the customer starts with an override),
# {cid2} a second customer of the same owner and name (a duplicate candidate).
ENDPOINTS = [
    ("get", "/api/v1/customers/{cid}", None),
    ("get", "/api/v1/customers/{cid}/key-figures", None),
    ("get", "/api/v1/customers/{cid}/timeline", None),
    ("get", "/api/v1/customers/{cid}/orders", None),
    ("post", "/api/v1/customers/{cid}/orders", {"lines": [{"sku": "T1"}]}),
    ("get", "/api/v1/orders/{oid}", None),
    ("post", "/api/v1/orders/{oid}/status", {"status": "paid"}),
    ("post", "/api/v1/orders/{oid}/refund", {}),
    ("get", "/api/v1/customers/{cid}/interactions", None),
    ("post", "/api/v1/customers/{cid}/interactions",
     {"channel": "phone", "direction": "out", "summary": "hi"}),
    ("get", "/api/v1/interactions/{iid}", None),
    ("get", "/api/v1/tickets?customer_id={cid}", None),
    ("post", "/api/v1/tickets", {"customer_id": "{cid}", "subject": "Help"}),
    ("get", "/api/v1/tickets/{tid}", None),
    ("get", "/api/v1/tickets/{tid}/messages", None),
    ("post", "/api/v1/tickets/{tid}/messages", {"kind": "note", "body": "x"}),
    ("get", "/api/v1/tickets/{tid}/attachments", None),
    ("get", "/api/v1/loyalty/customers/{cid}", None),
    ("post", "/api/v1/loyalty/customers/{cid}/adjust", {"points": 5, "reason": "gift"}),
    ("get", "/api/v1/customers/{cid}/contacts", None),
    ("post", "/api/v1/customers/{cid}/contacts", {"name": "Bo"}),
    ("get", "/api/v1/privacy/customers/{cid}/consent", None),
    ("post", "/api/v1/privacy/customers/{cid}/reveal", {"field": "phones"}),
    ("get", "/api/v1/tiers/customers/{cid}", None),
    ("post", "/api/v1/tiers/customers/{cid}/override", {"tier_id": "{tier}"}),
    ("delete", "/api/v1/tiers/customers/{cid}/override", None),
    ("get", "/api/v1/analytics/customers/{cid}", None),
    ("post", "/api/v1/duplicates/dismiss", {"first_id": "{cid}", "second_id": "{cid2}"}),
    ("post", "/api/v1/duplicates/merge", {"survivor_id": "{cid}", "merged_id": "{cid2}"}),
]

# Routes an agent may not call at all (campaigns.manage): checked with a manager whose
# scope is also "own"; {sid} a survey.
MANAGER_ENDPOINTS = [
    ("post", "/api/v1/surveys/{sid}/invitations", {"customer_id": "{cid}"}),
]


def _records(actor, customer_id) -> dict[str, str]:
    order = orders.place_order(db.session, actor, customer_id, {"lines": [{"sku": "T1"}]})
    interaction = interactions.log_interaction(db.session, actor, customer_id, {
        "channel": "phone", "direction": "in", "summary": "called"})
    ticket = ticket_service.create_ticket(db.session, actor, {
        "customer_id": str(customer_id), "subject": "Broken", "channel": "web"})
    contacts.create_contact(db.session, actor, customer_id, {"name": "Cy"})
    tier = tiers.list_tiers(db.session)[0]
    tiers.override(db.session, actor, customer_id, tier.id, None)
    return {"cid": str(customer_id), "oid": str(order.id), "iid": str(interaction.id),
            "tid": str(ticket.id), "tier": str(tier.id)}


@pytest.fixture
def world(app, api_client):
    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    with app.app_context():
        owner.tenant.bind()
        actor = owner.tenant.owner_actor()
        products.create_product(db.session, actor, {"sku": "T1", "name": "Tea",
                                                    "price": "10"})
        survey = surveys.create_survey(db.session, actor, {"name": "NPS", "kind": "nps"})
        ids = {}
        for name, owner_id in (("mine", agent.staff_id), ("other", owner.staff_id)):
            customer = customer_service.create_customer(db.session, actor, {
                "name": name, "kind": "company", "phones": ["13800138000"],
                "owner_id": owner_id})
            twin = customer_service.create_customer(db.session, actor, {
                "name": name, "kind": "company", "owner_id": owner_id})
            ids[name] = _records(actor, customer.id) | {"sid": str(survey.id),
                                                        "cid2": str(twin.id)}
        db.session.commit()
        db.session.remove()
    assert owner.put("/api/v1/privacy/row-scopes",
                     json={"role": "agent", "scope": "own"}).status_code == 200
    return owner, agent, ids


def _call(client, method, path, body, ids):
    url = path.format(**ids)
    if body is not None:
        body = {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in body.items()}
        return getattr(client, method)(url, json=body)
    return getattr(client, method)(url)


@pytest.mark.parametrize("method, path, body", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_customer_outside_the_row_scope_is_404_on_every_endpoint(world, method, path,
                                                                  body):
    owner, agent, ids = world
    mine = _call(agent, method, path, body, ids["mine"])
    assert mine.status_code < 300, (mine.status_code, mine.get_json())
    other = _call(agent, method, path, body, ids["other"])
    assert other.status_code == 404, (other.status_code, other.get_json())
    control = _call(owner, method, path, body, ids["other"])
    assert control.status_code < 300, (control.status_code, control.get_json())


@pytest.fixture
def manager(world, api_client):
    owner, _agent, _ids = world
    assert owner.put("/api/v1/privacy/row-scopes",
                     json={"role": "manager", "scope": "own"}).status_code == 200
    return api_client("manager", tenant=owner.tenant)


@pytest.mark.parametrize("method, path, body", MANAGER_ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _ in MANAGER_ENDPOINTS])
def test_customer_outside_a_managers_own_scope_is_404(app, world, manager, method, path,
                                                      body):
    owner, _agent, ids = world
    with app.app_context():             # "mine" is handed to the manager
        owner.tenant.bind()
        for c in db.session.scalars(select(Customer)):
            customer_service.update_customer(db.session, owner.tenant.owner_actor(), c.id, {
                "owner_id": str(manager.staff_id if c.name == "mine" else owner.staff_id)})
        db.session.commit()
        db.session.remove()
    mine = _call(manager, method, path, body, ids["mine"])
    assert mine.status_code < 300, (mine.status_code, mine.get_json())
    other = _call(manager, method, path, body, ids["other"])
    assert other.status_code == 404, (other.status_code, other.get_json())
    control = _call(owner, method, path, body, ids["other"])
    assert control.status_code < 300, (control.status_code, control.get_json())


def test_ticket_list_leaves_out_tickets_of_customers_outside_the_scope(world):
    owner, agent, ids = world
    mine = {t["id"] for t in agent.get("/api/v1/tickets").get_json()["items"]}
    everyone = {t["id"] for t in owner.get("/api/v1/tickets").get_json()["items"]}
    assert mine == {ids["mine"]["tid"]}
    assert everyone == {ids["mine"]["tid"], ids["other"]["tid"]}


def test_duplicate_candidates_leave_out_pairs_with_a_customer_outside_the_scope(world):
    owner, agent, ids = world

    def pairs(client):
        items = client.get("/api/v1/duplicates?limit=50").get_json()["items"]
        return {frozenset((p["first"]["id"], p["second"]["id"])) for p in items}

    mine, other = ids["mine"], ids["other"]
    own_pair = frozenset((mine["cid"], mine["cid2"]))
    assert pairs(agent) == {own_pair}
    assert {own_pair, frozenset((other["cid"], other["cid2"])),
            frozenset((mine["cid"], other["cid"]))} <= pairs(owner)


def test_another_tenants_customer_is_404_on_the_by_customer_lists(world, api_client):
    _owner, _agent, ids = world
    stranger = api_client("owner")
    for path in ("/api/v1/customers/{cid}/orders", "/api/v1/customers/{cid}/interactions",
                 "/api/v1/tickets?customer_id={cid}", "/api/v1/loyalty/customers/{cid}",
                 "/api/v1/customers/{cid}/contacts", "/api/v1/orders/{oid}",
                 "/api/v1/tickets/{tid}"):
        assert stranger.get(path.format(**ids["mine"])).status_code == 404, path


def test_visit_tasks_follow_the_row_scope(app, api_client):
    from saas.services import tiers, visits

    owner = api_client("owner")
    agent = api_client("agent", tenant=owner.tenant)
    with app.app_context():
        owner.tenant.bind()
        actor = owner.tenant.owner_actor()
        tier_a = next(t for t in tiers.list_tiers(db.session) if t.name == "A")
        for name in ("kept", "handed over"):
            customer = customer_service.create_customer(db.session, actor, {
                "name": name, "owner_id": str(agent.staff_id)})
            tiers.override(db.session, actor, customer.id, tier_a.id, None)
        visits.generate(db.session)
        handed = next(c for c in db.session.scalars(select(Customer))
                      if c.name == "handed over")
        customer_service.update_customer(db.session, actor, handed.id,
                                         {"owner_id": str(owner.staff_id)})
        db.session.commit()
        db.session.remove()
    tasks = agent.get("/api/v1/visits").get_json()["today"]
    assert len(tasks) == 2                      # scope all: both assigned tasks
    owner.put("/api/v1/privacy/row-scopes", json={"role": "agent", "scope": "own"})
    [kept] = agent.get("/api/v1/visits").get_json()["today"]
    other = next(t for t in tasks if t["id"] != kept["id"])
    record = {"outcome": "ok", "rating": 4}
    assert agent.post(f"/api/v1/visits/{other['id']}/record", json=record).status_code \
        == 404
    assert agent.post(f"/api/v1/visits/{kept['id']}/record", json=record).status_code \
        == 200
