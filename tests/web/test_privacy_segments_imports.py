"""Issue 11 on the segment and import pages: an agent (row scope "own") sees segment counts
and members of its own customers only; a segment or builder rule on a field hidden from
the agent shows no count; the import mapping offers no hidden field, marks read-only
ones as not mappable and refuses them (403 next to the column); a file row matching
another owner's customer is a row error. The owner is the control on the same pages.
"""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.customers import Customer
from saas.services import customers as customer_service
from saas.services import field_access, row_scope
from saas.services import segments as segment_service
from saas.services.customer_upsert import OUT_OF_SCOPE
from tests.web.helpers import login, login_as

HIGH = {"all": [{"field": "purchasing_power", "op": "=", "value": "high"}]}


@pytest.fixture
def world(app, client, make_tenant):
    """(tenant, agent's logged-in client, owner's logged-in client, segment id)."""
    tenant = make_tenant()
    agent_id = login_as(app, client, tenant, "agent")
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        for name, power, owner_id in (("Theirs", "high", tenant.owner_id),
                                      ("Mine", "high", agent_id)):
            customer_service.create_customer(db.session, actor, {
                "name": name, "purchasing_power": power, "emails": [f"{name}@x.com"],
                "owner_id": str(owner_id)})
        row_scope.set_scope(db.session, actor, "agent", "own")
        sid = segment_service.create_segment(db.session, actor,
                                             {"name": "High", "rule": HIGH}).id
        db.session.commit()
        db.session.remove()
    owner = app.test_client()
    login(owner, tenant)
    return tenant, client, owner, sid


def restrict(app, tenant, *changes: tuple[str, str]) -> None:
    with app.app_context():
        tenant.bind()
        field_access.set_permissions(db.session, tenant.owner_actor(), [
            {"role": "agent", "field": f, "level": level} for f, level in changes],
            confirm=True)
        db.session.commit()
        db.session.remove()


def test_segment_page_counts_and_lists_only_customers_in_scope(world):
    tenant, agent, owner, sid = world
    html = agent.get(f"/t/{tenant.slug}/segments/{sid}").get_data(as_text=True)
    assert "1 customers match this rule now." in html
    assert ">Mine</a>" in html and "Theirs" not in html
    html = owner.get(f"/t/{tenant.slug}/segments/{sid}").get_data(as_text=True)
    assert "2 customers match this rule now." in html
    assert ">Mine</a>" in html and ">Theirs</a>" in html


def test_segment_on_a_hidden_field_shows_neither_count_nor_members(app, world):
    tenant, agent, owner, sid = world
    restrict(app, tenant, ("purchasing_power", "hidden"))
    r = agent.get(f"/t/{tenant.slug}/segments/{sid}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "data-segment-hidden-field" in html
    assert "Mine" not in html and "customers match this rule now" not in html
    index = agent.get(f"/t/{tenant.slug}/segments/").get_data(as_text=True)
    assert "High" in index
    html = owner.get(f"/t/{tenant.slug}/segments/{sid}").get_data(as_text=True)
    assert "2 customers match this rule now." in html


def test_builder_count_on_a_hidden_field_is_refused_next_to_the_row(app, world):
    tenant, agent, owner, _sid = world
    restrict(app, tenant, ("purchasing_power", "hidden"))
    form = {"name": "X", "description": "", "action": "count", "s-match": "all",
            "s-groups": "1", "s-g0-match": "all", "s-g0-rows": "1",
            "s-g0-c0-what": "field:purchasing_power", "s-g0-c0-op": "=",
            "s-g0-c0-value": "high"}
    # counting is open to every reader; the builder page itself needs campaigns.manage
    r = owner.post(f"/t/{tenant.slug}/segments/new", data=form)
    assert r.status_code == 200 and "2 customers match" in r.get_data(as_text=True)
    with app.app_context():
        tenant.bind()
        field_access.set_permissions(db.session, tenant.owner_actor(), [
            {"role": "admin", "field": "purchasing_power", "level": "hidden"}], confirm=True)
        db.session.commit()
        db.session.remove()
    admin = app.test_client()
    login_as(app, admin, tenant, "admin")
    r = admin.post(f"/t/{tenant.slug}/segments/new", data=form)
    assert r.status_code == 422
    assert "You may not filter on this field." in r.get_data(as_text=True)


def upload(client, tenant, text: str) -> str:
    r = client.post(f"/t/{tenant.slug}/imports/", data={
        "entity": "customers", "file": (io.BytesIO(text.encode()), "c.csv")},
        content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    return r.headers["Location"]


def options(html: str, index: int) -> str:
    return re.search(rf'<select id="map-{index}".*?</select>', html, re.S).group(0)


def test_mapping_page_offers_no_hidden_field_and_disables_read_only_ones(app, world):
    tenant, agent, owner, _sid = world
    restrict(app, tenant, ("phones", "read"), ("industry", "hidden"))
    text = "name,phone,industry\nNew,13600136000,retail\n"
    page = upload(agent, tenant, text)
    html = agent.get(page).get_data(as_text=True)
    select_html = options(html, 1)
    assert 'value="industry"' not in select_html
    assert re.search(r'<option value="phones"[^>]* disabled>', select_html)
    r = agent.post(page, data={"map-0": "name", "map-1": "phones", "map-2": "",
                               "action": "preview"})
    assert r.status_code == 403
    assert "You may not change this field." in r.get_data(as_text=True)
    r = agent.post(page, data={"map-0": "name", "map-2": "industry", "action": "start"})
    assert r.status_code == 403
    control = owner.get(upload(owner, tenant, text)).get_data(as_text=True)
    assert 'value="industry" selected' in control and "disabled" not in options(control, 1)


def test_import_page_reports_a_row_matching_another_owners_customer(app, world):
    tenant, agent, owner, _sid = world
    page = upload(agent, tenant, "name,email,notes\nHijacked,theirs@x.com,agent wrote\n")
    html = agent.post(page, data={"map-0": "name", "map-1": "emails", "map-2": "notes",
                                  "action": "preview"}).get_data(as_text=True)
    assert OUT_OF_SCOPE in html
    r = agent.post(page, data={"map-0": "name", "map-1": "emails", "map-2": "notes",
                               "action": "start"})
    assert r.status_code == 303
    progress = agent.get(page + "/progress").get_json()
    assert (progress["status"], progress["errors"]) == ("done", 1)
    with app.app_context():
        tenant.bind()
        theirs = db.session.scalars(select(Customer).where(Customer.name == "Theirs")).one()
        assert theirs.notes is None
        db.session.remove()
