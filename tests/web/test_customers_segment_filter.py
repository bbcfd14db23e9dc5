"""The customer list filtered by a saved segment: the picker, the filtered rows, saved
views and the CSV export of the current filter, and every bad segment as a clear error."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models.customers import SavedView
from saas.services import custom_fields, measures
from saas.services import segments as segment_service
from tests.services.tiers_world import World
from tests.web.helpers import login, login_as

VIP_RULE = {"all": [{"tag": "vip", "op": "has"},
                    {"measure": "spend_12m", "op": ">=", "value": 100}]}


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


def _world(app, tenant, rule=None) -> uuid.UUID:
    """Three customers, one of whom is in the segment (a tag and spend, so the filter
    is the live rule, not a tag lookup); returns the segment id."""
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        w.order(w.customer("Vip Spender", tags=["vip"]), 500, days_ago=3)
        w.customer("Vip Idle", tags=["vip"])
        w.order(w.customer("Plain Spender"), 900, days_ago=2)
        measures.refresh_all(db.session)
        seg = segment_service.create_segment(db.session, tenant.owner_actor(), {
            "name": "Big VIPs", "rule": rule or VIP_RULE})
        db.session.commit()
        sid = seg.id
        db.session.remove()
    return sid


def _names(html: str) -> list[str]:
    return re.findall(r'<a class="strong" href="[^"]+">([^<]+)</a>', html)


def test_picker_lists_saved_segments_and_filters_the_list(app, client, tenant):
    sid = _world(app, tenant)
    login(client, tenant)
    everyone = client.get(f"/t/{tenant.slug}/customers/")
    html = everyone.get_data(as_text=True)
    assert f'<option value="{sid}">Big VIPs</option>' in html
    assert len(_names(html)) == 3
    filtered = client.get(f"/t/{tenant.slug}/customers/?segment={sid}")
    html = filtered.get_data(as_text=True)
    assert filtered.status_code == 200
    assert _names(html) == ["Vip Spender"]
    assert f'<option value="{sid}" selected>Big VIPs</option>' in html
    combined = client.get(f"/t/{tenant.slug}/customers/?segment={sid}&q=Plain")
    assert _names(combined.get_data(as_text=True)) == []


def test_segment_filter_is_kept_in_a_saved_view(app, client, tenant):
    sid = _world(app, tenant)
    login(client, tenant)
    saved = client.post(f"/t/{tenant.slug}/customers/views",
                        data={"view_name": "VIP buyers", "segment": str(sid),
                              "sort": "name"})
    assert saved.status_code == 303
    with app.app_context():
        tenant.bind()
        view = db.session.scalars(select(SavedView)).one()
        assert view.filters == {"segment": str(sid)}
        view_id = view.id
        db.session.remove()
    opened = client.get(f"/t/{tenant.slug}/customers/?view={view_id}")
    assert opened.status_code == 303 and f"segment={sid}" in opened.headers["Location"]
    page = client.get(opened.headers["Location"])
    assert _names(page.get_data(as_text=True)) == ["Vip Spender"]


def test_export_of_the_current_filter_holds_only_the_segments_members(app, client, tenant):
    sid = _world(app, tenant)
    login(client, tenant)
    listing = client.get(f"/t/{tenant.slug}/customers/?segment={sid}").get_data(as_text=True)
    link = re.search(r'href="([^"]*/imports/export[^"]*)"', listing).group(1)
    assert f"segment={sid}" in link.replace("&amp;", "&")
    response = client.get(link.replace("&amp;", "&"))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["name"] for r in rows] == ["Vip Spender"]


def test_another_tenants_segment_is_a_clear_error_not_a_leak(app, client, tenant,
                                                             make_tenant):
    _world(app, tenant)
    other = make_tenant()
    foreign = _world(app, other)
    login(client, tenant)
    response = client.get(f"/t/{tenant.slug}/customers/?segment={foreign}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "No such segment." in html and _names(html) == []
    bad = client.get(f"/t/{tenant.slug}/customers/?segment=not-an-id")
    assert bad.status_code == 422 and "No such segment." in bad.get_data(as_text=True)


def test_a_segment_on_a_deleted_custom_field_is_refused_with_the_reason(app, client, tenant):
    with app.app_context():
        tenant.bind()
        field = custom_fields.create_definition(db.session, tenant.owner_actor(), "region",
                                                "Region", "text")
        db.session.commit()
        field_id = field.id
        db.session.remove()
    sid = _world(app, tenant, {"all": [{"custom_field": "region", "op": "=",
                                        "value": "north"}]})
    with app.app_context():
        tenant.bind()
        custom_fields.delete_definition(db.session, tenant.owner_actor(), field_id)
        db.session.commit()
        db.session.remove()
    login(client, tenant)
    listing = client.get(f"/t/{tenant.slug}/customers/?segment={sid}")
    assert listing.status_code == 422
    assert "was deleted or changed" in listing.get_data(as_text=True)
    shown = client.get(f"/t/{tenant.slug}/segments/{sid}").get_data(as_text=True)
    assert "was deleted or changed" in shown and "region" in shown
    index = client.get(f"/t/{tenant.slug}/segments/").get_data(as_text=True)
    assert "Rule needs fixing" in index


def test_readonly_role_can_filter_by_segment(app, client, tenant):
    sid = _world(app, tenant)
    login_as(app, client, tenant, "readonly")
    response = client.get(f"/t/{tenant.slug}/customers/?segment={sid}")
    assert response.status_code == 200
    assert _names(response.get_data(as_text=True)) == ["Vip Spender"]


def test_zh_ui_translates_the_picker_and_the_error(app, client, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    _world(app, tenant)
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customers/?segment={uuid.uuid4()}") \
        .get_data(as_text=True)
    assert '<label for="segment">分群</label>' in html
    assert "No such segment." not in html
