"""Segment pages: built-in segments with their rules, saved segments with live counts,
rule builder errors, count-only preview, permissions and other tenants' ids."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models.segments import Segment
from saas.services import measures
from saas.services import segments as segment_service
from tests.services.tiers_world import World
from tests.web.helpers import field_errors, login, login_as


@pytest.fixture
def tenant(make_tenant):
    return make_tenant()


def _world(app, tenant) -> None:
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        w.order(w.customer("Vip", tags=["vip"]), 500, days_ago=3)
        w.customer("Plain")
        measures.refresh_all(db.session)
        db.session.commit()
        db.session.remove()


def _segment(app, tenant, name="Vips", rule=None):
    with app.app_context():
        tenant.bind()
        s = segment_service.create_segment(db.session, tenant.owner_actor(), {
            "name": name, "rule": rule or {"all": [{"tag": "vip", "op": "has"}]}})
        db.session.commit()
        sid = s.id
        db.session.remove()
    return sid


def _count(app, tenant) -> int:
    with app.app_context():
        tenant.bind()
        n = db.session.scalar(select(func.count()).select_from(Segment))
        db.session.remove()
    return n


def _form(name: str, rows: list[tuple[str, str, str]], action: str = "save") -> dict:
    data = {"name": name, "description": "", "action": action, "s-match": "all",
            "s-groups": "1", "s-g0-match": "all", "s-g0-rows": str(len(rows))}
    for c, (what, op, value) in enumerate(rows):
        data.update({f"s-g0-c{c}-what": what, f"s-g0-c{c}-op": op, f"s-g0-c{c}-value": value})
    return data


def test_index_shows_builtin_segments_with_rules_and_saved_ones_with_live_counts(
        app, client, tenant):
    _world(app, tenant)
    _segment(app, tenant)
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/segments/").get_data(as_text=True)
    assert "the customer&#39;s own average gap" in html
    assert re.search(r">Vips</a>.*?<code>has tag vip</code></td>"
                     r"<td><a href=\"[^\"]*/customers/\?segment=[0-9a-f-]+\">1</a></td>",
                     html, re.S)  # the count opens the customer list filtered by it
    assert re.search(r"Prospect</td><td[^>]*>No orders yet</td><td>1</td>", html)


def test_count_button_counts_without_saving(app, client, tenant):
    _world(app, tenant)
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/segments/new",
                    data=_form("Big", [("measure:order_count", ">=", "1")], action="count"))
    assert r.status_code == 200
    assert "1 customers match this rule now." in r.get_data(as_text=True)
    assert _count(app, tenant) == 0


def test_create_with_tier_and_tag_conditions_then_show_members(app, client, tenant):
    _world(app, tenant)
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/segments/new", data=_form("Tagged", [
        ("tag", "has", "vip"), ("measure:spend_12m", ">", "100")]))
    assert r.status_code == 303
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "1 customers match this rule now." in html and ">Vip</a>" in html


def test_bad_rule_and_name_show_field_errors_and_save_nothing(app, client, tenant):
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/segments/new", data=_form("", [
        ("measure:order_count", ">=", "many"), ("tier", "=", "Nope")]))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "number" in field_errors(html, "s-g0-c0-value")
    assert "Unknown tier" in field_errors(html, "s-g0-c1-value")
    assert "name" in field_errors(html, "name")
    assert _count(app, tenant) == 0


def test_edit_keeps_the_rule_in_the_builder_and_updates(app, client, tenant):
    sid = _segment(app, tenant)
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/segments/{sid}/edit").get_data(as_text=True)
    assert re.search(r'name="s-g0-c0-what">.*?<option value="tag" selected', html, re.S)
    r = client.post(f"/t/{tenant.slug}/segments/{sid}/edit",
                    data=_form("Renamed", [("tag", "lacks", "vip")]))
    assert r.status_code == 303
    with app.app_context():
        tenant.bind()
        s = segment_service.get_segment(db.session, sid)
        assert (s.name, s.rule) == ("Renamed", {"all": [{"tag": "vip", "op": "lacks"}]})
        db.session.remove()


@pytest.mark.parametrize("role,method,suffix,status", [
    ("readonly", "get", "/", 200),
    ("readonly", "get", "/new", 403),
    ("agent", "post", "/new", 403),
    ("agent", "post", "/{sid}/delete", 403),
    ("manager", "get", "/new", 200),
])
def test_permissions_per_role(app, client, tenant, role, method, suffix, status):
    sid = _segment(app, tenant)
    login_as(app, client, tenant, role)
    r = getattr(client, method)(f"/t/{tenant.slug}/segments" + suffix.format(sid=sid))
    assert r.status_code == status


def test_other_tenants_segment_is_404(app, client, tenant, make_tenant):
    other = make_tenant()
    foreign = _segment(app, other)
    login(client, tenant)
    for path in (f"/{foreign}", f"/{foreign}/edit"):
        assert client.get(f"/t/{tenant.slug}/segments{path}").status_code == 404
    assert client.post(f"/t/{tenant.slug}/segments/{foreign}/delete").status_code == 404
    assert _count(app, other) == 1


def test_lifecycle_rules_are_shown_and_won_back_customers_counted(app, client, tenant):
    with app.app_context():
        tenant.bind()
        w = World(tenant)
        back = w.customer("Back")
        for days in (620, 600, 580, 5):
            w.order(back, 5, days_ago=days)
        w.customer("Prospect")
        measures.refresh_all(db.session)
        db.session.commit()
        db.session.remove()
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/segments/").get_data(as_text=True)
    lifecycle = html[html.index(">Lifecycle<"):]
    for stage, rule, n in (("Won back", "Active again after a gap longer than 3.0x", 1),
                           ("Prospect", "No orders yet", 1), ("Churned", "Behaviour is", 0),
                           ("New", "First order within the last 90 days", 0)):
        assert re.search(rf">{stage}</td><td[^>]*>{re.escape(rule)}[^<]*</td><td>{n}</td>",
                         lifecycle), stage
    api = segment_service.builtin_distribution
    with app.app_context():
        tenant.bind()
        rows = {r["key"]: r for r in api(db.session)["lifecycle"]}
        db.session.remove()
    assert rows["won_back"]["count"] == 1 and "rhythm" in rows["won_back"]["rule"]
