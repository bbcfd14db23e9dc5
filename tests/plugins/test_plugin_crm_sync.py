"""CRM sync against a HubSpot-style API served on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.jobs.deliveries import pull_for_tenant
from saas.models.plugins import Delivery, PluginLink
from saas.services import customers as customer_service
from saas.services import plugins as plugin_service
from saas.services.errors import InvalidInput
from tests.hooks.support import configure
from tests.plugins.fake_apis import FakeHubSpot
from tests.plugins.servers import http_server

TOKEN = "pat-na1-0123456789"


@pytest.fixture
def hubspot():
    fake = FakeHubSpot(TOKEN)
    with http_server(fake) as (url, received):
        fake.url, fake.received = url, received
        yield fake


def _settings(url: str, **over) -> dict:
    return {"base_url": url, "token": TOKEN, **over}


def _create(app, tenant, **data):
    with app.app_context():
        tenant.bind()
        customer = customer_service.create_customer(
            db.session, tenant.owner_actor(), {"kind": "person", **data})
        db.session.commit()
        return customer.id


def test_created_and_updated_customers_are_upserted_by_email(app, make_tenant, hubspot):
    tenant = make_tenant()
    configure(app, tenant, "crm_sync", _settings(hubspot.url))
    customer_id = _create(app, tenant, name="Li Lei", emails=["li.lei@example.com"],
                          phones=["+86 138 0013 8000"], industry="Tea")
    contact = hubspot.contacts["li.lei@example.com"]
    assert contact["properties"] | {"lastmodifieddate": None} == {
        "email": "li.lei@example.com", "firstname": "Li Lei", "phone": "+8613800138000",
        "industry": "Tea", "lastmodifieddate": None}
    with app.app_context():
        tenant.bind()
        customer_service.update_customer(db.session, tenant.owner_actor(), customer_id,
                                         {"industry": "Coffee"})
        db.session.commit()
        link = db.session.scalars(select(PluginLink)).one()
        deliveries = db.session.scalars(select(Delivery)).all()
    assert hubspot.contacts["li.lei@example.com"]["properties"]["industry"] == "Coffee"
    assert len(hubspot.contacts) == 1
    assert (link.entity_id, link.external_id) == (str(customer_id), contact["id"])
    assert {d.status for d in deliveries} == {"succeeded"}
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in hubspot.received)


def test_customer_without_email_is_skipped(app, make_tenant, hubspot):
    tenant = make_tenant()
    configure(app, tenant, "crm_sync", _settings(hubspot.url))
    _create(app, tenant, name="Walk-in", phones=["+8613800138001"])
    assert hubspot.contacts == {}
    with app.app_context():
        tenant.bind()
        [d] = db.session.scalars(select(Delivery)).all()
    assert d.result["sync_customer"] == {"skipped": "the customer has no email"}


def test_pull_merges_newer_remote_changes_and_creates_new_contacts(app, make_tenant,
                                                                   hubspot):
    tenant = make_tenant()
    configure(app, tenant, "crm_sync", _settings(hubspot.url))
    li = _create(app, tenant, name="Li Lei", emails=["li.lei@example.com"])
    wang = _create(app, tenant, name="Wang Fang", emails=["wang.fang@example.com"])
    later = datetime.now(UTC) + timedelta(seconds=5)
    hubspot.touch("li.lei@example.com", when=later, firstname="Lei Li")
    hubspot.touch("wang.fang@example.com", when=datetime.now(UTC) - timedelta(days=2),
                  firstname="Old Name")
    for n in range(3):
        hubspot.touch(f"new{n}@example.com", when=later, firstname=f"New {n}",
                      phone="+8613900000000")
    with app.app_context():
        report = pull_for_tenant(tenant.id, "crm_sync")
        tenant.bind()
        assert customer_service.get_customer(db.session, li).name == "Lei Li"
        assert customer_service.get_customer(db.session, wang).name == "Wang Fang"
        [new] = customer_service.find_by_email(db.session, "new2@example.com")
        assert (new.name, new.phones, new.source_channel) == \
            ("New 2", ["+8613900000000"], "crm_sync")
        state = plugin_service.get_config(db.session, "crm_sync").state
    assert report["created"] == 3 and report["updated"] == 1
    assert report["rejected"] == []
    assert "pulled_at" in state
    searches = [r.json() for r in hubspot.received
                if r.path.endswith("/contacts/search")]
    assert len(searches) == 3  # 5 contacts, 2 per page
    assert searches[0]["filterGroups"] == []


def test_second_pull_asks_only_for_changes_since_the_first(app, make_tenant, hubspot):
    tenant = make_tenant()
    configure(app, tenant, "crm_sync", _settings(hubspot.url))
    with app.app_context():
        pull_for_tenant(tenant.id, "crm_sync")
        tenant.bind()
        first = plugin_service.get_config(db.session, "crm_sync").state["pulled_at"]
        db.session.commit()
        pull_for_tenant(tenant.id, "crm_sync")
    last = [r.json() for r in hubspot.received if r.path.endswith("/contacts/search")][-1]
    [flt] = last["filterGroups"][0]["filters"]
    assert int(flt["value"]) == int(datetime.fromisoformat(first).timestamp() * 1000)


def test_wrong_token_fails_the_delivery_readably(app, make_tenant, hubspot):
    tenant = make_tenant()
    configure(app, tenant, "crm_sync", _settings(hubspot.url, token="wrong-token-123"))
    _create(app, tenant, name="Li Lei", emails=["li.lei@example.com"])
    with app.app_context():
        tenant.bind()
        [d] = db.session.scalars(select(Delivery)).all()
    assert d.status == "failed"
    assert "answered 401" in d.last_error and "Authentication credentials" in d.last_error


def test_bad_field_mapping_is_a_field_error(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        with pytest.raises(InvalidInput) as err:
            plugin_service.update_settings(
                db.session, tenant.owner_actor(), "crm_sync",
                _settings("http://127.0.0.1:9", field_mapping=["name=firstname",
                                                               "consent=x", "oops"]))
    [messages] = [err.value.errors["field_mapping"]]
    text = " ".join(messages)
    assert "consent cannot be synced" in text and "“oops” is not ours=theirs." in text
